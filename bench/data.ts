/**
 * Deterministic benchmark data: the same seed gives the same bytes on every
 * machine, so figures from different runs describe the same input.
 *
 * "Mixed data" alternates segments (16 KiB to 2 MiB each) of three kinds:
 * incompressible pseudo-random bytes (40%), text-like lines of words from a
 * small vocabulary (40%, compresses about 3-4x) and zeros (20%).
 *
 * @module
 */

/** xorshift128 generator: small, fast, and good enough for test data (not for secrets). */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seed the generator; different seeds give unrelated sequences. */
  constructor(seed: number) {
    // Spread the seed with a multiplicative hash so nearby seeds differ in every word.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
  }

  /** Next unsigned 32-bit value. */
  nextU32(): number {
    const t = this.#a ^ (this.#a << 11);
    this.#a = this.#b;
    this.#b = this.#c;
    this.#c = this.#d;
    this.#d = (this.#d ^ (this.#d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.#d;
  }

  /** Uniform integer in [0, n) for n up to 2^32. */
  below(n: number): number {
    return Math.floor((this.nextU32() / 2 ** 32) * n);
  }

  /** Fill `out` with pseudo-random bytes (byte order fixed: little-endian words). */
  fill(out: Uint8Array): void {
    const words = out.length >>> 2;
    for (let w = 0, i = 0; w < words; w++, i += 4) {
      const x = this.nextU32();
      out[i] = x;
      out[i + 1] = x >>> 8;
      out[i + 2] = x >>> 16;
      out[i + 3] = x >>> 24;
    }
    for (let i = words << 2; i < out.length; i++) out[i] = this.nextU32();
  }
}

/** `size` pseudo-random (incompressible) bytes from `seed`. */
export function randomBytes(seed: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  new Prng(seed).fill(out);
  return out;
}

const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which " +
  "but have an they you were her she there would their we him been has when who will more no if " +
  "out so said what up its about into than them can only other new some could time these two may " +
  "then do first any my now such like our over man me even most made after also did many before " +
  "must through back years where much your way well down should because each just those people " +
  "file sync chunk manifest bucket daemon mount hydrate object version conflict device"
).split(" ").map((w) => new TextEncoder().encode(w + " "));

const KIND_RANDOM = 0;
const KIND_TEXT = 1;
const KIND_ZERO = 2;

/**
 * Stream `size` bytes of mixed data in pieces of `pieceSize` bytes (the last
 * may be shorter). The content depends only on `seed` and `size`, not on
 * `pieceSize`.
 */
export async function* mixedData(
  seed: number,
  size: number,
  pieceSize: number = 1024 * 1024,
): AsyncGenerator<Uint8Array> {
  const prng = new Prng(seed);
  let kind = KIND_RANDOM;
  let left = 0; // bytes left in the current segment
  let lineWords = 0;
  let word: Uint8Array = WORDS[0];
  let wordPos = word.length;
  for (let done = 0; done < size;) {
    const piece = new Uint8Array(Math.min(pieceSize, size - done));
    let at = 0;
    while (at < piece.length) {
      if (left === 0) {
        const r = prng.below(10);
        kind = r < 4 ? KIND_RANDOM : r < 8 ? KIND_TEXT : KIND_ZERO;
        left = 16384 + prng.below(2 * 1024 * 1024 - 16384);
      }
      const n = Math.min(left, piece.length - at);
      if (kind === KIND_RANDOM) {
        prng.fill(piece.subarray(at, at + n));
      } else if (kind === KIND_TEXT) {
        for (let i = at; i < at + n; i++) {
          if (wordPos === word.length) {
            if (++lineWords === 12) {
              lineWords = 0;
              word = NEWLINE;
            } else {
              word = WORDS[prng.below(WORDS.length)];
            }
            wordPos = 0;
          }
          piece[i] = word[wordPos++];
        }
      } // zeros: the array is already zero-filled
      at += n;
      left -= n;
    }
    done += piece.length;
    yield piece;
    await Promise.resolve();
  }
}

const NEWLINE = new Uint8Array([10]);

/** Collect a stream into one buffer (for benchmarks that time in-memory work). */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const p of stream) {
    parts.push(p);
    total += p.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
