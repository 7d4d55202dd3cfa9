/**
 * Content-defined chunking (FastCDC). The boundaries are part of the
 * on-bucket format; see fastcdc.ts for the exact rule.
 *
 * @module
 */

export {
  chunkBytes,
  Chunker,
  type ChunkerParams,
  chunkMasks,
  chunkStream,
  DEFAULT_CHUNKER_PARAMS,
  findCut,
  GEAR_SEED,
  gearTable,
  validateChunkerParams,
} from "./fastcdc.ts";
