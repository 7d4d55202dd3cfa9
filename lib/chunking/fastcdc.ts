/**
 * FastCDC content-defined chunking (Xia et al., "The Design of Fast
 * Content-Defined Chunking for Data Deduplication Based Storage Systems",
 * IEEE TPDS 2020): gear rolling hash, cut-point skipping up to the minimum
 * size and normalized chunking with two masks.
 *
 * The boundaries this module cuts are part of the on-bucket format: every
 * client must cut the same data at the same places or deduplication breaks.
 * The exact rule, which docs/FORMAT.md restates, is:
 *
 * 1. Gear table: 256 unsigned 32-bit values. Run splitmix64 from
 *    {@linkcode GEAR_SEED}; entry `i` is the upper 32 bits of the `i`-th
 *    output (see {@linkcode gearTable}). 32 bits rather than the paper's 64
 *    because JavaScript engines keep 32-bit integers in registers, which is
 *    what lets the loop run above 1 GB/s; the hash window is then 32 bytes.
 * 2. Masks: with `b = log2(avgSize)` and `n = normalization`, the "small"
 *    mask has the top `b + n` bits of the 32-bit hash set, the "large" mask
 *    the top `b - n` bits (see {@linkcode chunkMasks}).
 * 3. For each chunk, starting at its first byte with `h = 0`: the bytes at
 *    chunk offsets below `minSize` are skipped unhashed. For each following
 *    byte `x` at chunk offset `k`: `h = (2 * h + gear[x]) mod 2^32`; if
 *    `h & mask == 0`, where `mask` is the small mask while `k < avgSize` and
 *    the large one after, the chunk ends after this byte (its length is
 *    `k + 1`). A chunk that reaches `maxSize` bytes ends there. The data's
 *    last chunk is whatever remains (it may be shorter than `minSize`).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** Parameters of the chunker; they are stored in the repository config. */
export interface ChunkerParams {
  /** No chunk except the last is this short or shorter; bytes below it are not hashed. */
  minSize: number;
  /**
   * The "normal" size, a power of two: sets the masks (one cut point per
   * avgSize hashed bytes on random data) and where the small mask yields to
   * the large one. The mean chunk is larger, about minSize + avgSize at
   * normalization 0, because the first minSize bytes are never cut.
   */
  avgSize: number;
  /** Hard upper bound of a chunk's length. */
  maxSize: number;
  /** Normalization level (0 to 3): how many mask bits are added before, and taken after, avgSize. */
  normalization: number;
}

/**
 * The parameters new repositories use, chosen by bench/chunk_params.ts: on a
 * 256 MiB file, 1 MiB overwritten at any of 1,000 random offsets made at most
 * 3 new chunks (1.4 on average; 4 in 2 of a further 3,000 trials), at 0.32
 * chunks (S3 requests) per MiB; chunks average about 3 MiB. No
 * normalization: with it, a boundary that was cut by the easy mask is often
 * missed after an edit shifts the chunk start, and edits cost 2-10x more new
 * chunks. maxSize is 8x avgSize because forced cuts at maxSize do not
 * re-synchronise either (with 4x, about 1% of edits made 4-5 new chunks).
 */
export const DEFAULT_CHUNKER_PARAMS: Readonly<ChunkerParams> = Object.freeze({
  minSize: 1024 * 1024,
  avgSize: 2 * 1024 * 1024,
  maxSize: 16 * 1024 * 1024,
  normalization: 0,
});

/** Seed of the splitmix64 generator that derives the gear table: ASCII "tcfsgear", big-endian. */
export const GEAR_SEED = 0x7463667367656172n;

const MASK64 = (1n << 64n) - 1n;

/** Derive the gear table: entry i = upper 32 bits of splitmix64's i-th output from GEAR_SEED. */
function deriveGear(): Uint32Array {
  const table = new Uint32Array(256);
  let state = GEAR_SEED;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    z = z ^ (z >> 31n);
    table[i] = Number(z >> 32n);
  }
  return table;
}

// Signed view of the same values: int32 arithmetic stays in registers in V8.
const GEAR: Int32Array = new Int32Array(deriveGear().buffer);

/** A copy of the gear table (256 unsigned 32-bit values), for documentation and tests. */
export function gearTable(): Uint32Array {
  return new Uint32Array(GEAR.buffer.slice(0));
}

/** The two cut masks as unsigned 32-bit values, for docs/FORMAT.md and tests. */
export function chunkMasks(params: ChunkerParams): { maskS: number; maskL: number } {
  const p = validateChunkerParams(params);
  return {
    maskS: topBits(maskBits(p) + p.normalization) >>> 0,
    maskL: topBits(maskBits(p) - p.normalization) >>> 0,
  };
}

function maskBits(p: ChunkerParams): number {
  return Math.round(Math.log2(p.avgSize));
}

/** A 32-bit int with the top n bits set (n in 1..31). */
function topBits(n: number): number {
  return ((2 ** n - 1) * 2 ** (32 - n)) | 0;
}

const MIN_MIN = 64;
const MIN_AVG = 256;
const MAX_AVG = 2 ** 26;
const MAX_MAX = 2 ** 28;

/**
 * Check chunker parameters and return them unchanged. Throws ConfigError
 * naming the first bad field: sizes must be integers with
 * `64 <= minSize < avgSize < maxSize <= 256 MiB`, avgSize a power of two
 * between 256 B and 64 MiB, normalization an integer from 0 to 3.
 */
export function validateChunkerParams(p: ChunkerParams): ChunkerParams {
  const bad = (field: string, why: string): never => {
    throw new ConfigError(`chunker.${field} ${why}`);
  };
  if (p === null || typeof p !== "object") {
    throw new ConfigError(
      "chunker parameters must be an object with minSize, avgSize, maxSize, normalization",
    );
  }
  for (const field of ["minSize", "avgSize", "maxSize", "normalization"] as const) {
    if (!Number.isSafeInteger(p[field])) bad(field, `must be an integer, got ${String(p[field])}`);
  }
  const { minSize, avgSize, maxSize, normalization } = p;
  if (avgSize < MIN_AVG || avgSize > MAX_AVG || (avgSize & (avgSize - 1)) !== 0) {
    bad("avgSize", `must be a power of two from ${MIN_AVG} to ${MAX_AVG}, got ${avgSize}`);
  }
  if (minSize < MIN_MIN || minSize >= avgSize) {
    bad("minSize", `must be at least ${MIN_MIN} and below avgSize (${avgSize}), got ${minSize}`);
  }
  if (maxSize <= avgSize || maxSize > MAX_MAX) {
    bad("maxSize", `must be above avgSize (${avgSize}) and at most ${MAX_MAX}, got ${maxSize}`);
  }
  if (normalization < 0 || normalization > 3) {
    bad("normalization", `must be 0, 1, 2 or 3, got ${normalization}`);
  }
  return p;
}

/**
 * Incremental boundary finder: feed it the data of a stream in order, in
 * pieces of any size, and it reports the same cut points as one pass over
 * the whole data would. Holds no data, only the hash and the length of the
 * chunk in progress.
 */
export class Chunker {
  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  #fp = 0;
  #len = 0;

  /** Make a chunker; throws ConfigError for invalid params. */
  constructor(params: ChunkerParams) {
    const p = validateChunkerParams(params);
    this.#min = p.minSize;
    this.#avg = p.avgSize;
    this.#max = p.maxSize;
    this.#maskS = topBits(maskBits(p) + p.normalization);
    this.#maskL = topBits(maskBits(p) - p.normalization);
  }

  /** Bytes of the chunk in progress that earlier calls consumed without cutting. */
  get pending(): number {
    return this.#len;
  }

  /**
   * Continue the current chunk over `buf[start..end)`. Returns the index in
   * `buf` just after the first cut (the current chunk ends there and the
   * next starts, with fresh state), or -1 when the whole range belongs to the
   * current chunk and more data is needed to find its end.
   */
  scan(buf: Uint8Array, start: number, end: number): number {
    const base = start - this.#len; // index in buf where the current chunk began (may be < 0)
    let i = start;
    const skipEnd = base + this.#min;
    if (i < skipEnd) i = skipEnd < end ? skipEnd : end;
    let fp = this.#fp;
    const gear = GEAR;
    let stop = base + this.#avg < end ? base + this.#avg : end;
    const maskS = this.#maskS;
    for (; i < stop; i++) {
      fp = ((fp << 1) + gear[buf[i]]) | 0;
      if ((fp & maskS) === 0) return this.#cut(i + 1);
    }
    stop = base + this.#max < end ? base + this.#max : end;
    const maskL = this.#maskL;
    for (; i < stop; i++) {
      fp = ((fp << 1) + gear[buf[i]]) | 0;
      if ((fp & maskL) === 0) return this.#cut(i + 1);
    }
    if (i - base === this.#max) return this.#cut(i);
    this.#fp = fp;
    this.#len = i - base;
    return -1;
  }

  /** Forget the chunk in progress (start over at a chunk boundary). */
  reset(): void {
    this.#fp = 0;
    this.#len = 0;
  }

  #cut(at: number): number {
    this.#fp = 0;
    this.#len = 0;
    return at;
  }
}

/**
 * Find the end of the chunk that starts at `buf[start]`, looking at
 * `buf[start..end)`. Returns the chunk's length (> 0), or 0 when
 * `end - start` is below maxSize, no cut was found and `eof` is false (the
 * caller must supply more data). With `eof` true the rest is the last chunk.
 * Returns 0 for an empty range.
 */
export function findCut(
  buf: Uint8Array,
  start: number,
  end: number,
  params: ChunkerParams,
  eof: boolean,
): number {
  const cut = new Chunker(params).scan(buf, start, end);
  if (cut >= 0) return cut - start;
  return eof ? end - start : 0;
}

/**
 * Split a stream into content-defined chunks. Each chunk is one Uint8Array
 * of at most maxSize bytes; a chunk that lies inside one incoming piece is
 * a view of that piece (no copy), others are assembled into a fresh array.
 * Memory stays O(maxSize + largest piece) whatever the stream's length. The
 * source must not reuse a piece's memory after handing it over (ordinary
 * file and network streams do not). Empty input yields no chunk.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  params: ChunkerParams,
): AsyncGenerator<Uint8Array> {
  const chunker = new Chunker(params);
  let parts: Uint8Array[] = [];
  let partsLen = 0;
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    let pos = 0;
    while (pos < piece.length) {
      const cut = chunker.scan(piece, pos, piece.length);
      if (cut < 0) {
        parts.push(pos === 0 ? piece : piece.subarray(pos));
        partsLen += piece.length - pos;
        break;
      }
      const tail = piece.subarray(pos, cut);
      pos = cut;
      if (partsLen === 0) {
        yield tail;
      } else {
        parts.push(tail);
        yield join(parts, partsLen + tail.length);
        parts = [];
        partsLen = 0;
      }
    }
  }
  if (partsLen > 0) yield join(parts, partsLen);
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Split an in-memory buffer into chunks; each chunk is a view of `data`. */
export function chunkBytes(data: Uint8Array, params: ChunkerParams): Uint8Array[] {
  const chunker = new Chunker(params);
  const chunks: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.length) {
    const cut = chunker.scan(data, pos, data.length);
    const end = cut < 0 ? data.length : cut;
    chunks.push(data.subarray(pos, end));
    pos = end;
  }
  return chunks;
}
