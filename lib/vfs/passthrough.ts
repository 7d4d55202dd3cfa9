/**
 * FUSE passthrough for hydrated files: a read-only open of a file whose
 * committed content is wholly in the chunk cache is answered with a backing
 * id of its whole local copy ({@linkcode WholeFiles}), and the kernel reads
 * that file itself; no READ reaches the mount.
 *
 * The kernel's rules (lib/fuse/connection.ts) and how they are kept, per
 * inode (the real-name inode; a stub alias is an inode of its own, always
 * direct I/O):
 * - One backing id per inode, shared by every passthrough open of it and
 *   closed at the last release (never earlier: the kernel looks it up after
 *   the OPEN reply).
 * - Passthrough and page-cache opens never overlap: while passthrough opens
 *   exist, a read-only open of content replaced remotely since is direct
 *   I/O and an open for writing is refused (EBUSY) until they close;
 *   while page-cache opens exist, new opens use
 *   the page cache too. Writers keep the ordinary write path (working copy,
 *   journal).
 * - New content (written here or replaced remotely) has a new manifest id,
 *   hence a new whole file, used from the first open after the old id is gone.
 *
 * Without `InitInfo.backing` (not asked for, not root, kernel before 6.9) or
 * without whole files, every open is served as before.
 *
 * @module
 */

import type { WholeFiles } from "../cache/mod.ts";
import {
  type BackingFiles,
  Errno,
  FuseError,
  type OpenReply,
  PassthroughError,
} from "../fuse/ops.ts";
import type { Logger } from "../log/mod.ts";
import type { Manifest } from "../repo/mod.ts";
import type { Node } from "./inodes.ts";

/** How the kernel serves one open handle of a file's real-name inode. */
export type OpenKind = "passthrough" | "pageCache" | "direct";

/** What an open of a file may be served with. */
export interface OpenRequest {
  /** The file. */
  node: Node;
  /** The handle number to answer with. */
  fh: number;
  /** Opened for writing. */
  writable: boolean;
  /** Its committed content, when it is hydrated and not written here (passthrough candidate). */
  whole?: { manifestId: string; manifest: Manifest };
}

interface Backing {
  id: number;
  manifestId: string;
  opens: number;
}

interface InodeOpens {
  pageCache: number;
  backing?: Backing;
}

/** Passthrough opens of the mount's files; see the module documentation. */
export class PassthroughOpens {
  /** Set by INIT when the mount agreed passthrough. */
  backing?: BackingFiles;
  readonly #files?: WholeFiles;
  readonly #log: Logger;
  readonly #opens = new Map<Node, InodeOpens>();

  /** Passthrough from the whole files `files` (none: never). */
  constructor(files: WholeFiles | undefined, log: Logger) {
    this.#files = files;
    this.#log = log;
  }

  /** Whether opens may be served through passthrough. */
  get enabled(): boolean {
    return this.backing !== undefined && this.#files !== undefined;
  }

  /** A file just became hydrated: write its whole file now, so its next open finds it. */
  prepare(manifestId: string, m: Manifest, path: string): void {
    if (!this.enabled || m.chunks.length === 0) return;
    this.#files!.get(manifestId, m).catch((err) => this.#warn(path, err));
  }

  /** The reply to an open of a file's real name, and how it is served. */
  async open(r: OpenRequest): Promise<{ reply: OpenReply; kind: OpenKind }> {
    const held = this.#opens.get(r.node);
    if (held?.backing) return this.#alongside(r, held.backing);
    if (!held?.pageCache && !r.writable && r.whole && this.enabled) {
      const path = await this.#files!.get(r.whole.manifestId, r.whole.manifest).catch((err) => {
        this.#warn(r.node.path() ?? r.node.name, err);
        return undefined;
      });
      // Other opens may have been answered meanwhile: look again.
      const now = this.#opens.get(r.node);
      if (now?.backing) return this.#alongside(r, now.backing);
      if (path !== undefined && !now?.pageCache) {
        const id = this.#register(path);
        if (id !== undefined) {
          const backing = { id, manifestId: r.whole.manifestId, opens: 1 };
          this.#opens.set(r.node, { pageCache: 0, backing });
          return { reply: { fh: r.fh, passthrough: { backingId: id } }, kind: "passthrough" };
        }
      }
    }
    const opens = this.#opens.get(r.node) ?? { pageCache: 0 };
    opens.pageCache++;
    this.#opens.set(r.node, opens);
    return { reply: { fh: r.fh, keepCache: true }, kind: "pageCache" };
  }

  /** Refuse (EBUSY) an open of `node` for writing while it is open through passthrough. */
  checkWriter(node: Node): void {
    if (this.#opens.get(node)?.backing) throw new FuseError(Errno.EBUSY);
  }

  /**
   * An open while passthrough opens exist: share their id; a reader of newer
   * content gets direct I/O; a writer is refused with EBUSY (the file is busy
   * being read by the kernel) until the readers close.
   */
  #alongside(r: OpenRequest, b: Backing): { reply: OpenReply; kind: OpenKind } {
    if (r.writable) this.checkWriter(r.node);
    if (r.whole?.manifestId === b.manifestId) {
      b.opens++;
      return { reply: { fh: r.fh, passthrough: { backingId: b.id } }, kind: "passthrough" };
    }
    return { reply: { fh: r.fh, directIo: true }, kind: "direct" };
  }

  #register(path: string): number | undefined {
    try {
      return this.backing!.open(path);
    } catch (err) {
      if (!(err instanceof PassthroughError)) throw err;
      this.#warn(path, err);
      return undefined;
    }
  }

  /** The handle of `node` opened as `kind` was released. */
  release(node: Node, kind: OpenKind): void {
    const opens = this.#opens.get(node);
    if (!opens || kind === "direct") return;
    if (kind === "pageCache") opens.pageCache--;
    else if (opens.backing && --opens.backing.opens === 0) {
      try {
        this.backing?.close(opens.backing.id);
      } catch (err) {
        this.#warn(node.path() ?? node.name, err);
      }
      opens.backing = undefined;
    }
    if (opens.pageCache === 0 && !opens.backing) this.#opens.delete(node);
  }

  #warn(path: string, err: unknown): void {
    this.#log.warn("mount: passthrough not used", { path, error: (err as Error).message });
  }
}
