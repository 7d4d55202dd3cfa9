/**
 * The write path: every change the mount makes to its tree, journaled before
 * the request is answered. A file is written in a working copy (a content
 * file of the journal, copied from the committed content on the first write
 * unless it is truncated to zero); metadata changes, deletions and renames
 * become journaled changes of their paths. The committer turns them into
 * commit records later.
 *
 * Renames keep inodes: the node moves in the tree. In the repository a
 * rename is a tombstone at the old path plus the same content at the new one
 * (no re-upload), for every entry of a renamed directory.
 *
 * @module
 */

import type { Committer } from "./committer.ts";
import type { ContentStore } from "./content.ts";
import type { Node } from "./inodes.ts";
import type { Change, WriteJournal } from "./journal.ts";
import type { LocalFile, LocalFiles } from "./local_file.ts";
import type { Tree } from "./tree.ts";

/** What the write path works on. */
export interface WriteDeps {
  /** The tree. */
  tree: Tree;
  /** Pending changes. */
  committer: Committer;
  /** Where content files live. */
  journal: WriteJournal;
  /** Open content files. */
  files: LocalFiles;
  /** Committed content. */
  content: ContentStore;
}

/** Changes the tree and journals them; see the module documentation. */
export class WritePath {
  readonly #d: WriteDeps;
  /** Working copies being made, so concurrent first writes make one copy. */
  readonly #copying = new Map<Node, Promise<void>>();

  /** A write path over `deps`. */
  constructor(deps: WriteDeps) {
    this.#d = deps;
  }

  /** The change that gives `node`'s path the node's current state. */
  changeOf(node: Node, path = node.path()!): Change {
    const change: Change = {
      path,
      kind: node.kind,
      deleted: false,
      mode: node.mode,
      mtime: Math.floor(node.mtime),
    };
    if (node.target !== undefined) change.target = node.target;
    if (node.local !== undefined) change.local = node.local;
    else if (node.content) change.content = { ...node.content, size: node.size };
    if (node.base) change.base = node.base;
    return change;
  }

  /** Journal the current state of attached nodes (durably when asked). */
  async record(nodes: Node[], durable = false): Promise<void> {
    const changes: Change[] = [];
    for (const n of nodes) {
      const path = n.path();
      if (path !== null) changes.push(this.changeOf(n, path));
    }
    await this.#d.committer.record(changes, durable);
  }

  /** Run `fn` on the node's working copy, held open meanwhile. */
  async withFile<T>(node: Node, fn: (file: LocalFile) => Promise<T>): Promise<T> {
    const id = node.local!;
    const file = await this.#d.files.acquire(id);
    try {
      return await fn(file);
    } finally {
      await this.#d.files.release(id);
    }
  }

  /**
   * Keep the node's working copy open for handle `h` (so reads and writes
   * through it do not reopen the file); {@link unhold} lets it go when the
   * handle closes. The handle's record changes before anything is awaited, so
   * concurrent calls for one handle (the kernel's parallel reads) take and
   * drop each file exactly once.
   */
  async hold(h: { held?: string }, node: Node): Promise<void> {
    const want = node.local;
    const prev = h.held;
    if (want === prev) return;
    h.held = want;
    // acquire() counts the holder synchronously, before the release below can close the file.
    const taking = want === undefined ? undefined : this.#d.files.acquire(want);
    if (prev !== undefined) await this.#d.files.release(prev);
    try {
      await taking;
    } catch (err) {
      // A failed acquire holds nothing: do not release it again on close.
      if (h.held === want) h.held = undefined;
      throw err;
    }
  }

  /** A handle that held content file `held` closed. */
  async unhold(held: string | undefined): Promise<void> {
    if (held !== undefined) await this.#d.files.release(held);
  }

  /**
   * Make sure the node has a working copy, copying the committed content into
   * it (or starting empty when `empty`), and journal that the path's content
   * is now that file.
   */
  async ensureWorkingCopy(node: Node, empty = false, signal?: AbortSignal): Promise<void> {
    while (node.local === undefined) {
      const busy = this.#copying.get(node);
      if (busy) {
        await busy;
        continue;
      }
      const made = this.#makeWorkingCopy(node, empty, signal);
      this.#copying.set(node, made);
      try {
        await made;
      } finally {
        this.#copying.delete(node);
      }
    }
    const path = node.path();
    if (path !== null && this.#d.committer.pendingAt(path)?.local !== node.local) {
      await this.record([node]);
    }
  }

  async #makeWorkingCopy(node: Node, empty: boolean, signal?: AbortSignal): Promise<void> {
    const { journal, files, content } = this.#d;
    const id = journal.newContentId();
    const file = await files.acquire(id, true);
    try {
      if (!empty && node.content && node.size > 0) {
        const m = await content.manifest(node.content);
        await content.copyTo(m, node.path() ?? node.name, file, signal);
      }
      await file.utime(node.mtime);
    } catch (err) {
      await files.release(id);
      await journal.removeContent(id);
      throw err;
    }
    await files.release(id);
    node.local = id;
  }

  /** Write `data` at `offset` of a file; journaled before it returns. */
  async write(node: Node, offset: number, data: Uint8Array, signal?: AbortSignal): Promise<number> {
    await this.ensureWorkingCopy(node, false, signal);
    const n = await this.withFile(node, (f) => f.write(offset, data));
    this.#d.committer.noteWrite(node.local!);
    node.size = Math.max(node.size, offset + n);
    node.mtime = node.ctime = Date.now();
    return n;
  }

  /** Cut or extend a file to `size` bytes. */
  async truncate(node: Node, size: number, signal?: AbortSignal): Promise<void> {
    await this.ensureWorkingCopy(node, size === 0, signal);
    await this.withFile(node, (f) => f.truncate(size));
    this.#d.committer.noteWrite(node.local!);
    node.size = size;
    node.mtime = node.ctime = Date.now();
  }

  /** Change permission bits and/or modification time, journaled. */
  async setMeta(node: Node, meta: { mode?: number; mtime?: number }): Promise<void> {
    const modeChanged = meta.mode !== undefined && (meta.mode & 0o7777) !== node.mode;
    if (meta.mode !== undefined) node.mode = meta.mode & 0o7777;
    node.ctime = Date.now();
    if (meta.mtime !== undefined) {
      node.mtime = meta.mtime;
      // The commit takes a written file's mtime from its working copy: when the journal
      // already points the path at that file, setting the file's time is the whole change.
      if (node.local !== undefined) {
        await this.withFile(node, (f) => f.utime(meta.mtime!));
        const path = node.path();
        if (!modeChanged && path !== null) {
          if (this.#d.committer.pendingAt(path)?.local === node.local) return;
        }
      }
    } else if (!modeChanged) return;
    await this.record([node]);
  }

  /** Make the file's content and its journal entry durable (an application's fsync). */
  async fsync(node: Node): Promise<void> {
    if (node.local === undefined) return;
    await this.withFile(node, (f) => f.sync());
    await this.record([node], true);
  }

  /** Remove `node` from the tree and journal its deletion (and its subtree's). */
  async remove(node: Node): Promise<void> {
    const changes = this.#tombstones(node);
    this.#d.tree.unlink(node);
    await this.#d.committer.record(changes);
  }

  /**
   * Move `node` to `name` in `dir`, replacing what is there (the caller has
   * checked the replacement is allowed), and journal it.
   */
  async move(node: Node, dir: Node, name: string): Promise<Node | undefined> {
    const { tree } = this.#d;
    const replaced = tree.children(dir).get(name);
    const changes = this.#tombstones(node);
    if (replaced && replaced !== node) changes.push(...this.#tombstones(replaced));
    // The moved node supersedes what was committed at its new path; nothing below it has a base.
    const newBase = replaced?.base;
    tree.link(dir, name, node);
    node.ctime = Date.now();
    this.#rebase(node, newBase);
    const newPaths = new Set<string>();
    for (const n of this.#subtree(node)) {
      const change = this.changeOf(n);
      newPaths.add(change.path);
      changes.push(change);
    }
    // A tombstone of a path that now holds a moved entry is overridden by that entry.
    await this.#d.committer.record([
      ...changes.filter((c) => !c.deleted || !newPaths.has(c.path)),
    ].sort((a, b) => Number(b.deleted) - Number(a.deleted)));
    return replaced === node ? undefined : replaced;
  }

  #rebase(node: Node, base: Node["base"]): void {
    node.base = base;
    for (const n of this.#subtree(node)) if (n !== node) n.base = undefined;
  }

  /** Tombstones for a node and everything below it, at their current paths. */
  #tombstones(node: Node): Change[] {
    const out: Change[] = [];
    for (const n of this.#subtree(node)) {
      const path = n.path();
      if (path === null) continue;
      out.push({
        path,
        kind: n.kind,
        deleted: true,
        mode: n.mode,
        mtime: Math.floor(n.mtime),
        ...(n.base ? { base: n.base } : {}),
      });
    }
    return out;
  }

  /** A node and every node below it (directories read from the namespace as needed). */
  *#subtree(node: Node): Generator<Node> {
    yield node;
    if (node.kind !== "dir") return;
    for (const child of [...this.#d.tree.children(node).values()]) yield* this.#subtree(child);
  }
}
