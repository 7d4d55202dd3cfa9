/**
 * Throughput of the push pipeline (read, FastCDC, whole-file id, chunk ids,
 * zstd, AES-GCM sealing) on 1 GiB of mixed data, with references
 * measured on the same file in the same run: `zstd -3 -T2` and `b3sum`.
 *
 * Run: `deno run -A bench/pipeline.ts [--size-mib 1024] [--runs 2] [--workers N]`
 *
 * Each round runs every case once (so that load elsewhere on a shared machine
 * spreads over all of them) and each case keeps its best round. Printed per
 * case: MB/s (10^6 bytes of input per second of wall time), CPU seconds of
 * the whole process per GB of input (all threads: the work, whatever the
 * load), and the process's peak RSS sampled during the case. The cases:
 * - serial: the path push took before the encoder pool, one chunk at a time
 *   in one thread (`file.readable`, `Codec.chunkId`, `Codec.encodeChunk`);
 * - in-thread: the current ChunkWriter with `encodeWorkers: 0`;
 * - pooled: the current ChunkWriter with `--workers` workers (default: one
 *   per core), fed as push feeds it, the whole-file id made as the
 *   repository's `oid` scheme says (new encrypted repositories: from the
 *   chunk list, so content is hashed once);
 * - push(): the real `push()` of the file into a repository whose store
 *   keeps metadata in memory and discards chunk bodies (no storage cost);
 * - all known: pooled again with every chunk already stored (a re-read of a
 *   changed file: ids are computed, nothing is compressed or sealed).
 *
 * None of them writes anything: what is measured is the CPU pipeline. The data is
 * bench/data.ts's mixed data (seed 1), written to a temporary file that is
 * removed at the end; it is read from the page cache.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { chunkStream } from "../lib/chunking/mod.ts";
import { generateIdentity } from "../lib/crypto/mod.ts";
import { push } from "../lib/engine/push.ts";
import { NotFoundError } from "../lib/errors.ts";
import { Logger } from "../lib/log/mod.ts";
import { type ChunkLocation, type ChunkRef, ChunkWriter, Repository } from "../lib/repo/mod.ts";
import type {
  ByteRange,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
} from "../lib/storage/mod.ts";
import { mixedData } from "./data.ts";

const MIB = 1024 * 1024;
const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "2" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency ?? 2) },
  },
});
const SIZE = Number(args["size-mib"]) * MIB;
const RUNS = Math.max(1, Number(args.runs));
const WORKERS = Math.max(0, Number(args.workers));

/** A store that keeps metadata in memory and drops chunk and pack bodies (remembering sizes). */
class DiscardStore implements ObjectStore {
  readonly url = "memory://discard";
  readonly #objects = new Map<string, Uint8Array>();
  readonly #sizes = new Map<string, number>();
  /** Bytes of dropped bodies. */
  dropped = 0;

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const body = this.#objects.get(key);
    if (body === undefined) return Promise.reject(new NotFoundError(`${key}: not found`));
    return Promise.resolve(range ? body.slice(range.offset, range.offset + range.length) : body);
  }

  put(key: string, body: Uint8Array): Promise<void> {
    this.#sizes.set(key, body.length);
    if (key.startsWith("data/") || key.startsWith("packs/")) this.dropped += body.length;
    else this.#objects.set(key, body.slice());
    return Promise.resolve();
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    if (this.#sizes.has(key)) return false;
    await this.put(key, body);
    return true;
  }

  head(key: string): Promise<ObjectInfo | null> {
    const size = this.#sizes.get(key);
    return Promise.resolve(size === undefined ? null : { key, size });
  }

  listPage(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
    for (const key of [...this.#sizes.keys()].sort()) {
      if (!key.startsWith(prefix) || (opts.startAfter && key <= opts.startAfter)) continue;
      const cut = opts.delimiter ? key.indexOf(opts.delimiter, prefix.length) : -1;
      if (cut >= 0) prefixes.add(key.slice(0, cut + opts.delimiter!.length));
      else objects.push({ key, size: this.#sizes.get(key)! });
    }
    return Promise.resolve({ objects, prefixes: [...prefixes] });
  }

  delete(key: string): Promise<void> {
    this.#sizes.delete(key);
    this.#objects.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Run {
  ms: number;
  /** CPU time of the whole process (all threads), in ms. */
  cpuMs: number;
  stored: number;
  dedupHits: number;
  encodedBytes: number;
  peakRss: number;
}

/** Sample resident memory while `op` runs, to show the pipeline's memory stays bounded. */
async function measured(op: () => Promise<Omit<Run, "ms" | "cpuMs" | "peakRss">>): Promise<Run> {
  let peakRss = Deno.memoryUsage().rss;
  const timer = setInterval(() => peakRss = Math.max(peakRss, Deno.memoryUsage().rss), 20);
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    const r = await op();
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { ...r, ms, cpuMs: (used.user + used.system) / 1000, peakRss };
  } finally {
    clearInterval(timer);
  }
}

/** The pre-pool path: one thread, one chunk at a time. */
async function serial(repo: Repository, path: string): Promise<Run> {
  return await measured(async () => {
    const codec = repo.codec;
    const known = new Set<string>();
    const hasher = codec.fileHasher();
    let stored = 0, dedupHits = 0, encodedBytes = 0;
    using file = await Deno.open(path);
    for await (const chunk of chunkStream(file.readable, repo.config.chunker)) {
      hasher.update(chunk);
      const id = codec.chunkId(chunk);
      if (known.has(id)) {
        dedupHits++;
        continue;
      }
      known.add(id);
      encodedBytes += (await codec.encodeChunk(id, chunk)).length;
      stored++;
    }
    hasher.digest();
    return { stored, dedupHits, encodedBytes };
  });
}

/** The current ChunkWriter, fed the way push's fileVersion feeds it. */
async function pipeline(
  repo: Repository,
  path: string,
  workers: number,
  known = new Map<string, ChunkLocation>(),
): Promise<Run> {
  const store = new DiscardStore();
  const writer = new ChunkWriter(store, repo.codec, {
    known,
    concurrency: 4,
    packThreshold: repo.config.packThreshold,
    packTarget: repo.config.packTarget,
    encodeWorkers: workers,
  });
  try {
    return await measured(async () => {
      // The whole-file id as storeContent makes it, by the repository's `oid` scheme.
      const hasher = repo.codec.oidFromChunks ? null : repo.codec.fileHasher();
      const refs: Promise<ChunkRef>[] = [];
      let size = 0;
      using file = await Deno.open(path);
      for await (const chunk of chunkStream(readPieces(file), repo.config.chunker)) {
        const length = chunk.length;
        hasher?.update(chunk);
        refs.push((await writer.enqueue(chunk, size, { transfer: true })).ref);
        size += length;
      }
      const chunks = await Promise.all(refs);
      if (hasher) hasher.digest();
      else repo.codec.chunkListId(chunks);
      await writer.flush();
      return {
        stored: writer.stats.chunksStored,
        dedupHits: writer.stats.dedupHits,
        encodedBytes: writer.stats.bytesUploaded,
      };
    });
  } finally {
    await writer.close();
  }
}

async function* readPieces(file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  for (;;) {
    const piece = new Uint8Array(MIB);
    const n = await file.read(piece);
    if (n === null) return;
    yield n === piece.length ? piece : piece.subarray(0, n);
  }
}

/** The real push() into a fresh repository on a DiscardStore. */
async function pushRun(path: string): Promise<Run> {
  const store = new DiscardStore();
  const repo = await newRepo(store);
  return await measured(async () => {
    const s = await push(repo, {
      sources: [path],
      to: "/bench",
      device: "00000000000000be",
      concurrency: 4,
      log: new Logger({ level: "error", sink: () => {} }),
    });
    if (s.errors.length > 0) throw new Error(`push failed: ${JSON.stringify(s.errors)}`);
    return {
      stored: s.objectsUploaded,
      dedupHits: s.dedupHits,
      encodedBytes: store.dropped,
    };
  });
}

async function newRepo(store: ObjectStore): Promise<Repository> {
  const id = await generateIdentity();
  return await Repository.create(store, {
    encrypted: true,
    recipient: id.recipient,
    passphrase: "bench",
    scryptWorkFactor: 10,
  });
}

/** Wall time of a command with its output discarded; null when it is not installed. */
async function command(cmd: string, cmdArgs: string[]): Promise<Run | null> {
  try {
    return await measured(async () => {
      const out = await new Deno.Command(cmd, { args: cmdArgs, stdout: "null", stderr: "piped" })
        .output();
      if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
      return { stored: 0, dedupHits: 0, encodedBytes: 0 };
    });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "?";
  }
}

const mbs = (ms: number) => SIZE / 1e6 / (ms / 1000);
const fmt = (x: number) => x.toFixed(0).padStart(5);

const path = await Deno.makeTempFile({ prefix: "tcfs-bench-pipeline-" });
try {
  {
    await using file = await Deno.open(path, { write: true });
    for await (const piece of mixedData(1, SIZE, 4 * MIB)) {
      for (let at = 0; at < piece.length;) at += await file.write(piece.subarray(at));
    }
  }
  const repo = await newRepo(new DiscardStore());
  const cores = navigator.hardwareConcurrency;
  console.log(
    `pipeline bench: ${SIZE / MIB} MiB of mixed data, ${cores} cores, best of ${RUNS} runs, ` +
      `encrypted repository, zstd level ${repo.config.compression.level}`,
  );
  // Warm the page cache before timing anything.
  await command("b3sum", [path]);

  // Rounds run every case once, so that a burst of load elsewhere on the
  // machine spreads over all of them; each case keeps its best round.
  const cases: [string, () => Promise<Run | null>][] = [
    ["serial (before the pool)", () => serial(repo, path)],
    ["ChunkWriter, in-thread (0 workers)", () => pipeline(repo, path, 0)],
    [`ChunkWriter, ${WORKERS} workers`, () => pipeline(repo, path, WORKERS)],
    ["push() into a discarding store", () => pushRun(path)],
    [`ChunkWriter, ${WORKERS} workers, all known`, () => pipeline(repo, path, WORKERS, stored)],
    ["reference: zstd -3 -T2", () => command("zstd", ["-3", "-T2", "-q", "-c", path])],
    ["reference: zstd -3 -T1", () => command("zstd", ["-3", "-T1", "-q", "-c", path])],
    ["reference: b3sum", () => command("b3sum", [path])],
  ];
  // Every chunk of the file, as if it had been pushed before: the case of a
  // file re-read after a small change, where nothing needs compressing.
  const stored = new Map<string, ChunkLocation>();
  await pipeline(repo, path, WORKERS, stored);
  const bestOf = new Map<string, Run | null>();
  const loadBefore = loadAverage();
  for (let round = 0; round < RUNS; round++) {
    for (const [name, run] of cases) {
      const r = await run();
      const top = bestOf.get(name);
      if (top === undefined || (r !== null && (top === null || r.ms < top.ms))) bestOf.set(name, r);
    }
  }
  console.log(`load average (1 min) before ${loadBefore}, after ${loadAverage()}`);
  for (const [name] of cases) {
    const r = bestOf.get(name);
    if (r === null || r === undefined) {
      console.log(`${name.padEnd(34)}  (not installed)`);
      continue;
    }
    const extra = name.startsWith("reference")
      ? ""
      : `  cpu ${(r.cpuMs / 1000 / (SIZE / 1e9)).toFixed(2)} s/GB` +
        `  ${r.stored} stored, ${r.dedupHits} dedup, encoded ${
          (r.encodedBytes / SIZE).toFixed(3)
        }` +
        ` of input, peak RSS ${(r.peakRss / MIB).toFixed(0)} MiB`;
    console.log(`${name.padEnd(34)} ${fmt(mbs(r.ms))} MB/s${extra}`);
  }

  const rate = (name: string) => {
    const r = bestOf.get(name);
    return r ? mbs(r.ms) : null;
  };
  const serialMbs = rate(cases[0][0])!;
  const pooled = rate(cases[2][0])!;
  const pushed = rate(cases[3][0])!;
  const zstd2 = rate(cases[5][0]);
  const b3 = rate(cases[7][0]);
  console.log(`pooled / serial                    ${(pooled / serialMbs).toFixed(2)}x`);
  console.log(
    `pooled >= 150 MB/s                 ${pooled >= 150 ? "yes" : "NO"} (${pooled.toFixed(0)}); ` +
      `push() ${pushed >= 150 ? "yes" : "NO"} (${pushed.toFixed(0)})`,
  );
  if (zstd2 !== null) {
    console.log(
      `pooled / zstd -3 -T2               ${(pooled / zstd2).toFixed(2)} (target >= 0.50: ` +
        `${pooled / zstd2 >= 0.5 ? "yes" : "NO"}); push() ${(pushed / zstd2).toFixed(2)}`,
    );
  }
  if (b3 !== null) console.log(`pooled / b3sum                     ${(pooled / b3).toFixed(3)}`);
} finally {
  await Deno.remove(path);
}
