/**
 * zstd compression of whole buffers (chunks, manifests) with the codec built
 * into Deno's `node:zlib`.
 *
 * Every frame records its content size in the header (the source size is
 * always pledged), so any zstd decoder, the `zstd` CLI included, can read it
 * and a reader can size its output before decompressing.
 *
 * @module
 */

import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { ConfigError, IntegrityError } from "../errors.ts";

/** Level used when none is given: zstd's own default, ~300 MB/s compressing here. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Lowest accepted level (zstd's negative "fast" levels start below 1). */
export const MIN_ZSTD_LEVEL = -7;

/** Highest accepted level. */
export const MAX_ZSTD_LEVEL = 22;

const ZSTD_MAGIC = 0xfd2fb528;

/** Compress `data` into one zstd frame whose header carries the content size. */
export function zstdCompress(data: Uint8Array, level: number = DEFAULT_ZSTD_LEVEL): Uint8Array {
  if (!Number.isInteger(level) || level < MIN_ZSTD_LEVEL || level > MAX_ZSTD_LEVEL) {
    throw new ConfigError(
      `zstd level must be an integer from ${MIN_ZSTD_LEVEL} to ${MAX_ZSTD_LEVEL}, got ${level}`,
    );
  }
  const out = zstdCompressSync(data, {
    params: { [constants.ZSTD_c_compressionLevel]: level },
    pledgedSrcSize: data.length,
  });
  return plain(out);
}

/**
 * Decompress a zstd frame (or concatenated frames) expected to hold at most
 * `expectedSize` bytes. Refuses, with IntegrityError and without inflating
 * the rest, a frame that declares or produces more (a decompression bomb), and
 * data that is not a valid zstd frame. Callers that know the exact size
 * should also compare the result's length.
 */
export function zstdDecompress(frame: Uint8Array, expectedSize: number): Uint8Array {
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
    throw new ConfigError(`expectedSize must be a non-negative integer, got ${expectedSize}`);
  }
  const declared = zstdFrameContentSize(frame);
  if (declared !== undefined && declared > expectedSize) {
    throw new IntegrityError(
      `zstd frame declares ${declared} bytes, more than the expected ${expectedSize}`,
    );
  }
  let out: Uint8Array;
  try {
    // maxOutputLength must be positive; an empty frame still decodes to 0 bytes.
    out = zstdDecompressSync(frame, { maxOutputLength: Math.max(1, expectedSize) });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new IntegrityError(`zstd data expands beyond the expected ${expectedSize} bytes`);
    }
    throw new IntegrityError(`corrupt zstd data: ${(e as Error).message}`, { cause: e });
  }
  if (out.length > expectedSize) {
    throw new IntegrityError(`zstd data expands beyond the expected ${expectedSize} bytes`);
  }
  if (declared !== undefined && out.length < declared) {
    throw new IntegrityError(`zstd frame is truncated: ${out.length} of ${declared} bytes`);
  }
  return plain(out);
}

/**
 * The content size a zstd frame header declares, or undefined when the
 * header omits it (or `frame` does not start with a zstd frame header).
 */
export function zstdFrameContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 5) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0, true) !== ZSTD_MAGIC) return undefined;
  const fhd = frame[4];
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const dictIdBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (singleSegment ? 0 : 1) + dictIdBytes;
  if (frame.length < at + fcsBytes) return undefined;
  switch (fcsBytes) {
    case 1:
      return frame[at];
    case 2:
      return view.getUint16(at, true) + 256;
    case 4:
      return view.getUint32(at, true);
    default:
      return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  }
}

// node:zlib returns Buffers, whose slice() is a view rather than a copy; hand
// out plain Uint8Arrays (same memory) so callers get the usual semantics.
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
