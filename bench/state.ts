/**
 * The local state layer on this machine: the Deno KV state store (bytes per
 * tracked file, write, scan and lookup rates) and the namespace cache file
 * (save and load time, size). References measured in the same run:
 * - for the store, the plain layout one would write first: key
 *   `["e", <root name>, <rel>]`, the entry as a structured-clone object;
 * - for the cache, rebuilding the same namespace from its commit records as
 *   stored (zstd JSON; decryption and S3 reads not counted, so a real
 *   rebuild is slower), and from records already decoded (the floor).
 *
 * Run: deno run -A --unstable-kv bench/state.ts [--entries 100000] [--paths 100000]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Namespace } from "../lib/repo/namespace.ts";
import {
  type CommitRecord,
  type PathVersion,
  recordFromWire,
  recordToWire,
  type WireRecord,
} from "../lib/repo/record.ts";
import { zstdCompress, zstdDecompress } from "../lib/compress/mod.ts";
import { NamespaceCache } from "../lib/state/namespace_cache.ts";
import { StateStore, type SyncedEntry } from "../lib/state/mod.ts";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "100000" },
    paths: { type: "string", default: "100000" },
  },
});
const ENTRIES = Number(values.entries);
const PATHS = Number(values.paths);
const ROOT = "/home/someone/Documents=/Documents";
const DEVICES = ["3f9a0c27d41e8b65", "b2e7d5019c4a3f86"];

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = rng(42);
function hex(bytes: number): string {
  let s = "";
  for (let i = 0; i < bytes; i++) s += Math.floor(next() * 256).toString(16).padStart(2, "0");
  return s;
}

/** Paths shaped like a photo and document tree: ~45 bytes, 3-4 levels. */
function relOf(i: number): string {
  return `${["Photos", "Work", "Music", "Archive"][i % 4]}/${2015 + (i % 10)}/album-${
    Math.floor(i / 250)
  }/IMG_${String(i).padStart(6, "0")}.jpg`;
}

function entryOf(i: number): SyncedEntry {
  const mtime = 1700000000000 + Math.floor(next() * 3e10);
  return {
    kind: "file",
    size: Math.floor(next() * 8e6),
    mtime,
    mode: 0o644,
    ino: 5_000_000 + i,
    ctime: mtime + Math.floor(next() * 1000),
    manifestId: hex(32),
    oid: hex(32),
    vv: { [DEVICES[0]]: 1 + Math.floor(next() * 5000), [DEVICES[1]]: Math.floor(next() * 900) + 1 },
    hydration: i % 3 === 0 ? "stub" : "hydrated",
    syncedAt: mtime + 86_400_000,
  };
}

async function dbBytes(path: string): Promise<number> {
  let n = 0;
  for (const f of [path, `${path}-wal`]) n += await Deno.stat(f).then((s) => s.size, () => 0);
  return n;
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en-US")}/s`;
}

function shuffled(n: number, count: number): number[] {
  return Array.from({ length: count }, () => Math.floor(next() * n));
}

const dir = await Deno.makeTempDir({ prefix: "tcfs-bench-state-" });
try {
  console.log(
    `state store: ${ENTRIES.toLocaleString("en-US")} entries, root ${JSON.stringify(ROOT)}`,
  );
  const entries = Array.from(
    { length: ENTRIES },
    (_, i): [string, SyncedEntry] => [relOf(i), entryOf(i)],
  );

  // Reference: the plain layout.
  const refPath = `${dir}/plain.kv`;
  const kv = await Deno.openKv(refPath);
  let t = performance.now();
  for (let at = 0; at < ENTRIES; at += 500) {
    const op = kv.atomic();
    for (const [rel, e] of entries.slice(at, at + 500)) op.set(["e", ROOT, rel], e);
    await op.commit();
  }
  const refWriteMs = performance.now() - t;
  t = performance.now();
  let refListed = 0;
  for await (const _ of kv.list({ prefix: ["e", ROOT] }, { batchSize: 1000 })) refListed++;
  const refListMs = performance.now() - t;
  kv.close();
  const refBytes = await dbBytes(refPath);

  // The state store.
  const path = `${dir}/state.kv`;
  let store = await StateStore.open(path);
  t = performance.now();
  for (let at = 0; at < ENTRIES; at += 10_000) {
    await store.writeEntries(ROOT, entries.slice(at, at + 10_000));
  }
  const writeMs = performance.now() - t;
  store.close();
  const bytes = await dbBytes(path);
  store = await StateStore.open(path);

  t = performance.now();
  let listed = 0;
  for await (const _ of store.listEntries(ROOT)) listed++;
  const listMs = performance.now() - t;
  if (listed !== ENTRIES || refListed !== ENTRIES) throw new Error("listing lost entries");

  const lookups = shuffled(ENTRIES, Math.min(ENTRIES, 20_000)).map((i) => relOf(i));
  t = performance.now();
  for (let at = 0; at < lookups.length; at += 1000) {
    const got = await store.getEntries(ROOT, lookups.slice(at, at + 1000));
    if (got.some((e) => e === null)) throw new Error("lookup missed");
  }
  const getManyMs = performance.now() - t;

  const points = lookups.slice(0, 2000);
  t = performance.now();
  for (const rel of points) await store.getEntry(ROOT, rel);
  const pointMs = performance.now() - t;

  t = performance.now();
  const counts = await store.countEntries(ROOT);
  const countMs = performance.now() - t;
  if (counts.total !== ENTRIES) throw new Error("count is wrong");
  store.close();

  console.log(
    `  bytes per entry (db + wal / entries): ${(bytes / ENTRIES).toFixed(1)}` +
      `  (plain layout: ${(refBytes / ENTRIES).toFixed(1)}, ratio ${
        (bytes / refBytes).toFixed(2)
      })`,
  );
  console.log(
    `  writeEntries:        ${rate(ENTRIES, writeMs)}` +
      `  (plain layout, batches of 500: ${rate(ENTRIES, refWriteMs)}, ratio ${
        (refWriteMs / writeMs).toFixed(2)
      })`,
  );
  console.log(
    `  listEntries (all):   ${rate(ENTRIES, listMs)}` +
      `  (plain kv.list: ${rate(ENTRIES, refListMs)}, ratio ${(refListMs / listMs).toFixed(2)})`,
  );
  console.log(`  getEntries x1000:    ${rate(lookups.length, getManyMs)} random keys`);
  console.log(`  getEntry (one each): ${rate(points.length, pointMs)} random keys`);
  console.log(`  countEntries:        ${countMs.toFixed(0)} ms`);

  // The namespace cache.
  console.log(`namespace cache: ${PATHS.toLocaleString("en-US")} paths`);
  const records: CommitRecord[] = [];
  for (let at = 0, seq = 1; at < PATHS; at += 1000, seq++) {
    const versions: PathVersion[] = [];
    for (let i = at; i < Math.min(PATHS, at + 1000); i++) {
      const size = i % 10 === 0 ? 4 * 1048576 : 2000 + Math.floor(next() * 500_000);
      const chunks = i % 10 === 0
        ? Array.from({ length: 4 }, (_, c) => ({ id: hex(32), offset: c * 1048576, size: 1048576 }))
        : [{ id: hex(32), offset: 0, size, pack: { id: hex(32), offset: i * 4096, length: 4096 } }];
      const manifestId = hex(32);
      versions.push({
        path: "/" + relOf(i),
        vv: { [DEVICES[0]]: seq },
        deleted: false,
        kind: "file",
        mode: 0o644,
        mtime: 1700000000000 + i,
        size,
        manifestId,
        manifest: { v: 1, size, oid: hex(32), chunks },
        device: DEVICES[0],
        seq,
        time: 1700000000000 + seq,
      });
    }
    records.push({ device: DEVICES[0], seq, time: 1700000000000 + seq, versions });
  }
  const stored = records.map((r) => {
    const json = new TextEncoder().encode(JSON.stringify(recordToWire(r)));
    return { frame: zstdCompress(json), size: json.length };
  });
  t = performance.now();
  const fromStored = new Namespace();
  for (const { frame, size } of stored) {
    const wire = JSON.parse(new TextDecoder().decode(zstdDecompress(frame, size))) as WireRecord;
    fromStored.apply(recordFromWire(wire, "bench"));
  }
  const storedMs = performance.now() - t;
  t = performance.now();
  const ns = new Namespace();
  for (const r of records) ns.apply(r);
  const rebuildMs = performance.now() - t;

  const cache = new NamespaceCache(`${dir}/repo/namespace.cache`);
  let saveMs = Infinity;
  let loadMs = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    t = performance.now();
    await cache.save(ns);
    saveMs = Math.min(saveMs, performance.now() - t);
    t = performance.now();
    const back = await cache.load();
    loadMs = Math.min(loadMs, performance.now() - t);
    if (
      back?.get("/" + relOf(PATHS - 1))?.manifestId !== ns.get("/" + relOf(PATHS - 1))?.manifestId
    ) {
      throw new Error("cache lost data");
    }
  }
  const size = (await Deno.stat(`${dir}/repo/namespace.cache`)).size;
  console.log(
    `  file size:   ${(size / 1e6).toFixed(1)} MB (${(size / PATHS).toFixed(0)} bytes per path)`,
  );
  console.log(`  save:        ${saveMs.toFixed(0)} ms`);
  console.log(`  load:        ${loadMs.toFixed(0)} ms`);
  console.log(
    `  rebuild from stored records: ${storedMs.toFixed(0)} ms (load is ${
      (storedMs / loadMs).toFixed(2)
    }x faster); from decoded records: ${rebuildMs.toFixed(0)} ms`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
