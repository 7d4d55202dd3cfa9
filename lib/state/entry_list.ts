/**
 * Listing the {@link EntryState} of every entry of a sync root, for
 * `tcfs status`. Reading and decoding 100,000 entries takes about as long as
 * scanning their files on disk, and both are work for a JavaScript thread,
 * so beyond the first few thousand entries the listing runs on a worker
 * thread of its own (which opens the same database file; SQLite serves both)
 * while the caller scans. Entries come
 * back as a few columns (one string of paths, typed arrays of numbers)
 * rather than 100,000 cloned objects. An in-memory database, or a runtime
 * where the worker cannot start, is listed in the calling thread.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { decodeEntryState, type EntryState, HYDRATIONS, KINDS } from "./entry_codec.ts";
import { relOfKey } from "./schema.ts";

/** The worker module. A compiled binary needs `--include lib/state/entry_list_worker.ts`. */
const WORKER_URL = new URL("./entry_list_worker.ts", import.meta.url);

/** Numbers per entry in {@link EntryColumns.nums}: size, mtime, mode, ino, ctime. */
const NUMS = 5;
/** Entries listed in the calling thread before the rest goes to a worker. */
const IN_THREAD_ENTRIES = 5000;
/** Listing workers running at once (a daemon answers many status calls); beyond: in-thread. */
const MAX_WORKERS = 2;
let workersRunning = 0;

/** Entries as columns: cheap to move between threads. */
export interface EntryColumns {
  /** Relative paths, NUL-separated (paths hold no NUL). */
  rels: string;
  /** Per entry: kind index | hydration index << 2. */
  codes: Uint8Array<ArrayBuffer>;
  /** Per entry, {@link NUMS} numbers: size, mtime, mode, ino, ctime. */
  nums: Float64Array<ArrayBuffer>;
  /** Symlink targets by entry index. */
  targets: [number, string][];
}

/** A request to the worker. */
export interface ListRequest {
  /** The database file. */
  path: string;
  /** Key prefix of the root's entries. */
  prefix: Deno.KvKey;
  /** List only the entries after this key. */
  after: Deno.KvKey;
}

/** The worker's messages: ready for a request, then the result or why there is none. */
export type ListReply =
  | { op: "ready" }
  | { op: "done"; columns: EntryColumns }
  | { op: "failed"; error: string; integrity: boolean };

/**
 * Read the entries under `prefix` of `kv` (the database at `path`, named in
 * errors) as columns: the entry at `prefix` itself, then everything below it.
 */
export async function collectColumns(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  path: string,
  range: { after?: Deno.KvKey; limit?: number } = {},
): Promise<EntryColumns> {
  const rels: string[] = [];
  let codes = new Uint8Array(1024);
  let nums = new Float64Array(1024 * NUMS);
  const targets: [number, string][] = [];
  const add = (key: Deno.KvKey, value: unknown) => {
    const rel = relOfKey(key);
    let e: EntryState;
    try {
      if (!(value instanceof Uint8Array)) throw new IntegrityError("not a byte string");
      e = decodeEntryState(value);
    } catch (err) {
      throw new IntegrityError(
        `state database ${path}: malformed entry for ${rel}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const i = rels.length;
    if (i === codes.length) {
      codes = grow(codes, new Uint8Array(2 * codes.length));
      nums = grow(nums, new Float64Array(2 * nums.length));
    }
    rels.push(rel);
    codes[i] = KINDS.indexOf(e.kind) | (HYDRATIONS.indexOf(e.hydration) << 2);
    nums.set([e.size, e.mtime, e.mode, e.ino, e.ctime], i * NUMS);
    if (e.target !== undefined) targets.push([i, e.target]);
  };
  if (prefix.length >= 2 && range.after === undefined) {
    const self = await kv.get(prefix);
    if (self.versionstamp !== null) add(self.key, self.value);
  }
  const after = range.after;
  const selector = after === undefined ? { prefix } : { prefix, start: after };
  for await (const e of kv.list(selector, { batchSize: 1000, limit: range.limit })) {
    // `start` is inclusive: the entry it names was read already.
    if (after === undefined || rels.length > 0 || !sameKey(e.key, after)) add(e.key, e.value);
  }
  const n = rels.length;
  return {
    rels: rels.join("\0"),
    codes: codes.slice(0, n),
    nums: nums.slice(0, n * NUMS),
    targets,
  };
}

/** The entries of `columns` by relative path. */
export function columnsToMap(columns: EntryColumns): Map<string, EntryState> {
  const out = new Map<string, EntryState>();
  const { codes, nums } = columns;
  if (codes.length === 0) return out;
  const rels = columns.rels.split("\0");
  for (let i = 0; i < rels.length; i++) {
    const at = i * NUMS;
    out.set(rels[i], {
      kind: KINDS[codes[i] & 3],
      hydration: HYDRATIONS[codes[i] >> 2],
      size: nums[at],
      mtime: nums[at + 1],
      mode: nums[at + 2],
      ino: nums[at + 3],
      ctime: nums[at + 4],
    });
  }
  for (const [i, target] of columns.targets) out.get(rels[i])!.target = target;
  return out;
}

/**
 * The entry states under `prefix` in the database `kv`, stored at `path`:
 * listed on a worker thread when `path` is a file, else in this thread.
 */
export async function listEntryStates(
  kv: Deno.Kv,
  path: string,
  prefix: Deno.KvKey,
): Promise<Map<string, EntryState>> {
  // A small root is listed here: starting a worker would cost more than it saves.
  const first = await collectColumns(kv, prefix, path, { limit: IN_THREAD_ENTRIES });
  const out = columnsToMap(first);
  if (first.codes.length < IN_THREAD_ENTRIES) return out;
  const after = [...prefix, ...lastRel(first).split("/")];
  let rest: EntryColumns | null = null;
  if (path !== ":memory:" && workersRunning < MAX_WORKERS) {
    workersRunning++;
    try {
      rest = await listOnWorker({ path, prefix, after });
    } finally {
      workersRunning--;
    }
  }
  rest ??= await collectColumns(kv, prefix, path, { after });
  for (const [rel, e] of columnsToMap(rest)) out.set(rel, e);
  return out;
}

/** The path of the last entry in `columns` (which holds at least one). */
function lastRel(columns: EntryColumns): string {
  return columns.rels.slice(columns.rels.lastIndexOf("\0") + 1);
}

function sameKey(a: Deno.KvKey, b: Deno.KvKey): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/** List on a worker thread; `null` when the worker cannot start here. */
function listOnWorker(request: ListRequest): Promise<EntryColumns | null> {
  // Started from a one-line module that imports the real one by a computed specifier, as the
  // chunk encoder pool does: `deno test` would type-check the graph of a worker it starts.
  const entry = `const m = ${JSON.stringify(WORKER_URL.href)}; import(m).catch((e) => ` +
    `postMessage({ op: "failed", error: String(e), integrity: false }));`;
  let worker: Worker;
  try {
    worker = new Worker(`data:text/javascript,${encodeURIComponent(entry)}`, { type: "module" });
  } catch {
    return Promise.resolve(null);
  }
  return new Promise<EntryColumns | null>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<ListReply>) => {
      const reply = e.data;
      if (reply.op === "ready") {
        worker.postMessage(request);
        return;
      }
      if (reply.op === "done") resolve(reply.columns);
      else if (reply.integrity) reject(new IntegrityError(reply.error));
      // Anything else (the module did not load, the database did not open there): list here,
      // where a real problem shows up with its own error.
      else resolve(null);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      resolve(null);
    };
  }).finally(() => worker.terminate());
}

function grow<T extends Uint8Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
