/**
 * Throughput of the content primitives under Deno on this machine: FastCDC,
 * BLAKE3 (each library and mode) and zstd, on deterministic mixed data
 * (bench/data.ts), against Debian's `b3sum` and `zstd` CLIs run on the same
 * bytes in the same run. Each figure is the best of several repetitions
 * (the machine is shared). MB/s counts input bytes (output bytes for
 * decompression); 1 MB = 10^6 bytes.
 *
 * Run: deno run -A bench/primitives.ts [--size-mib 256] [--reps 3]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createHasher as jitHasher, createKeyed as jitKeyed, hash as jitHash } from "blake3-jit";
import { createBLAKE3 } from "hash-wasm";
import {
  chunkBytes,
  type ChunkerParams,
  chunkStream,
  DEFAULT_CHUNKER_PARAMS,
} from "../lib/chunking/fastcdc.ts";
import { zstdCompress, zstdDecompress } from "../lib/compress/zstd.ts";
import { blake3, createBlake3, initBlake3 } from "../lib/hash/blake3.ts";
import { collect, mixedData } from "./data.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function best(reps: number, bytes: number, run: () => void): number {
  let top = 0;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    run();
    top = Math.max(top, bytes / 1e6 / ((performance.now() - t) / 1000));
  }
  return top;
}

async function bestAsync(reps: number, bytes: number, run: () => Promise<void>): Promise<number> {
  let top = 0;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await run();
    top = Math.max(top, bytes / 1e6 / ((performance.now() - t) / 1000));
  }
  return top;
}

async function cli(reps: number, bytes: number, cmd: string, args: string[]): Promise<number> {
  return await bestAsync(reps, bytes, async () => {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  });
}

function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "size-mib": { type: "string", default: "256" },
      reps: { type: "string", default: "3" },
    },
  });
  const size = Number(values["size-mib"]) * MiB;
  const reps = Number(values.reps);
  const data = await collect(mixedData(1, size));
  const dir = await Deno.makeTempDir({ prefix: "tcfs-bench-" });
  const file = `${dir}/mixed.bin`;
  await Deno.writeFile(file, data);
  const add = (name: string, mbps: number, note?: string) => {
    console.log(`${name.padEnd(44)} ${mbps.toFixed(0).padStart(6)} MB/s${note ? "  " + note : ""}`);
  };
  console.log(`${size / MiB} MiB of mixed data, best of ${reps}`);

  try {
    // FastCDC
    const candidates: Array<[string, ChunkerParams]> = [
      ["default 1Mi/2Mi/16Mi nc0", DEFAULT_CHUNKER_PARAMS],
      ["256Ki/1Mi/4Mi nc2", {
        minSize: 256 * KiB,
        avgSize: MiB,
        maxSize: 4 * MiB,
        normalization: 2,
      }],
      ["16Ki/64Ki/256Ki nc2", {
        minSize: 16 * KiB,
        avgSize: 64 * KiB,
        maxSize: 256 * KiB,
        normalization: 2,
      }],
    ];
    for (const [label, params] of candidates) {
      let n = 0;
      const mbps = best(reps, size, () => {
        n = chunkBytes(data, params).length;
      });
      add(`FastCDC chunkBytes ${label}`, mbps, `${(size / n / MiB).toFixed(2)} MiB/chunk`);
    }
    const in1MiB = pieces(data, MiB);
    add(
      "FastCDC chunkStream default, 1 MiB pieces",
      await bestAsync(reps, size, async () => {
        const source = (async function* () {
          yield* in1MiB;
        })();
        for await (const _ of chunkStream(source, DEFAULT_CHUNKER_PARAMS)) {
          // drain
        }
      }),
    );

    // BLAKE3
    const b3one = await cli(reps, size, "b3sum", ["--no-names", "--num-threads", "1", file]);
    add("b3sum --num-threads 1 (reference)", b3one);
    add("b3sum (all threads)", await cli(reps, size, "b3sum", ["--no-names", file]));
    const key = new Uint8Array(32).fill(7);
    await initBlake3(key);
    const hw = await createBLAKE3();
    const hwKeyed = await createBLAKE3(256, key);
    const r = (mbps: number) => `${(mbps / b3one).toFixed(2)}x b3sum-1`;
    const one = (label: string, f: (p: Uint8Array) => unknown) => {
      const mbps = best(reps, size, () => {
        for (const p of in1MiB) f(p);
      });
      add(label, mbps, r(mbps));
    };
    one("blake3-jit hash, 1 MiB one-shot", (p) => jitHash(p));
    one("blake3-jit keyed, 1 MiB one-shot", (p) => jitKeyed(key).update(p).finalize());
    one("hash-wasm, 1 MiB one-shot", (p) => hw.init().update(p).digest("binary"));
    one("hash-wasm keyed, 1 MiB one-shot", (p) => hwKeyed.init().update(p).digest("binary"));
    one("tcfs blake3(), 1 MiB one-shot", (p) => blake3(p));
    one("tcfs blake3(key), 1 MiB one-shot", (p) => blake3(p, key));
    const stream = (
      label: string,
      make: () => { update(d: Uint8Array): unknown },
      piece: number,
    ) => {
      const parts = pieces(data, piece);
      const mbps = best(reps, size, () => {
        const h = make();
        for (const p of parts) h.update(p);
      });
      add(label, mbps, r(mbps));
    };
    stream("blake3-jit streaming, 64 KiB updates", () => jitHasher(), 64 * KiB);
    stream("hash-wasm streaming, 64 KiB updates", () => hw.init(), 64 * KiB);
    stream("tcfs createBlake3(), 64 KiB updates", () => createBlake3(), 64 * KiB);
    stream("tcfs createBlake3(key), 64 KiB updates", () => createBlake3(key), 64 * KiB);
    stream("tcfs createBlake3(), 1 MiB updates", () => createBlake3(), MiB);

    // zstd on 1 MiB pieces
    const zfile = `${dir}/mixed.bin.zst`;
    for (const level of [1, 3]) {
      let frames: Uint8Array[] = [];
      const c = best(reps, size, () => {
        frames = in1MiB.map((p) => zstdCompress(p, level));
      });
      const packed = frames.reduce((n, f) => n + f.length, 0);
      const d = best(reps, size, () => {
        for (const f of frames) zstdDecompress(f, MiB);
      });
      const cz = await cli(reps, size, "zstd", [`-${level}`, "-T2", "-q", "-f", "-o", zfile, file]);
      const cliPacked = (await Deno.stat(zfile)).size;
      const dz = await cli(reps, size, "zstd", ["-d", "-q", "-c", zfile]);
      const cz1 = await cli(reps, size, "zstd", [
        `-${level}`,
        "-T1",
        "-q",
        "-f",
        "-o",
        zfile,
        file,
      ]);
      add(
        `zstd -${level} -T2 CLI compress (reference)`,
        cz,
        `ratio ${(size / cliPacked).toFixed(2)}`,
      );
      add(`zstd -${level} -T1 CLI compress`, cz1);
      add(
        `node:zlib zstd level ${level} compress, 1 MiB`,
        c,
        `ratio ${(size / packed).toFixed(2)}, ${(c / cz).toFixed(2)}x CLI -T2, ${
          (c / cz1).toFixed(2)
        }x -T1`,
      );
      add(`zstd -d CLI (level ${level} file)`, dz);
      add(`node:zlib zstd decompress, 1 MiB`, d, `${(d / dz).toFixed(2)}x CLI`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
