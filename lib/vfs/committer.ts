/**
 * The committer: turns the mount's journaled changes into commit records.
 * Changes are folded per path (the last one wins) and committed together a
 * short while after the last close or fsync, so a burst of writes (tar -x,
 * git checkout) becomes one record. A written file is stored with the same
 * {@linkcode storeFile} push uses; deletions commit tombstones that keep the
 * deleted content (the trash), as sync does. A change is forgotten only once
 * the record holding it is written; a file written again while it was being
 * stored stays pending and goes out in the next round.
 *
 * @module
 */

import { storeFile } from "../engine/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  ChunkWriter,
  type Namespace,
  type NewVersion,
  type PathVersion,
  type Repository,
  type VersionVector,
} from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import type { Change, JournaledChange, WriteJournal } from "./journal.ts";

/** Options of {@link Committer}. */
export interface CommitterOptions {
  /** The repository. */
  repo: Repository;
  /** This device's id (its commit log). */
  device: string;
  /** The namespace commits apply to (the file system's current one). */
  ns: () => Namespace;
  /** Where changes are journaled. */
  journal: WriteJournal;
  /** Delay after the last close/fsync before committing (ms). */
  delayMs: number;
  /** Uploads in flight at once. */
  concurrency: number;
  /** Log. */
  log: Logger;
  /** Told of each committed change and its version (null: nothing needed committing). */
  onCommitted?: (change: Change, version: PathVersion | null) => void;
}

interface Pending {
  seq: number;
  change: Change;
}

/** Files stored at once in one round. */
const STORE_CONCURRENCY = 4;
/** A file changed while it was being stored because it is still being written. */
class StillWriting extends Error {}

/** Rounds storing at least this many chunked bytes encode on worker threads. */
const WORKERS_FROM_BYTES = 8 * 1024 * 1024;
/** A waiting commit is put off by new closes for at most this many delays. */
const MAX_DEFER_FACTOR = 10;
/** Longest wait between attempts after failures (ms). */
const MAX_RETRY_MS = 60_000;

/** Commits journaled changes; see the module documentation. */
export class Committer {
  readonly #opts: CommitterOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #writes = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waitingSince = 0;
  #round: Promise<void> | null = null;
  #failures = 0;
  #closed = false;

  /** A committer; nothing is pending until {@link record} or {@link restore}. */
  constructor(opts: CommitterOptions) {
    this.#opts = opts;
  }

  /** Take over changes read back from the journal (at start). */
  restore(changes: JournaledChange[]): void {
    for (const { seq, change } of changes) this.#pending.set(change.path, { seq, change });
  }

  /** Journal changes (durably when asked) and hold them until they are committed. */
  async record(changes: Change[], durable = false): Promise<void> {
    if (changes.length === 0) return;
    const seq = await this.#opts.journal.append(changes, durable);
    for (const change of changes) this.#pending.set(change.path, { seq, change });
  }

  /** The pending change of `path`. */
  pendingAt(path: string): Change | undefined {
    return this.#pending.get(path)?.change;
  }

  /** Pending changes directly inside directory `dir`. */
  pendingIn(dir: string): Change[] {
    const prefix = dir === "/" ? "/" : dir + "/";
    const out: Change[] = [];
    for (const [path, p] of this.#pending) {
      if (path.startsWith(prefix) && !path.slice(prefix.length).includes("/")) out.push(p.change);
    }
    return out;
  }

  /** Whether anything at or below `path` is pending. */
  hasPendingUnder(path: string): boolean {
    if (this.#pending.has(path)) return true;
    const prefix = path === "/" ? "/" : path + "/";
    for (const p of this.#pending.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  /** Whether a pending change refers to content file `id`. */
  usesContent(id: string): boolean {
    for (const p of this.#pending.values()) if (p.change.local === id) return true;
    return false;
  }

  /** Number of pending changes. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Content file `id` was written: a store of it in progress must not settle its change. */
  noteWrite(id: string): void {
    this.#writes.set(id, (this.#writes.get(id) ?? 0) + 1);
  }

  /**
   * Commit after the configured delay, restarting the delay if already
   * waiting, but never putting off a waiting commit by more than
   * {@link MAX_DEFER_FACTOR} delays in all (a steady stream of closes still commits).
   */
  schedule(delayMs = this.#opts.delayMs): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#timer !== undefined) {
      if (now - this.#waitingSince >= MAX_DEFER_FACTOR * this.#opts.delayMs) return;
      clearTimeout(this.#timer);
    } else this.#waitingSince = now;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(() => {/* logged by the round; retried */});
    }, delayMs);
  }

  /**
   * Commit everything pending now and wait. Rejects when something could not
   * be committed (it stays journaled and is retried later).
   */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#round) await this.#round.catch(() => {});
    if (this.#pending.size === 0) return;
    this.#round = this.#commitRound();
    try {
      await this.#round;
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      const retryMs = Math.min(MAX_RETRY_MS, this.#opts.delayMs * 2 ** this.#failures + 1000);
      this.#opts.log.warn("mount: commit failed; changes stay journaled and are retried", {
        error: (err as Error).message,
        pending: this.#pending.size,
        retryMs,
      });
      if (!this.#closed) this.schedule(retryMs);
      throw err;
    } finally {
      this.#round = null;
    }
  }

  /** Commit what is pending and stop scheduling. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      clearTimeout(this.#timer);
      await this.#opts.journal.close();
    }
  }

  async #commitRound(): Promise<void> {
    const { repo, journal } = this.#opts;
    const ns = this.#opts.ns();
    const upTo = await journal.rotate();
    const round = [...this.#pending.values()];
    // Small files are inlined in the record: a round of them needs no dedup index and no
    // encode workers (starting workers costs more than a burst of small files).
    const chunked = await this.#chunkedBytes(round);
    const known = new Map();
    if (chunked > 0) ns.addReferencedChunks(known);
    const writer = new ChunkWriter(repo.store, repo.codec, {
      known,
      concurrency: this.#opts.concurrency,
      packThreshold: repo.config.packThreshold,
      packTarget: repo.config.packTarget,
      ...(chunked < WORKERS_FROM_BYTES ? { encodeWorkers: 0 } : {}),
    });
    const ready: { p: Pending; version: NewVersion | null; settled: boolean }[] = [];
    const rebased = new Set<Pending>();
    let firstError: unknown = null;
    try {
      await mapLimit(round, STORE_CONCURRENCY, async (p) => {
        try {
          ready.push(await this.#prepare(p, ns, writer));
        } catch (err) {
          // A change replaced meanwhile (the file was deleted or renamed) is not a failure,
          // nor a file being written right now (it is committed after its next close).
          if (this.#pending.get(p.change.path) !== p || err instanceof StillWriting) return;
          firstError ??= err;
          this.#opts.log.error("mount: could not store a written file", {
            path: p.change.path,
            error: (err as Error).message,
          });
        }
      });
      const versions = ready.filter((r) => r.version !== null);
      let committed: PathVersion[] = [];
      if (versions.length > 0) {
        await writer.flush();
        committed = (await repo.commit(
          this.#opts.device,
          ns,
          versions.map((r) => r.version!),
        )).versions;
      }
      versions.forEach((r, i) => this.#settle(r.p, committed[i], r.settled, rebased));
      for (const r of ready) if (r.version === null) this.#settle(r.p, null, true, rebased);
    } finally {
      await writer.close();
    }
    await this.#rewrite(upTo, rebased);
    if (firstError) throw firstError;
  }

  /** Bytes of the round's written files that are cut into chunks (larger than inline). */
  async #chunkedBytes(round: Pending[]): Promise<number> {
    const { journal, repo } = this.#opts;
    const sizes = await Promise.all(
      round.map((p) =>
        p.change.local === undefined
          ? 0
          : Deno.lstat(journal.contentPath(p.change.local)).then((i) => i.size, () => 0)
      ),
    );
    return sizes.filter((n) => n > repo.config.inlineMax).reduce((a, b) => a + b, 0);
  }

  /** The version a change commits (null: nothing to commit), and whether it can settle. */
  async #prepare(
    p: Pending,
    ns: Namespace,
    writer: ChunkWriter,
  ): Promise<
    { p: Pending; version: (NewVersion & { base: VersionVector }) | null; settled: boolean }
  > {
    const c = p.change;
    // Without a base, supersede only tombstones: a live version from elsewhere stays beside ours.
    const base = c.base ??
      Object.assign({}, ...ns.heads(c.path).filter((h) => h.deleted).map((h) => h.vv));
    if (c.deleted) {
      const current = ns.get(c.path);
      // Nothing of ours was ever committed there: nothing to delete (another device's stays).
      if (!c.base || !current) return { p, version: null, settled: true };
      return {
        p,
        version: {
          path: c.path,
          deleted: true,
          kind: current.kind,
          mode: current.mode,
          mtime: current.mtime,
          size: current.size,
          ...(current.manifestId
            ? { manifestId: current.manifestId, manifest: current.manifest }
            : {}),
          base,
        },
        settled: true,
      };
    }
    const version: NewVersion & { base: VersionVector } = {
      path: c.path,
      deleted: false,
      kind: c.kind,
      mode: c.mode,
      mtime: c.mtime,
      size: 0,
      base,
    };
    if (c.kind === "symlink") {
      version.target = c.target;
      version.size = new TextEncoder().encode(c.target ?? "").length;
    }
    let settled = true;
    if (c.kind === "file" && c.local !== undefined) {
      const writesBefore = this.#writes.get(c.local) ?? 0;
      const path = this.#opts.journal.contentPath(c.local);
      const info = await Deno.lstat(path);
      const mtime = info.mtime?.getTime() ?? c.mtime;
      let stored;
      try {
        stored = await storeFile(this.#opts.repo, writer, path, { size: info.size, mtime });
      } catch (err) {
        // Written while it was read (an application still writing): the next round takes it.
        if ((this.#writes.get(c.local) ?? 0) !== writesBefore) throw new StillWriting();
        throw err;
      }
      Object.assign(version, {
        mtime,
        size: stored.size,
        manifestId: stored.manifestId,
        manifest: stored.manifest,
      });
      settled = (this.#writes.get(c.local) ?? 0) === writesBefore;
    } else if (c.kind === "file" && c.content) {
      Object.assign(version, {
        size: c.content.size,
        manifestId: c.content.manifestId,
        manifest: c.content.manifest,
      });
    }
    return { p, version, settled };
  }

  #settle(
    p: Pending,
    version: PathVersion | null,
    settled: boolean,
    rebased: Set<Pending>,
  ): void {
    const current = this.#pending.get(p.change.path);
    if (current === p && settled) this.#pending.delete(p.change.path);
    else if (current && version) {
      // A newer change of the path (or this one, written again) supersedes what was committed.
      current.change.base = version.vv;
      rebased.add(current);
    }
    this.#opts.onCommitted?.(p.change, version);
  }

  /**
   * Append again the changes still pending from segments up to `upTo` and those whose
   * base moved, then drop those segments: the journal always holds what is
   * left to do, with the right bases.
   */
  async #rewrite(upTo: number, rebased: Set<Pending>): Promise<void> {
    const { journal } = this.#opts;
    const left = [...this.#pending.values()].filter((p) => p.seq <= upTo || rebased.has(p));
    if (left.length > 0) {
      const seq = await journal.append(left.map((p) => p.change));
      for (const p of left) p.seq = seq;
    }
    await journal.drop(upTo);
  }
}
