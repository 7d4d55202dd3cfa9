import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import {
  chunkBytes,
  Chunker,
  type ChunkerParams,
  chunkMasks,
  chunkStream,
  DEFAULT_CHUNKER_PARAMS,
  findCut,
  gearTable,
  validateChunkerParams,
} from "./fastcdc.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Small parameters so that megabytes of data give hundreds of chunks. */
const SMALL: ChunkerParams = {
  minSize: 4 * KiB,
  avgSize: 16 * KiB,
  maxSize: 64 * KiB,
  normalization: 2,
};

/** Deterministic pseudo-random bytes (xorshift32), independent of the code under test. */
function pseudoRandom(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The format rule from the module doc, written the slow obvious way. */
function referenceLengths(data: Uint8Array, p: ChunkerParams): number[] {
  const gear = gearTable();
  const { maskS, maskL } = chunkMasks(p);
  const lengths: number[] = [];
  for (let start = 0; start < data.length;) {
    const left = data.length - start;
    let len = Math.min(left, p.maxSize);
    let h = 0;
    for (let k = p.minSize; k < Math.min(left, p.maxSize); k++) {
      h = (h * 2 + gear[data[start + k]]) % 2 ** 32;
      const mask = k < p.avgSize ? maskS : maskL;
      if ((h & mask) === 0) {
        len = k + 1;
        break;
      }
    }
    lengths.push(len);
    start += len;
  }
  return lengths;
}

function lengthsOf(chunks: Uint8Array[]): number[] {
  return chunks.map((c) => c.length);
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

async function* pieces(
  data: Uint8Array,
  seed: number,
  maxPiece: number,
): AsyncGenerator<Uint8Array> {
  const rnd = pseudoRandom(seed, 4 * 1024);
  let r = 0;
  for (let at = 0; at < data.length;) {
    // Mix of empty, one-byte and large pieces.
    const pick = (rnd[r++ % rnd.length] << 8) | rnd[r++ % rnd.length];
    const n = pick % 7 === 0 ? pick % 2 : Math.min(data.length - at, (pick * 37) % maxPiece);
    yield data.slice(at, at + n);
    at += n;
  }
}

function fnv1a(values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((v >>> s) & 0xff), 0x01000193) >>> 0;
  }
  return h;
}

Deno.test("gear table is the documented splitmix64 derivation", () => {
  const gear = gearTable();
  assert.equal(gear.length, 256);
  assert.deepEqual(Array.from(gear.subarray(0, 4)), GOLDEN_GEAR_HEAD);
  assert.equal(fnv1a(Array.from(gear)), GOLDEN_GEAR_FNV);
  assert.equal(new Set(gear).size, 256);
  gear[0] = 0; // a copy: the chunker's own table must be unaffected
  assert.deepEqual(Array.from(gearTable().subarray(0, 1)), GOLDEN_GEAR_HEAD.slice(0, 1));
});

Deno.test("masks: top bits, normalization adds and removes bits", () => {
  const m = chunkMasks({ minSize: 64 * KiB, avgSize: MiB, maxSize: 4 * MiB, normalization: 2 });
  assert.equal(m.maskS, 0xfffffc00); // 22 bits
  assert.equal(m.maskL, 0xffffc000); // 18 bits
  const z = chunkMasks({ minSize: 64 * KiB, avgSize: MiB, maxSize: 4 * MiB, normalization: 0 });
  assert.equal(z.maskS, 0xfffff000);
  assert.equal(z.maskL, 0xfffff000);
});

Deno.test("golden vector: chunk lengths of a fixed 8 MiB pseudo-random buffer", () => {
  const data = pseudoRandom(42, 8 * MiB);
  const small = lengthsOf(chunkBytes(data, SMALL));
  assert.equal(small.length, GOLDEN_SMALL_COUNT);
  assert.deepEqual(small.slice(0, 8), GOLDEN_SMALL_HEAD);
  assert.equal(fnv1a(small), GOLDEN_SMALL_FNV);
  assert.deepEqual(lengthsOf(chunkBytes(data, DEFAULT_CHUNKER_PARAMS)), GOLDEN_DEFAULT);
});

Deno.test("optimized chunker matches the reference rule", () => {
  const data = pseudoRandom(7, 3 * MiB);
  const sets: ChunkerParams[] = [
    SMALL,
    { ...SMALL, normalization: 0 },
    { ...SMALL, normalization: 3 },
    { minSize: 64, avgSize: 256, maxSize: 1024, normalization: 1 },
    { minSize: 1000, avgSize: 4096, maxSize: 5000, normalization: 2 },
  ];
  for (const p of sets) {
    const got = lengthsOf(chunkBytes(data, p));
    assert.deepEqual(got, referenceLengths(data, p), JSON.stringify(p));
  }
});

Deno.test("deterministic, sizes within bounds, lengths add up, views of the input", () => {
  const data = pseudoRandom(1, 4 * MiB + 123);
  const a = chunkBytes(data, SMALL);
  const b = chunkBytes(data.slice(), SMALL);
  assert.deepEqual(lengthsOf(a), lengthsOf(b));
  assert.ok(a.length > 100);
  a.forEach((c, i) => {
    assert.ok(c.length <= SMALL.maxSize);
    if (i < a.length - 1) assert.ok(c.length > SMALL.minSize, `chunk ${i} is ${c.length} bytes`);
  });
  assert.equal(a.reduce((n, c) => n + c.length, 0), data.length);
  let at = 0;
  for (const c of a) {
    assert.equal(c.buffer, data.buffer);
    assert.equal(c.byteOffset, at);
    at += c.length;
  }
});

Deno.test("input with no cut points is cut at maxSize", () => {
  // A run of one byte value drives the gear hash to a fixed point that matches no mask.
  const data = new Uint8Array(3 * SMALL.maxSize + 100);
  assert.deepEqual(lengthsOf(chunkBytes(data, SMALL)), [
    SMALL.maxSize,
    SMALL.maxSize,
    SMALL.maxSize,
    100,
  ]);
});

Deno.test("empty and tiny inputs", async () => {
  assert.deepEqual(chunkBytes(new Uint8Array(0), SMALL), []);
  assert.deepEqual(await collect(chunkStream((async function* () {})(), SMALL)), []);
  assert.deepEqual(
    await collect(chunkStream(
      (async function* () {
        yield new Uint8Array(0);
      })(),
      SMALL,
    )),
    [],
  );
  const tiny = pseudoRandom(3, 10);
  assert.deepEqual(lengthsOf(chunkBytes(tiny, SMALL)), [10]);
  assert.deepEqual(lengthsOf(await collect(chunkStream(pieces(tiny, 1, 3), SMALL))), [10]);
});

Deno.test("streaming in arbitrary pieces gives the same chunks as one buffer", async () => {
  const data = pseudoRandom(9, 3 * MiB + 17);
  const whole = chunkBytes(data, SMALL);
  for (const [seed, maxPiece] of [[1, 100_000], [2, 5_000], [3, 300_000]]) {
    const streamed = await collect(chunkStream(pieces(data, seed, maxPiece), SMALL));
    assert.deepEqual(lengthsOf(streamed), lengthsOf(whole), `seed ${seed}`);
    streamed.forEach((c, i) => assert.deepEqual(c, whole[i]));
  }
});

Deno.test("chunkStream accepts a ReadableStream and avoids copies inside big pieces", async () => {
  const data = pseudoRandom(11, 2 * MiB);
  const stream = ReadableStream.from([data.subarray(0, MiB), data.subarray(MiB)]);
  const streamed = await collect(chunkStream(stream, SMALL));
  assert.deepEqual(lengthsOf(streamed), lengthsOf(chunkBytes(data, SMALL)));
  // Most chunks lie inside one of the two pieces and must be views of it.
  const views = streamed.filter((c) => c.buffer === data.buffer).length;
  assert.ok(views >= streamed.length - 1, `${views} of ${streamed.length} are views`);
});

Deno.test("an insertion changes only the chunks near it", () => {
  const data = pseudoRandom(5, 8 * MiB);
  const edited = new Uint8Array(data.length + 5);
  const at = MiB + 333;
  edited.set(data.subarray(0, at));
  edited.set([1, 2, 3, 4, 5], at);
  edited.set(data.subarray(at), at + 5);
  const key = (c: Uint8Array) => `${c.length}:${Array.from(c.subarray(0, 16)).join(",")}`;
  const before = chunkBytes(data, SMALL);
  const after = chunkBytes(edited, SMALL);
  const old = new Set(before.map(key));
  const fresh = after.filter((c) => !old.has(key(c)));
  assert.ok(fresh.length >= 1 && fresh.length <= 4, `${fresh.length} new chunks`);
  // Everything after the re-synchronisation point is byte-identical.
  const tailOld = before.slice(-(before.length - 100)).map(key);
  const tailNew = after.slice(-(before.length - 100)).map(key);
  assert.deepEqual(tailNew, tailOld);
});

Deno.test("findCut: one chunk at a time, 0 when undecided", () => {
  const data = pseudoRandom(13, MiB);
  const lengths = lengthsOf(chunkBytes(data, SMALL));
  let at = 0;
  for (const len of lengths.slice(0, 20)) {
    assert.equal(findCut(data, at, data.length, SMALL, false), len);
    at += len;
  }
  // Too little data to decide: below maxSize and no cut found yet.
  assert.equal(findCut(data, 0, SMALL.minSize + 10, SMALL, false), 0);
  assert.equal(findCut(data, 0, SMALL.minSize + 10, SMALL, true), SMALL.minSize + 10);
  assert.equal(findCut(data, 5, 5, SMALL, true), 0);
});

Deno.test("Chunker.scan resumes across calls and reports pending bytes", () => {
  const data = pseudoRandom(17, MiB);
  const first = chunkBytes(data, SMALL)[0].length;
  const c = new Chunker(SMALL);
  assert.equal(c.scan(data, 0, 1000), -1);
  assert.equal(c.pending, 1000);
  assert.equal(c.scan(data, 1000, data.length), first);
  assert.equal(c.pending, 0);
});

Deno.test("validateChunkerParams names the bad field", () => {
  const ok = { minSize: 256 * KiB, avgSize: MiB, maxSize: 4 * MiB, normalization: 2 };
  assert.equal(validateChunkerParams(ok), ok);
  validateChunkerParams(DEFAULT_CHUNKER_PARAMS);
  const cases: Array<[Partial<ChunkerParams>, string]> = [
    [{ avgSize: 1000 * KiB }, "avgSize"],
    [{ avgSize: 128 }, "avgSize"],
    [{ minSize: MiB }, "minSize"],
    [{ minSize: 10 }, "minSize"],
    [{ maxSize: MiB }, "maxSize"],
    [{ maxSize: 2 ** 30 }, "maxSize"],
    [{ normalization: 4 }, "normalization"],
    [{ normalization: 1.5 }, "normalization"],
    [{ minSize: Number.NaN }, "minSize"],
  ];
  for (const [change, field] of cases) {
    assert.throws(
      () => validateChunkerParams({ ...ok, ...change }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`chunker.${field}`),
      JSON.stringify(change),
    );
  }
  assert.throws(() => new Chunker({ ...ok, minSize: -1 }), ConfigError);
});

// Recorded from this implementation; a change here changes the on-bucket format.
// GOLDEN_GEAR_HEAD was also checked against an independent splitmix64 in Python.
const GOLDEN_GEAR_HEAD = [0xab17a82b, 0xf881a2c0, 0xd7cb5b10, 0xd206b3c5];
const GOLDEN_GEAR_FNV = 0x886225e3;
const GOLDEN_SMALL_COUNT = 436;
const GOLDEN_SMALL_HEAD = [25298, 16956, 25962, 36776, 17448, 15763, 18269, 6408];
const GOLDEN_SMALL_FNV = 0x2dcc69b2;
const GOLDEN_DEFAULT = [4208318, 1683315, 2496975];
