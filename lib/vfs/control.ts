/**
 * The parts of the mount's file system and what the daemon asks of it
 * besides kernel requests: recover the journal at start, refresh from the
 * repository (remote changes reach the kernel through invalidations),
 * hydrate, unsync and pin paths, flush pending commits and close.
 *
 * @module
 */

import type { ChunkCache, WholeFiles } from "../cache/mod.ts";
import type { Config } from "../config/mod.ts";
import type { HydrationReport } from "../events/mod.ts";
import { NotFoundError, TcfsError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import type { Namespace, PathVersion, Repository } from "../repo/mod.ts";
import { Committer } from "./committer.ts";
import { ContentStore } from "./content.ts";
import { type DirHandle, type FileHandle, HandleTable } from "./handles.ts";
import { HydrationClock } from "./hydration_clock.ts";
import type { FileContent, Node } from "./inodes.ts";
import type { Change, JournaledChange, WriteJournal } from "./journal.ts";
import { LocalFiles } from "./local_file.ts";
import { PassthroughOpens } from "./passthrough.ts";
import { MountPins } from "./pins.ts";
import type { NamesMode } from "./naming.ts";
import { Tree } from "./tree.ts";
import { View } from "./view.ts";
import { WritePath } from "./writes.ts";

/** What the mount's file system is made of; see lib/vfs/mod.ts for an example. */
export interface VfsOptions {
  /** The open repository. */
  repo: Repository;
  /** This device's id (its commit log). */
  device: string;
  /** The namespace as last read (e.g. the session's); the mount keeps it current. */
  ns: Namespace;
  /** Reads newer commit records into a namespace (default: `repo.refresh(ns)`). */
  refreshNamespace?: (ns: Namespace) => Promise<Namespace>;
  /** The chunk cache reads go through. */
  cache: ChunkCache;
  /**
   * Whole local copies of hydrated files (of `cache`), served through FUSE
   * passthrough when the mount agreed it; absent: no passthrough.
   */
  wholeFiles?: WholeFiles;
  /** Directory of the write journal (see {@linkcode vfsJournalDir}). */
  journalDir: string;
  /** Naming: `stubs` (default) or `real`. */
  names?: NamesMode;
  /** Kernel cache lifetime of names and attributes (ms, default 1000). */
  attrTtlMs?: number;
  /** Kernel cache lifetime of "no such name" (ms, default 1000; 0 disables). */
  negativeTtlMs?: number;
  /** Delay from the last close/fsync to the commit (ms, default 1500). */
  commitDelayMs?: number;
  /** Uploads in flight at once while committing (default 8). */
  concurrency?: number;
  /** Log. */
  log: Logger;
  /** Told of each hydration of a file when it ends (hydration_clock.ts): metrics, events. */
  onHydrated?: (report: HydrationReport) => void;
}

/** The write journal directory of a repository's mount on this device. */
export function vfsJournalDir(config: Pick<Config, "state">, repo: Repository): string {
  return `${config.state.dir}/${repo.config.id}/mount`;
}

/** The `mount.*` settings of a config, as {@link VfsOptions} fields. */
export function vfsSettings(
  config: Pick<Config, "mount" | "transfer">,
): Pick<VfsOptions, "names" | "attrTtlMs" | "negativeTtlMs" | "commitDelayMs" | "concurrency"> {
  return {
    names: config.mount.names,
    attrTtlMs: config.mount.attr_ttl_ms,
    negativeTtlMs: config.mount.negative_ttl_ms,
    commitDelayMs: config.mount.commit_delay_ms,
    concurrency: config.transfer.concurrency,
  };
}

/** Counts of a hydrate, unsync or pin. */
export interface PathOpResult {
  /** Files changed. */
  files: number;
  /** Bytes fetched or freed. */
  bytes: number;
}

/** The file system's parts and its management operations. */
export class MountControl {
  /** The mounted tree. */
  protected readonly tree: Tree;
  /** Pending changes and their commits. */
  protected readonly committer: Committer;
  /** The write journal. */
  protected readonly journal: WriteJournal;
  /** Committed content through the cache. */
  protected readonly content: ContentStore;
  /** The kernel's view. */
  protected readonly view: View;
  /** The write path. */
  protected readonly writes: WritePath;
  /** Log. */
  protected readonly log: Logger;
  /** Open files. */
  protected readonly fileHandles: HandleTable<FileHandle> = new HandleTable();
  /** Open directories. */
  protected readonly dirHandles: HandleTable<DirHandle> = new HandleTable();
  /** Pinned files and paths. */
  protected readonly pins: MountPins;
  /** Times hydrations for `VfsOptions.onHydrated`. */
  protected readonly hydrations: HydrationClock;
  /** Passthrough opens of hydrated files. */
  protected readonly passthrough: PassthroughOpens;
  readonly #files: LocalFiles;
  readonly #opts: VfsOptions;
  /** Settles once {@link recover} has pinned again what was pinned before the last stop. */
  pinsRestored: Promise<void> = Promise.resolve();
  /** Committed files being put into the cache from their local copies. */
  readonly #keeping = new Set<Promise<void>>();

  /** Assemble the parts around an opened journal (use `TcfsFileSystem.open`). */
  constructor(opts: VfsOptions, opened: { journal: WriteJournal; changes: JournaledChange[] }) {
    this.#opts = opts;
    this.log = opts.log;
    this.hydrations = new HydrationClock(opts.onHydrated);
    this.passthrough = new PassthroughOpens(opts.wholeFiles, opts.log);
    this.journal = opened.journal;
    this.committer = new Committer({
      repo: opts.repo,
      device: opts.device,
      ns: () => this.tree.ns,
      journal: this.journal,
      delayMs: opts.commitDelayMs ?? 1500,
      concurrency: opts.concurrency ?? 8,
      log: opts.log,
      onCommitted: (change, version) => this.#committed(change, version),
    });
    this.committer.restore(opened.changes);
    this.tree = new Tree(opts.ns, this.committer, (id) => this.journal.contentPath(id));
    this.content = new ContentStore(opts.repo, opts.cache);
    this.view = new View(this.tree, this.content, opts.names ?? "stubs", {
      attrTtlMs: opts.attrTtlMs ?? 1000,
      negativeTtlMs: opts.negativeTtlMs ?? 1000,
    }, opts.log);
    this.#files = new LocalFiles((id) => this.journal.contentPath(id));
    this.pins = new MountPins(this.journal);
    this.writes = new WritePath({
      tree: this.tree,
      committer: this.committer,
      journal: this.journal,
      files: this.#files,
      content: this.content,
    });
  }

  /**
   * Commit what the journal held at start (writes acknowledged before a crash)
   * and remove content files nothing refers to any more. Call once, before
   * mounting. Returns how many changes were pending. Rejects when the
   * repository cannot be reached; the changes stay journaled, are visible in
   * the mount and are retried.
   */
  async recover(): Promise<number> {
    const pending = this.committer.pendingCount;
    if (pending > 0) {
      this.log.info("mount: committing changes journaled before the last stop", {
        pending,
      });
    }
    try {
      await this.committer.flush();
    } finally {
      // A committed copy goes only once the cache holds its content (then the file stays local).
      await this.#keptIntoCache();
      for (const id of await this.journal.contentIds()) {
        if (!this.committer.usesContent(id)) await this.journal.removeContent(id);
      }
      await this.#restorePins();
    }
    return pending;
  }

  /**
   * Read the paths pinned before the last stop (from then on they count as
   * pinned) and pin them again in the background (hydrating them).
   */
  async #restorePins(): Promise<void> {
    let paths: string[];
    try {
      paths = await this.pins.load();
    } catch (err) {
      this.log.warn("mount: pins not restored", { error: (err as Error).message });
      return;
    }
    this.pinsRestored = (async () => {
      for (const path of paths) {
        await this.pin(path, true).catch((err) =>
          this.log.warn("mount: could not pin again", { path, error: (err as Error).message })
        );
      }
    })();
  }

  /** Commit everything pending now (rejects when something could not be committed). */
  async commitNow(): Promise<void> {
    try {
      await this.committer.flush();
    } finally {
      await this.#keptIntoCache();
    }
  }

  /** Number of changes not committed yet. */
  get pendingChanges(): number {
    return this.committer.pendingCount;
  }

  /**
   * Read newer commit records (other devices' changes) and bring the tree up
   * to date, telling the kernel what changed. Returns the number of entries
   * that changed.
   */
  async refresh(): Promise<number> {
    const { repo, refreshNamespace } = this.#opts;
    const ns =
      await (refreshNamespace ? refreshNamespace(this.tree.ns) : repo.refresh(this.tree.ns));
    const changes = this.tree.sync(ns);
    for (const c of changes) {
      this.view.invalidate(c.parent, c.name, c.node);
      if (c.node?.local !== undefined && !this.committer.pendingAt(c.node.path() ?? "")) {
        await this.#dropLocal(c.node);
      }
    }
    return changes.length;
  }

  /** Fetch every file at or below `path` (a repository path) into the cache. */
  async hydrate(path: string): Promise<PathOpResult> {
    const out = { files: 0, bytes: 0 };
    for (const node of this.#under(path)) {
      node.unsynced = false;
      if (node.kind !== "file" || this.view.isLocal(node)) continue;
      const m = await this.content.manifest(node.content!);
      await this.hydrations.track(node, () => this.content.hydrate(m, node.path() ?? path));
      this.view.noteHydrated(node);
      if (this.view.isLocal(node) && node.local === undefined) {
        this.passthrough.prepare(node.content!.manifestId, m, node.path() ?? path);
      }
      out.files++;
      out.bytes += node.size;
    }
    return out;
  }

  /**
   * Turn files at or below `path` back into stubs: their local copies go and
   * their chunks leave the cache at once (chunks a pinned file shares stay),
   * so they are stubs after a restart too. Checked for every file before
   * anything changes, as `tcfs unsync` of a synced folder does: refused for
   * files with changes not committed yet, pinned files (also when the pin is
   * still being restored) and open written files. Files whose content is
   * inline in their record have nothing to free and are left as they are.
   */
  async unsync(path: string): Promise<PathOpResult> {
    const nodes = [...this.#under(path)].filter((n) => n.kind === "file");
    for (const node of nodes) {
      const at = node.path()!;
      if (this.committer.hasPendingUnder(at)) {
        throw new TcfsError(
          `${at} has local changes that are not committed yet: wait for the commit, then unsync`,
        );
      }
      if (this.pins.holds(node) || this.pins.covers(at)) {
        throw new TcfsError(`${at} is pinned: unpin it first`);
      }
      if (node.local !== undefined && node.opens > 0) {
        throw new TcfsError(`${at} is open: close it, then unsync`);
      }
    }
    const out = { files: 0, bytes: 0 };
    for (const node of nodes) {
      if (!node.content) continue;
      const m = await this.content.manifest(node.content);
      if (m.chunks.length === 0) continue;
      const wasLocal = this.view.isLocal(node);
      await this.#dropLocal(node);
      const freed = await this.content.cache.drop(m.chunks.map((c) => c.id));
      if (!wasLocal && freed === 0) continue;
      node.hydrated = false;
      node.unsynced = true;
      this.view.invalidate(node.parent, node.name, node);
      out.files++;
      out.bytes += node.size;
    }
    return out;
  }

  /** Keep files at or below `path` local (`pinned`) or let the cache evict them again. */
  async pin(path: string, pinned: boolean): Promise<PathOpResult> {
    const out = { files: 0, bytes: 0 };
    if (pinned) await this.hydrate(path);
    await this.pins.save(path, pinned);
    for (const node of this.#under(path)) {
      if (node.kind !== "file" || !node.content) continue;
      const held = this.pins.holds(node);
      if (pinned && !held) {
        this.pins.hold(node, this.content.pin(await this.content.manifest(node.content)));
      } else if (!pinned && held) this.pins.release(node);
      else continue;
      out.files++;
      out.bytes += node.size;
    }
    return out;
  }

  /**
   * Commit what is pending and release files and pins. The journal keeps
   * whatever could not be committed, for {@link recover} at the next start.
   */
  async close(): Promise<void> {
    for (const h of this.fileHandles.values()) h.reader?.close();
    try {
      await this.committer.close();
    } finally {
      await this.#keptIntoCache();
      this.pins.releaseAll();
      this.view.close();
      await this.#files.closeAll();
    }
  }

  /** Remove the working copy of an unlinked or replaced node once nothing uses it. */
  protected async dropContentOf(node: Node): Promise<void> {
    if (node.opens > 0 || node.attached()) return;
    await this.#dropLocal(node);
  }

  async #dropLocal(node: Node): Promise<void> {
    const id = node.local;
    if (id === undefined) return;
    node.local = undefined;
    if (node.opens === 0 && !this.committer.usesContent(id)) await this.journal.removeContent(id);
  }

  /** A commit landed: the node at that path now stands on the committed version. */
  #committed(change: Change, version: PathVersion | null): void {
    const node = this.tree.findLoaded(change.path);
    if (node && version) {
      node.base = version.vv;
      if (!version.deleted && !this.committer.pendingAt(change.path)) {
        if (version.manifestId && version.manifest) {
          node.content = { manifestId: version.manifestId, manifest: version.manifest };
        }
        node.mtime = version.mtime;
      }
    }
    if (change.local !== undefined && version?.manifestId && version.manifest && !version.deleted) {
      const content = { manifestId: version.manifestId, manifest: version.manifest };
      const keeping = this.#keepCommitted(change.path, change.local, content).catch((err) =>
        this.log.warn("mount: a committed file was not put into the cache", {
          path: change.path,
          error: (err as Error).message,
        })
      ).finally(() => this.#keeping.delete(keeping));
      this.#keeping.add(keeping);
    }
  }

  /**
   * A written file was committed from content file `id`: put its chunks into
   * the cache from that file, and once the cache holds them all, let the
   * file go (unless it is open or written again), so the file stays local
   * within the cache's quota, also after a restart. A pinned file's pin
   * moves to the new content.
   */
  async #keepCommitted(path: string, id: string, content: FileContent): Promise<void> {
    const m = await this.content.manifest(content);
    const node = this.tree.findLoaded(path);
    const current = (n: Node | undefined): n is Node =>
      n !== undefined && n.local === id && n.content?.manifestId === content.manifestId;
    if (current(node) && this.pins.holds(node)) this.pins.hold(node, this.content.pin(m));
    // Held while it goes in, so the file's first chunks are not evicted by its last ones.
    using _pin = this.content.pin(m);
    if (!await this.content.keepFrom(m, this.journal.contentPath(id))) return;
    if (current(node) && node.opens === 0 && !this.committer.pendingAt(path)) {
      await this.#dropLocal(node);
      this.view.cachedFromCopy(node);
    }
  }

  /** Wait for committed files still going into the cache. */
  async #keptIntoCache(): Promise<void> {
    while (this.#keeping.size > 0) await Promise.allSettled([...this.#keeping]);
  }

  /** The node at `path` and everything below it. */
  *#under(path: string): Generator<Node> {
    const node = this.tree.find(path);
    if (!node) throw new NotFoundError(`${path} is not in the mounted repository`);
    const walk = function* (tree: Tree, n: Node): Generator<Node> {
      yield n;
      if (n.kind === "dir") {
        for (const c of [...tree.children(n).values()]) {
          yield* walk(tree, c);
        }
      }
    };
    yield* walk(this.tree, node);
  }
}
