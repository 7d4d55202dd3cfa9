/**
 * Compression of chunks and metadata objects: zstd frames that carry their
 * content size, readable by any zstd decoder.
 *
 * @module
 */

export {
  DEFAULT_ZSTD_LEVEL,
  MAX_ZSTD_LEVEL,
  MIN_ZSTD_LEVEL,
  zstdCompress,
  zstdDecompress,
  zstdFrameContentSize,
} from "./zstd.ts";
