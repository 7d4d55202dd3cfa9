/**
 * The per-device local state: for every synced root, what each path looked
 * like when it was last synced (the base of the next three-way comparison),
 * the conflicts found, and small metadata. One Deno KV database per device;
 * its layout and migrations are in schema.ts, its entries' encoding in
 * entry_codec.ts, the whole story in docs/STATE.md.
 *
 * Roots are named by any string (the engine uses `local=remote`) and stored
 * under a small number, so a long root name costs nothing per entry. Several
 * processes may open the same database: writes check that the root they
 * write to still exists, and a deleted root's number is never reused.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import {
  decodeEntry,
  encodeEntry,
  type EntryState,
  type Hydration,
  hydrationOf,
  type SyncedEntry,
} from "./entry_codec.ts";
import { listEntryStates } from "./entry_list.ts";
import { GET_MANY_KEYS, getManyBatched, type Mutation, writeBatched } from "./kv_batch.ts";
import { KEY, keySize, migrate, pathKey, relOfKey, StateError } from "./schema.ts";

/** One copy of a conflicted path that was kept (the files themselves stay on disk). */
export interface ConflictCopy {
  /** Where the copy is, relative to the root. */
  path: string;
  /** The device whose version it holds. */
  device: string;
  /** Manifest id of that version. */
  manifestId?: string;
  /** When that version was written, ms. */
  time: number;
  /** Size of the copy file as written (to tell whether the user changed it since). */
  size?: number;
  /** Mtime of the copy file as written, ms. */
  mtime?: number;
}

/** A path whose versions diverged, and the copies kept of it. */
export interface ConflictEntry {
  /** The root it belongs to. */
  root: string;
  /** The conflicted path, relative to the root. */
  path: string;
  /** The copies kept: at most {@link MAX_CONFLICT_COPIES}, the newest by `time`. */
  copies: ConflictCopy[];
  /** When the conflict was found, ms. */
  detectedAt: number;
}

/** Copies kept per conflict; older ones are dropped from the record (not from disk). */
export const MAX_CONFLICT_COPIES = 100;

/** Entry counts of a root. */
export interface EntryCounts {
  /** Every entry. */
  total: number;
  /** Entries by hydration state. */
  byHydration: Record<Hydration, number>;
}

const LIST_BATCH = 1000;
/** Keys of a deleted root listed (then deleted) at a time. */
const PURGE_ROUND = 10_000;
/** Bytes of conflict copies kept in one value (Deno KV allows 65,536). */
const MAX_CONFLICT_BYTES = 60_000;

/** A root's number and the versionstamp of its `["r", root]` key, which changes only on delete. */
interface RootRef {
  id: bigint;
  stamp: string;
}

/** The local state database of one device. */
export class StateStore {
  readonly #kv: Deno.Kv;
  readonly #path: string;
  readonly #roots = new Map<string, RootRef>();
  #closed = false;
  /** The schema version of the open database. */
  readonly schemaVersion: number;

  private constructor(kv: Deno.Kv, path: string, schemaVersion: number) {
    this.#kv = kv;
    this.#path = path;
    this.schemaVersion = schemaVersion;
  }

  /**
   * Open (or create) the database at `path` (`":memory:"` for a throwaway
   * one), upgrading an older schema. Refuses, with StateError, a database
   * written by a newer tcfs. Its directory is created with mode 0700, the
   * file gets mode 0600.
   */
  static async open(path: string): Promise<StateStore> {
    if (typeof Deno.openKv !== "function") {
      throw new StateError("the local state database needs Deno KV: run deno with --unstable-kv");
    }
    if (path !== ":memory:" && path.includes("/")) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", {
        recursive: true,
        mode: 0o700,
      });
    }
    let kv: Deno.Kv;
    try {
      kv = await Deno.openKv(path);
    } catch (err) {
      throw new StateError(`cannot open the state database ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      // SQLite creates the file (and its -wal, -shm) with the umask's mode; keep it private.
      if (path !== ":memory:") {
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          await Deno.chmod(file, 0o600).catch((err) => {
            if (!(err instanceof Deno.errors.NotFound)) throw err;
          });
        }
      }
      const store = new StateStore(kv, path, await migrate(kv, path));
      await store.#finishDeletes();
      return store;
    } catch (err) {
      kv.close();
      throw err;
    }
  }

  /** Close the database (again: nothing); the store cannot be used afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kv.close();
  }

  /** The last synced state of `rel` in `root`, or null. */
  async getEntry(root: string, rel: string): Promise<SyncedEntry | null> {
    return (await this.getEntries(root, [rel]))[0];
  }

  /** The last synced states of `rels` in `root`, in the same order (null where there is none). */
  async getEntries(root: string, rels: string[]): Promise<(SyncedEntry | null)[]> {
    const out: (SyncedEntry | null)[] = new Array(rels.length).fill(null);
    let ref = this.#roots.get(root) ?? await this.#lookupRoot(root);
    if (!ref || rels.length === 0) return out;
    const rootKey = [KEY.root, root];
    for (;;) {
      const keys = rels.map((rel) => pathKey(KEY.entry, ref!.id, rel));
      // The root's key rides along in the first call, so a cached number is checked for free.
      const first = await this.#kv.getMany<unknown[]>([
        rootKey,
        ...keys.slice(0, GET_MANY_KEYS - 1),
      ]);
      if (first[0].versionstamp !== ref.stamp) {
        ref = await this.#lookupRoot(root);
        if (!ref) return out;
        continue;
      }
      const results = [
        ...first.slice(1),
        ...await getManyBatched(this.#kv, keys.slice(GET_MANY_KEYS - 1)),
      ];
      results.forEach((r, i) => {
        if (r.versionstamp !== null) out[i] = this.#decode(rels[i], r.value);
      });
      return out;
    }
  }

  /**
   * The entries of `root` in {@link compareRel} order: all of them, or, with
   * `prefix`, the entry of that path and everything below it (`a` matches
   * `a` and `a/b`, never `a b` or `a0`).
   */
  async *listEntries(root: string, prefix = ""): AsyncGenerator<[string, SyncedEntry]> {
    const ref = await this.#lookupRoot(root);
    if (!ref) return;
    for await (const [key, value] of this.#scan(pathKey(KEY.entry, ref.id, prefix))) {
      const rel = relOfKey(key);
      yield [rel, this.#decode(rel, value)];
    }
  }

  /**
   * The {@link EntryState} of every entry of `root`, by path: what
   * `tcfs status` compares with the disk. Listed on a worker thread when the
   * database is a file, so the caller can scan the disk meanwhile.
   */
  async entryStates(root: string): Promise<Map<string, EntryState>> {
    const ref = await this.#lookupRoot(root);
    if (!ref) return new Map();
    return await listEntryStates(this.#kv, this.#path, pathKey(KEY.entry, ref.id, ""));
  }

  /**
   * Apply changes to `root` (an entry to store, or null to delete), in
   * atomic batches as large as Deno KV allows; returns once all are
   * committed. A later change to the same path wins. Each batch is atomic,
   * the whole call is not: if it fails part way (a bad path, an entry over
   * 64 KiB, a crash), the batches before are applied. Each entry is a whole
   * state, so writing the rest later converges.
   */
  async writeEntries(
    root: string,
    changes: Iterable<[string, SyncedEntry | null]>,
  ): Promise<void> {
    const it = changes[Symbol.iterator]();
    const first = it.next();
    if (first.done) return; // nothing to write: do not create the root
    const ref = await this.#rootForWrite(root);
    const mutations = (function* (): Generator<Mutation> {
      for (let r: IteratorResult<[string, SyncedEntry | null]> = first; !r.done; r = it.next()) {
        const [rel, entry] = r.value;
        yield [pathKey(KEY.entry, ref.id, rel), entry === null ? null : encodeEntry(entry)];
      }
    })();
    const check = { key: [KEY.root, root], versionstamp: ref.stamp };
    if (!await writeBatched(this.#kv, mutations, check)) {
      this.#roots.delete(root);
      throw new StateError(`sync root ${root} was removed from the state while being written`);
    }
  }

  /** Forget `root`: at once for readers; its keys are removed before this returns (or at next open). */
  async deleteRoot(root: string): Promise<void> {
    const ref = await this.#lookupRoot(root);
    if (!ref) return;
    this.#roots.delete(root);
    const done = await this.#kv.atomic()
      .check({ key: [KEY.root, root], versionstamp: ref.stamp })
      .delete([KEY.root, root])
      .set([KEY.gc, ref.id], true)
      .commit();
    // If the check failed, another process deleted the root and removes its keys.
    if (done.ok) await this.#purge(ref.id);
  }

  /** How many entries `root` has, in all and by hydration state. */
  async countEntries(root: string): Promise<EntryCounts> {
    const counts: EntryCounts = { total: 0, byHydration: { hydrated: 0, stub: 0, pinned: 0 } };
    const ref = await this.#lookupRoot(root);
    if (!ref) return counts;
    for await (const [key, value] of this.#scan([KEY.entry, ref.id])) {
      if (!(value instanceof Uint8Array) || value.length === 0) throw this.#corrupt(key);
      counts.total++;
      counts.byHydration[hydrationOf(value)]++;
    }
    return counts;
  }

  /**
   * Record a conflict (replacing any earlier record of the same path). Only
   * the newest {@link MAX_CONFLICT_COPIES} copies are kept, fewer if their
   * paths are long (a value holds at most 64 KiB).
   */
  async putConflict(c: ConflictEntry): Promise<void> {
    const ref = await this.#rootForWrite(c.root);
    const done = await this.#kv.atomic()
      .check({ key: [KEY.root, c.root], versionstamp: ref.stamp })
      .set(pathKey(KEY.conflict, ref.id, c.path), {
        copies: capCopies(c.copies),
        detectedAt: c.detectedAt,
      })
      .commit();
    if (!done.ok) {
      this.#roots.delete(c.root);
      throw new StateError(`sync root ${c.root} was removed from the state while being written`);
    }
  }

  /** Forget the conflict of `path` in `root`. */
  async deleteConflict(root: string, path: string): Promise<void> {
    const ref = await this.#lookupRoot(root);
    if (ref) await this.#kv.delete(pathKey(KEY.conflict, ref.id, path));
  }

  /** The conflicts of `root` in {@link compareRel} order of their paths, or of every root. */
  async listConflicts(root?: string): Promise<ConflictEntry[]> {
    const names = new Map<bigint, string>();
    let prefix: Deno.KvKey = [KEY.conflict];
    if (root !== undefined) {
      const ref = await this.#lookupRoot(root);
      if (!ref) return [];
      names.set(ref.id, root);
      prefix = [KEY.conflict, ref.id];
    } else {
      for await (const e of this.#kv.list<number>({ prefix: [KEY.root] })) {
        names.set(BigInt(e.value), e.key[1] as string);
      }
    }
    const out: ConflictEntry[] = [];
    for await (const [key, value] of this.#scan(prefix)) {
      const name = names.get(key[1] as bigint);
      if (name === undefined) continue; // a deleted root not yet purged
      const v = value as { copies?: unknown; detectedAt?: unknown };
      if (!Array.isArray(v?.copies) || typeof v.detectedAt !== "number") throw this.#corrupt(key);
      out.push({ root: name, path: relOfKey(key), copies: v.copies, detectedAt: v.detectedAt });
    }
    return out;
  }

  /** A metadata value (e.g. the last sync time), or null. */
  async getMeta<T>(key: string): Promise<T | null> {
    return (await this.#kv.get<T>([KEY.meta, key])).value ?? null;
  }

  /** Store a small metadata value (structured-clone data, at most 64 KiB); null deletes it. */
  async setMeta(key: string, value: unknown): Promise<void> {
    try {
      if (value === null || value === undefined) await this.#kv.delete([KEY.meta, key]);
      else await this.#kv.set([KEY.meta, key], value);
    } catch (err) {
      if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
      throw new StateError(`cannot store state metadata ${key}: ${err.message}`, { cause: err });
    }
  }

  async #lookupRoot(root: string): Promise<RootRef | null> {
    const e = await this.#kv.get<number>([KEY.root, root]);
    if (e.versionstamp === null) {
      this.#roots.delete(root);
      return null;
    }
    const ref = { id: BigInt(e.value), stamp: e.versionstamp };
    this.#roots.set(root, ref);
    return ref;
  }

  async #rootForWrite(root: string): Promise<RootRef> {
    const key = [KEY.root, root];
    if (keySize(key) > 2000) throw new StateError(`sync root name too long for the state: ${root}`);
    for (;;) {
      const known = this.#roots.get(root) ?? await this.#lookupRoot(root);
      if (known) return known;
      const seq = await this.#kv.get<number>(KEY.rootSeq);
      const id = (seq.value ?? 0) + 1;
      const done = await this.#kv.atomic()
        .check(seq)
        .check({ key, versionstamp: null })
        .set(KEY.rootSeq, id)
        .set(key, id)
        .commit();
      if (done.ok) {
        const ref = { id: BigInt(id), stamp: done.versionstamp };
        this.#roots.set(root, ref);
        return ref;
      }
    }
  }

  /** The value at `key` if any, then every key below it, in key order. */
  async *#scan(key: Deno.KvKey): AsyncGenerator<[Deno.KvKey, unknown]> {
    if (key.length >= 2) {
      const self = await this.#kv.get(key);
      if (self.versionstamp !== null) yield [key, self.value];
    }
    for await (const e of this.#kv.list({ prefix: key }, { batchSize: LIST_BATCH })) {
      yield [e.key, e.value];
    }
  }

  /** Remove every key of a deleted root, then its deletion marker. */
  async #purge(id: bigint): Promise<void> {
    for (const prefix of [[KEY.entry, id], [KEY.conflict, id]]) {
      await this.#kv.delete(prefix); // the root path itself, if it had a key
      for (;;) {
        const keys: Mutation[] = [];
        for await (
          const e of this.#kv.list({ prefix }, { limit: PURGE_ROUND, batchSize: LIST_BATCH })
        ) {
          keys.push([e.key, null]);
        }
        if (keys.length === 0) break;
        await writeBatched(this.#kv, keys);
      }
    }
    await this.#kv.delete([KEY.gc, id]);
  }

  async #finishDeletes(): Promise<void> {
    for await (const e of this.#kv.list({ prefix: [KEY.gc] })) {
      await this.#purge(e.key[1] as bigint);
    }
  }

  #decode(rel: string, value: unknown): SyncedEntry {
    try {
      if (!(value instanceof Uint8Array)) throw new IntegrityError("not a byte string");
      return decodeEntry(value);
    } catch (err) {
      throw new IntegrityError(
        `state database ${this.#path}: malformed entry for ${rel}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  #corrupt(key: Deno.KvKey): IntegrityError {
    return new IntegrityError(
      `state database ${this.#path}: malformed value at ${relOfKey(key) || "(root)"}`,
    );
  }
}

/** The newest copies that fit in one value, in their original order. */
function capCopies(copies: ConflictCopy[]): ConflictCopy[] {
  // A V8 string takes at most 2 bytes per code unit; 64 covers the numbers and the framing.
  const size = (c: ConflictCopy) =>
    64 + 2 * (c.path.length + c.device.length + (c.manifestId?.length ?? 0));
  const newestFirst = copies.map((_, i) => i).sort((a, b) => copies[b].time - copies[a].time);
  const keep = new Set<number>();
  let bytes = 0;
  for (const i of newestFirst) {
    if (
      keep.size === MAX_CONFLICT_COPIES ||
      (keep.size > 0 && bytes + size(copies[i]) > MAX_CONFLICT_BYTES)
    ) break;
    keep.add(i);
    bytes += size(copies[i]);
  }
  return copies.filter((_, i) => keep.has(i));
}
