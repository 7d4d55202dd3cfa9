/**
 * The chunk cache on this machine (lib/cache): read throughput of one file
 * through a RangeReader in 128 KiB pieces (the kernel's FUSE read size),
 *
 * - cold: every chunk fetched from an encrypted file:// repository;
 * - disk hits: a fresh cache object over the filled directory, so every chunk
 *   is read from its cache file and verified against its keyed hash;
 * - memory hits: the same reads again;
 *
 * and, same run, the reference: the same bytes read from a plain local file.
 *
 * Run: deno run -A --unstable-kv bench/chunk_cache.ts [--mib 256]
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { syntheticBytes, syntheticRepo } from "../lib/cache/_testing.ts";
import { ChunkCache, RangeReader } from "../lib/cache/mod.ts";

const { values } = parseArgs({ options: { mib: { type: "string", default: "256" } } });
const SIZE = Number(values.mib) * 1024 * 1024;
const PIECE = 128 * 1024;
const SEED = 3;

await using f = await syntheticRepo(SIZE, SEED);
const dir = join(f.tmp, "cache");
const opts = { dir, maxBytes: 4 * SIZE, memoryBytes: SIZE + 64 * 1024 * 1024 };

async function readAll(cache: ChunkCache): Promise<number> {
  const reader = new RangeReader(cache, f.manifest, { path: "/bench" });
  const start = performance.now();
  for (let at = 0; at < SIZE; at += PIECE) await reader.read(at, PIECE);
  reader.close();
  return SIZE / 1e6 / ((performance.now() - start) / 1000);
}

const cold = await ChunkCache.open(f.repo, opts);
const coldRate = await readAll(cold);
const memoryRate = await readAll(cold);
await cold.close();
const warm = await ChunkCache.open(f.repo, { ...opts, memoryBytes: SIZE + 64 * 1024 * 1024 });
const diskRate = await readAll(warm);
await warm.close();

const plain = join(f.tmp, "plain");
await Deno.writeFile(plain, syntheticBytes(SEED, 0, SIZE));
const file = await Deno.open(plain);
const buf = new Uint8Array(PIECE);
const start = performance.now();
for (let at = 0; at < SIZE;) at += (await file.read(buf)) ?? SIZE;
const plainRate = SIZE / 1e6 / ((performance.now() - start) / 1000);
file.close();

const row = (name: string, rate: number) =>
  console.log(
    `${name.padEnd(34)} ${rate.toFixed(0).padStart(6)} MB/s  ${
      (rate / plainRate * 100).toFixed(0).padStart(4)
    } % of plain file`,
  );
console.log(
  `${values.mib} MiB file, ${f.manifest.chunks.length} chunks, ${PIECE / 1024} KiB reads`,
);
row("cold (fetch + decrypt, file://)", coldRate);
row("disk hits (read + verify hash)", diskRate);
row("memory hits", memoryRate);
row("plain local file (reference)", plainRate);
