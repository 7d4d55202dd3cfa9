/**
 * BLAKE3 hashing (plain and keyed, one-shot and streaming) and hex helpers.
 *
 * @module
 */

export {
  blake3,
  type Blake3Hasher,
  createBlake3,
  type Digest,
  DIGEST_LENGTH,
  fromHex,
  initBlake3,
  toHex,
} from "./blake3.ts";
