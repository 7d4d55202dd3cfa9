/**
 * Namespace snapshots: the merged namespace at a set of per-device cursors,
 * stored so that a new device reads one snapshot plus the records written
 * after it instead of every record (docs/FORMAT.md, "Snapshots"). A snapshot
 * is a folder `snapshots/<name>/` of `part-<n>` objects (the heads, as
 * pseudo-records), `dirs-<n>` objects (the ids of its listings) and a `head`
 * object written last; a folder without a head
 * is incomplete and ignored. The name puts newer snapshots first in key
 * order and binds the cursors, so two compactors at the same cursors write
 * the same keys with the same plaintext (put-if-absent makes that safe).
 *
 * @module
 */

import { IntegrityError, NotFoundError } from "../errors.ts";
import { mapLimit, type ObjectStore } from "../storage/mod.ts";
import type { Codec } from "./codec.ts";
import { SNAPSHOTS_PREFIX } from "./layout.ts";
import type { Namespace, NamespaceState } from "./namespace.ts";
import { type CommitRecord, recordFromWire, recordToWire, type WireRecord } from "./record.ts";

/** Paths per part object: bounds the size of one object (and of one JSON string). */
export const PATHS_PER_PART = 5000;

/** Listing ids per `dirs-<n>` object. */
export const LISTINGS_PER_PART = 20000;

/** Digits of the inverted cursor total that starts a snapshot name. */
const TOTAL_DIGITS = 16;
const TOTAL_MAX = 10 ** TOTAL_DIGITS - 1;
const NAME = /^(\d{16})-([0-9a-f]{32})$/;
const DEVICE = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Concurrent part reads when loading a snapshot. */
const PART_READ_CONCURRENCY = 8;

/** What a snapshot's `head` object says. */
export interface SnapshotHead {
  /** Folder name under `snapshots/`. */
  name: string;
  /** Per device, the highest sequence number the snapshot covers. */
  cursors: Record<string, number>;
  /** Number of `part-<n>` objects. */
  parts: number;
  /** Number of paths (with any version, live or deleted). */
  paths: number;
  /** Listing id of the root directory (docs/FORMAT.md, "Listings"). */
  root: string;
  /** Number of `dirs-<n>` objects (the ids of every listing in the tree). */
  dirParts: number;
  /** When the snapshot was written (ms since the epoch). */
  time: number;
}

/** Stored JSON of a head. */
interface WireSnapshotHead {
  v: 1;
  cur: Record<string, number>;
  n: number;
  p: number;
  root: string;
  nd: number;
  t: number;
}

/** Stored JSON of a part: the heads of its paths, grouped by the record that wrote them. */
interface WireSnapshotPart {
  v: 1;
  r: WireRecord[];
}

/** Stored JSON of a `dirs-<n>` object: listing ids. */
interface WireSnapshotDirs {
  v: 1;
  d: string[];
}

/** The cursors as canonical JSON: devices in ascending order. */
function canonicalCursors(cursors: Record<string, number>): string {
  const sorted = Object.keys(cursors).sort().map((d) => [d, cursors[d]]);
  return JSON.stringify(Object.fromEntries(sorted));
}

/**
 * The folder name of the snapshot at `cursors`: 16 digits of
 * `9999999999999999 - sum of cursors` (newest first in key order), `-`, and
 * the first 32 hex digits of the metadata id of the canonical cursors.
 */
export function snapshotName(codec: Codec, cursors: Record<string, number>): string {
  const total = Object.values(cursors).reduce((a, b) => a + b, 0);
  const inverted = String(TOTAL_MAX - total).padStart(TOTAL_DIGITS, "0");
  const id = codec.metaId(new TextEncoder().encode(canonicalCursors(cursors))).slice(0, 32);
  return `${inverted}-${id}`;
}

/** Key of a snapshot's head object. */
export function snapshotHeadKey(name: string): string {
  return `${SNAPSHOTS_PREFIX}${name}/head`;
}

/** Key of a snapshot's part `index` (6 digits). */
export function snapshotPartKey(name: string, index: number): string {
  return `${SNAPSHOTS_PREFIX}${name}/part-${String(index).padStart(6, "0")}`;
}

/** Key of a snapshot's listing-id object `index` (6 digits). */
export function snapshotDirsKey(name: string, index: number): string {
  return `${SNAPSHOTS_PREFIX}${name}/dirs-${String(index).padStart(6, "0")}`;
}

/** The snapshot folder name in a key under `snapshots/`, or `null`. */
export function snapshotNameOf(key: string): string | null {
  const name = key.slice(SNAPSHOTS_PREFIX.length).split("/")[0];
  return key.startsWith(SNAPSHOTS_PREFIX) && NAME.test(name) ? name : null;
}

/**
 * Split a namespace state into part contents: paths in ascending order,
 * {@link PATHS_PER_PART} per part; in each part the heads are grouped into
 * one pseudo-record per (device, seq), sorted, entries sorted by path. The
 * result depends only on the state, so equal states give equal parts.
 */
export function snapshotParts(state: NamespaceState): CommitRecord[][] {
  const heads = state.heads.filter((h) => h.length > 0)
    .sort((a, b) => (a[0].path < b[0].path ? -1 : a[0].path > b[0].path ? 1 : 0));
  const parts: CommitRecord[][] = [];
  for (let i = 0; i < heads.length; i += PATHS_PER_PART) {
    const byRecord = new Map<string, CommitRecord>();
    for (const path of heads.slice(i, i + PATHS_PER_PART)) {
      for (const v of path) {
        const id = `${v.device}/${String(v.seq).padStart(16, "0")}`;
        let r = byRecord.get(id);
        if (!r) byRecord.set(id, r = { device: v.device, seq: v.seq, time: v.time, versions: [] });
        r.versions.push(v);
      }
    }
    parts.push([...byRecord.keys()].sort().map((k) => byRecord.get(k)!));
  }
  return parts;
}

/** The stored form of part `index` of snapshot `name`. */
export async function encodeSnapshotPart(
  codec: Codec,
  name: string,
  index: number,
  records: CommitRecord[],
): Promise<Uint8Array> {
  const wire: WireSnapshotPart = { v: 1, r: records.map(recordToWire) };
  return await codec.encodeMeta(snapshotPartKey(name, index), wire);
}

/** The stored form of `dirs-<index>` of snapshot `name`: listing ids. */
export async function encodeSnapshotDirs(
  codec: Codec,
  name: string,
  index: number,
  ids: string[],
): Promise<Uint8Array> {
  const wire: WireSnapshotDirs = { v: 1, d: ids };
  return await codec.encodeMeta(snapshotDirsKey(name, index), wire);
}

/** The stored form of a snapshot's head. */
export async function encodeSnapshotHead(codec: Codec, head: SnapshotHead): Promise<Uint8Array> {
  const wire: WireSnapshotHead = {
    v: 1,
    cur: head.cursors,
    n: head.parts,
    p: head.paths,
    root: head.root,
    nd: head.dirParts,
    t: head.time,
  };
  return await codec.encodeMeta(snapshotHeadKey(head.name), wire);
}

/** Names of snapshot folders, newest (highest cursor total) first; at most `limit`. */
export async function listSnapshotNames(store: ObjectStore, limit = 1000): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.listPage(SNAPSHOTS_PREFIX, {
      delimiter: "/",
      pageSize: Math.min(limit, 1000),
      token,
    });
    for (const p of page.prefixes) {
      const name = snapshotNameOf(p);
      if (name) names.push(name);
    }
    token = page.nextToken;
  } while (token !== undefined && names.length < limit);
  return names.slice(0, limit);
}

/** Read and check a snapshot's head; `null` when it has none (incomplete or removed). */
export async function readSnapshotHead(
  store: ObjectStore,
  codec: Codec,
  name: string,
): Promise<SnapshotHead | null> {
  const key = snapshotHeadKey(name);
  let body: Uint8Array;
  try {
    body = await store.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  const w = await codec.decodeMeta<WireSnapshotHead>(key, body);
  const bad = (why: string) => new IntegrityError(`${key}: malformed snapshot head: ${why}`);
  if (w?.v !== 1) throw bad(`unknown snapshot version ${w?.v}`);
  for (const n of [w.n, w.p, w.nd, w.t]) {
    if (!Number.isSafeInteger(n) || n < 0) throw bad("bad count or time");
  }
  if (typeof w.root !== "string" || !HEX64.test(w.root)) throw bad("bad root listing");
  if (typeof w.cur !== "object" || w.cur === null) throw bad("bad cursors");
  for (const [d, seq] of Object.entries(w.cur)) {
    if (!DEVICE.test(d) || !Number.isSafeInteger(seq) || seq < 1) throw bad(`bad cursor ${d}`);
  }
  if (snapshotName(codec, w.cur) !== name) throw bad("cursors do not match the snapshot's name");
  return {
    name,
    cursors: w.cur,
    parts: w.n,
    paths: w.p,
    root: w.root,
    dirParts: w.nd,
    time: w.t,
  };
}

/**
 * Every record of a snapshot: its pseudo-records, then one empty record per
 * device carrying the cursor. Applying them all to a namespace gives the
 * snapshot's namespace. Throws NotFoundError when a part is missing.
 */
export async function readSnapshotRecords(
  store: ObjectStore,
  codec: Codec,
  head: SnapshotHead,
): Promise<CommitRecord[]> {
  const records = await readParts<WireSnapshotPart, CommitRecord>(
    store,
    codec,
    head.parts,
    (i) => snapshotPartKey(head.name, i),
    (w, key) => {
      if (w?.v !== 1 || !Array.isArray(w.r)) {
        throw new IntegrityError(`${key}: malformed snapshot part`);
      }
      return w.r.map((r) => checkCovered(recordFromWire(r, key), head, key));
    },
  );
  const cursors = Object.entries(head.cursors)
    .map(([device, seq]): CommitRecord => ({ device, seq, time: head.time, versions: [] }));
  return [...records, ...cursors];
}

/** The ids of every listing in a snapshot's tree. Throws NotFoundError when a part is missing. */
export async function readSnapshotListingIds(
  store: ObjectStore,
  codec: Codec,
  head: SnapshotHead,
): Promise<string[]> {
  return await readParts<WireSnapshotDirs, string>(
    store,
    codec,
    head.dirParts,
    (i) => snapshotDirsKey(head.name, i),
    (w, key) => {
      if (w?.v !== 1 || !Array.isArray(w.d) || !w.d.every((id) => HEX64.test(id))) {
        throw new IntegrityError(`${key}: malformed snapshot listing ids`);
      }
      return w.d;
    },
  );
}

/**
 * Read and open the `count` parts at `keyOf(0 .. count - 1)`, a few at a
 * time, and concatenate what `take` makes of each, in part order.
 */
async function readParts<W, T>(
  store: ObjectStore,
  codec: Codec,
  count: number,
  keyOf: (i: number) => string,
  take: (wire: W, key: string) => T[],
): Promise<T[]> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  const parts = await mapLimit(indexes, PART_READ_CONCURRENCY, async (i) => {
    const key = keyOf(i);
    return take(await codec.decodeMeta<W>(key, await store.get(key)), key);
  });
  return parts.flat();
}

function checkCovered(r: CommitRecord, head: SnapshotHead, key: string): CommitRecord {
  if (r.seq > (head.cursors[r.device] ?? 0)) {
    throw new IntegrityError(`${key}: holds ${r.device}/${r.seq}, beyond the snapshot's cursors`);
  }
  return r;
}

/**
 * Apply the newest complete snapshot to `ns` (meant for an empty namespace)
 * and return its head, or `null` when there is none. A snapshot whose parts
 * vanish while it is read (removed by retention) is skipped for the next.
 */
export async function applyNewestSnapshot(
  store: ObjectStore,
  codec: Codec,
  ns: Namespace,
): Promise<SnapshotHead | null> {
  for (const name of await listSnapshotNames(store, 4)) {
    const head = await readSnapshotHead(store, codec, name);
    if (!head) continue;
    let records: CommitRecord[];
    try {
      records = await readSnapshotRecords(store, codec, head);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    for (const r of records) ns.apply(r);
    return head;
  }
  return null;
}
