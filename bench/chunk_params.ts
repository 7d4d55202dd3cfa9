/**
 * Chooses the FastCDC parameters: how many new chunk objects does a re-push
 * upload after 1 MiB of a 256 MiB file is overwritten in place, and how many
 * chunks (S3 requests) per MiB does each candidate cost?
 *
 * Run: deno run -A bench/chunk_params.ts [--size-mib 256] [--edits 1000] [--seed 1]
 *      [--candidates "min/avg/max/nc[,nc];..." in KiB]
 *
 * Method: chunk a pseudo-random file, hash every chunk (BLAKE3) into the
 * "bucket". For each edit (1 MiB of fresh random bytes written at a random
 * offset, plus the exact middle), re-chunk from the start of the original
 * chunk holding the edit's first byte until a cut lands on an original
 * boundary past the edit (from there on the chunks are the original ones),
 * and count the new chunks whose hash is not in the bucket.
 *
 * Results (2 cores, shared; Deno 2.9.6; 256 MiB, seed 1, 1000 random edits
 * plus 2 middle ones; "new" = new chunk objects per edit, ">3" = edits that
 * made more than 3; "middle" = the worse of the two middle edits; MB/s is
 * the chunking speed of that run, noisy on a shared machine):
 *
 * | min/avg/max      | nc | chunks/MiB | mean KiB | new: max | mean | p99 |  >3 | middle | MB/s |
 * | ---------------- | -- | ---------- | -------- | -------- | ---- | --- | --- | ------ | ---- |
 * | 256Ki/1Mi/4Mi    | 1  |      0.813 |     1260 |        5 | 2.13 |   4 |  48 |      3 |  853 |
 * | 256Ki/1Mi/4Mi    | 2  |      0.883 |     1160 |       13 | 2.95 |   9 | 236 |      4 | 1392 |
 * | 256Ki/1Mi/4Mi    | 3  |      0.910 |     1125 |       28 | 4.42 |  23 | 353 |      2 |  423 |
 * | 512Ki/1Mi/4Mi    | 1  |      0.723 |     1417 |        7 | 2.23 |   5 |  90 |      4 | 1712 |
 * | 512Ki/1Mi/4Mi    | 2  |      0.859 |     1192 |       13 | 2.99 |  10 | 251 |      4 | 1946 |
 * | 512Ki/1Mi/4Mi    | 3  |      0.895 |     1145 |       33 | 5.21 |  28 | 361 |      2 | 1994 |
 * | 512Ki/2Mi/8Mi    | 1  |      0.402 |     2545 |        6 | 1.71 |   4 |  31 |      2 | 1358 |
 * | 512Ki/2Mi/8Mi    | 2  |      0.422 |     2427 |        9 | 2.08 |   8 | 131 |      1 | 1377 |
 * | 512Ki/2Mi/8Mi    | 3  |      0.469 |     2185 |       36 | 3.63 |  34 | 227 |      1 | 1467 |
 * | 1Mi/2Mi/8Mi      | 1  |      0.379 |     2703 |        6 | 1.70 |   4 |  35 |      2 | 1738 |
 * | 1Mi/2Mi/8Mi      | 2  |      0.406 |     2521 |        9 | 2.09 |   7 | 154 |      1 | 1039 |
 * | 1Mi/2Mi/8Mi      | 3  |      0.465 |     2203 |       34 | 3.06 |  27 | 216 |      1 | 1801 |
 * | 512Ki/1Mi/4Mi    | 0  |      0.688 |     1489 |        5 | 1.90 |   4 |  28 |      2 | 1656 |
 * | 512Ki/1Mi/16Mi   | 0  |      0.672 |     1524 |        5 | 1.80 |   4 |  15 |      2 | 1828 |
 * | 1Mi/2Mi/8Mi      | 0  |      0.328 |     3121 |        5 | 1.47 |   4 |  12 |      2 | 1172 |
 * | 512Ki/2Mi/16Mi   | 0  |      0.379 |     2703 |        4 | 1.46 |   3 |   2 |      2 | 1331 |
 * | 768Ki/2Mi/16Mi   | 0  |      0.355 |     2881 |        3 | 1.42 |   3 |   0 |      2 | 1355 |
 * | 1Mi/2Mi/16Mi     | 0  |      0.324 |     3158 |        3 | 1.42 |   3 |   0 |      2 | 1637 |
 *
 * Confirmation run (seed 2, 3000 random edits): 1Mi/2Mi/16Mi nc0: max 4,
 * mean 1.41, p99 3, 2 edits over 3 (0.07%), middle 1; 768Ki/2Mi/16Mi nc0:
 * 5 over 3; 1Mi/2Mi/16Mi nc1: 121 over 3, max 6.
 *
 * Findings: normalization hurts edit locality (a boundary cut with the
 * easy mask after avgSize is missed when an edit moves the chunk start so
 * that the same position falls before avgSize, and the chains take chunks
 * to meet again): nc 2-3 cost 2-10x more new chunks. Forced cuts at maxSize
 * do not re-synchronise either, so maxSize = 4x avgSize leaves ~1% of edits
 * at 4-5 new chunks; 8x removes them. With 1 MiB average chunks, 1 MiB of
 * fresh data alone holds ~1 cut point, and about 1-3% of edits exceed 3 new
 * chunks whatever the other parameters. Chosen default: 1Mi/2Mi/16Mi, nc 0.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Chunker, type ChunkerParams, validateChunkerParams } from "../lib/chunking/fastcdc.ts";
import { blake3, toHex } from "../lib/hash/blake3.ts";
import { Prng, randomBytes } from "./data.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** The candidates measured by default, as "min/avg/max/normalization" in KiB. */
const CANDIDATES = [
  "256/1024/4096/1,2,3",
  "512/1024/4096/1,2,3",
  "512/2048/8192/1,2,3",
  "1024/2048/8192/1,2,3",
  "512/1024/4096/0",
  "512/1024/16384/0",
  "1024/2048/8192/0",
  "512/2048/16384/0",
  "768/2048/16384/0",
  "1024/2048/16384/0",
].join(";");

/** Parse "min/avg/max/nc[,nc...];..." (sizes in KiB) into parameter sets. */
function parseCandidates(spec: string): ChunkerParams[] {
  const out: ChunkerParams[] = [];
  for (const item of spec.split(";")) {
    const [min, avg, max, ncs] = item.split("/");
    for (const nc of ncs.split(",")) {
      out.push({
        minSize: Number(min) * KiB,
        avgSize: Number(avg) * KiB,
        maxSize: Number(max) * KiB,
        normalization: Number(nc),
      });
    }
  }
  return out;
}

/** Cut offsets (chunk ends) of `data[from..]`, stopping early when `stop` says so. */
function boundaries(
  data: Uint8Array,
  from: number,
  params: ChunkerParams,
  stop: (cut: number) => boolean = () => false,
): number[] {
  const chunker = new Chunker(params);
  const cuts: number[] = [];
  let pos = from;
  while (pos < data.length) {
    const cut = chunker.scan(data, pos, data.length);
    pos = cut < 0 ? data.length : cut;
    cuts.push(pos);
    if (stop(pos)) break;
  }
  return cuts;
}

interface Result {
  params: ChunkerParams;
  chunksPerMiB: number;
  meanChunkKiB: number;
  newMax: number;
  newMean: number;
  newP99: number;
  over3: number;
  middle: number;
  mbps: number;
}

function measure(data: Uint8Array, params: ChunkerParams, edits: number[], seed: number): Result {
  validateChunkerParams(params);
  const t0 = performance.now();
  const ends = boundaries(data, 0, params);
  const mbps = data.length / 1e6 / ((performance.now() - t0) / 1000);
  const starts = [0, ...ends.slice(0, -1)];
  const bucket = new Set<string>();
  for (let i = 0; i < ends.length; i++) {
    bucket.add(toHex(blake3(data.subarray(starts[i], ends[i]))));
  }
  const endSet = new Set(ends);

  const counts: number[] = [];
  const saved = new Uint8Array(MiB);
  const patch = new Uint8Array(MiB);
  for (let e = 0; e < edits.length; e++) {
    const at = edits[e];
    const editEnd = at + MiB;
    saved.set(data.subarray(at, editEnd));
    new Prng(seed * 7919 + e).fill(patch);
    data.set(patch, at);
    // The original chunk holding `at` starts at the last boundary <= at.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    const from = starts[lo];
    const cuts = boundaries(data, from, params, (cut) => cut >= editEnd && endSet.has(cut));
    let fresh = 0;
    let prev = from;
    for (const cut of cuts) {
      if (!bucket.has(toHex(blake3(data.subarray(prev, cut))))) fresh++;
      prev = cut;
    }
    counts.push(fresh);
    data.set(saved, at);
  }
  const random = counts.slice(0, -2).sort((a, b) => a - b);
  const p99 = random[Math.min(random.length - 1, Math.ceil(random.length * 0.99) - 1)];
  return {
    params,
    chunksPerMiB: ends.length / (data.length / MiB),
    meanChunkKiB: data.length / ends.length / KiB,
    newMax: Math.max(...counts),
    newMean: random.reduce((a, b) => a + b, 0) / random.length,
    newP99: p99,
    over3: random.filter((n) => n > 3).length,
    middle: Math.max(...counts.slice(-2)),
    mbps,
  };
}

function size(n: number): string {
  return n >= MiB ? `${n / MiB}Mi` : `${n / KiB}Ki`;
}

function main(): void {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "size-mib": { type: "string", default: "256" },
      edits: { type: "string", default: "1000" },
      seed: { type: "string", default: "1" },
      candidates: { type: "string", default: CANDIDATES },
    },
  });
  const total = Number(values["size-mib"]) * MiB;
  const nEdits = Number(values.edits);
  const seed = Number(values.seed);
  console.log(`file ${total / MiB} MiB pseudo-random, ${nEdits} random 1 MiB overwrites + middle`);
  const data = randomBytes(seed, total);
  const prng = new Prng(seed + 1);
  const edits: number[] = [];
  for (let i = 0; i < nEdits; i++) edits.push(prng.below(total - MiB + 1));
  edits.push(total / 2 - MiB / 2, total / 2); // centred on the middle, and starting there

  console.log(
    "| min/avg/max      | nc | chunks/MiB | mean KiB | new: max | mean | p99 |  >3 | middle | MB/s |",
  );
  console.log(
    "| ---------------- | -- | ---------- | -------- | -------- | ---- | --- | --- | ------ | ---- |",
  );
  for (const params of parseCandidates(values.candidates)) {
    const r = measure(data, params, edits, seed);
    const name = `${size(params.minSize)}/${size(params.avgSize)}/${size(params.maxSize)}`;
    console.log(
      `| ${name.padEnd(16)} | ${params.normalization}  | ${
        r.chunksPerMiB.toFixed(3).padStart(10)
      } | ${r.meanChunkKiB.toFixed(0).padStart(8)} | ${String(r.newMax).padStart(8)} | ${
        r.newMean.toFixed(2).padStart(4)
      } | ${String(r.newP99).padStart(3)} | ${String(r.over3).padStart(3)} | ${
        String(r.middle).padStart(6)
      } | ${r.mbps.toFixed(0).padStart(4)} |`,
    );
  }
}

if (import.meta.main) main();
