/**
 * The envelope: one binary format for the body of every object tcfs stores
 * (chunks, manifests, commit records, snapshots), encrypted or not.
 *
 * ## Byte layout (version 1)
 *
 * ```text
 * offset  size  field
 * 0       4     magic, ASCII "TCFE" (0x54 0x43 0x46 0x45)
 * 4       1     format version, 0x01
 * 5       1     flags: bit 0 (0x01) = payload is one zstd frame
 *                      bit 1 (0x02) = payload is encrypted
 *                      bits 2-7 must be 0
 * 6       1     key kind: 0x00 = none (only when not encrypted)
 *                         0x01 = data key, 0x02 = meta key (see keys.ts)
 * 7       1     reserved, must be 0x00
 * 8       12    AES-GCM nonce, random; present only when encrypted
 * 20      n     ciphertext of the payload (n = payload length)
 * 20+n    16    AES-GCM authentication tag
 * ```
 *
 * When not encrypted, the header is the first 8 bytes and the payload follows
 * as is from offset 8: a plaintext object is 8 bytes longer than its payload,
 * an encrypted one {@linkcode ENVELOPE_OVERHEAD} (36) bytes longer. Compression
 * happens before encryption; the flag only records it (this module does not
 * compress).
 *
 * ## Authentication
 *
 * Cipher: AES-256-GCM (WebCrypto), 96-bit nonce, 128-bit tag. The additional
 * authenticated data is the header (all bytes before the ciphertext, nonce
 * included: 20 bytes) followed directly by a context the caller supplies, for
 * example `"chunk/" + id` in UTF-8. The header has a fixed length, so the
 * concatenation is unambiguous. Hence flipping any header bit (version,
 * flags, key kind) makes the object fail to open, and an object copied or
 * renamed to another key in the bucket fails too, because its context no
 * longer matches.
 *
 * An object without the encrypted flag is refused when a key is given: an
 * attacker with write access to the bucket could otherwise swap an encrypted
 * object for a plaintext one. Unencrypted objects carry no authentication;
 * in unencrypted repositories integrity comes from the content hash in the
 * object id, which the hashing layer checks.
 *
 * ## Nonces
 *
 * Nonces are 96 random bits per seal. With random nonces NIST SP 800-38D caps
 * a key at 2^32 encryptions, which keeps the chance of any nonce repeating
 * below about 2^-33 (q^2 / 2^97 for q messages). tcfs seals each distinct
 * chunk once (chunks are deduplicated by keyed id before sealing) and each
 * metadata record once, under two separate keys: even at 64 KiB per chunk,
 * 2^32 chunks is 256 TiB of unique data per repository, and at 1 MiB per
 * chunk 4 PiB; metadata records are far fewer.
 * Deterministic or counter nonces would need coordination between devices
 * that write concurrently; random nonces need none.
 *
 * @module
 */

import { IntegrityError, KeyError } from "../errors.ts";
import { type KeyKind, keyKindOf } from "./keys.ts";

/** The 4 magic bytes at the start of every envelope: ASCII "TCFE". */
export const ENVELOPE_MAGIC: Uint8Array = new Uint8Array([0x54, 0x43, 0x46, 0x45]);
/** The envelope format version this module writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Header length of an unencrypted envelope. */
export const PLAIN_HEADER_BYTES = 8;
/** Header length of an encrypted envelope (fixed header and nonce). */
export const SEALED_HEADER_BYTES = 20;
/** AES-GCM nonce length in bytes. */
export const NONCE_BYTES = 12;
/** AES-GCM tag length in bytes. */
export const TAG_BYTES = 16;
/** Bytes an encrypted envelope adds to its payload: header, nonce and tag (36). */
export const ENVELOPE_OVERHEAD: number = SEALED_HEADER_BYTES + TAG_BYTES;

const FLAG_COMPRESSED = 0x01;
const FLAG_ENCRYPTED = 0x02;
const KIND_CODES: Record<KeyKind, number> = { data: 1, meta: 2 };
const KIND_NAMES: Record<number, KeyKind> = { 1: "data", 2: "meta" };

/** How {@linkcode seal} should label and bind an object. */
export interface SealOptions {
  /** Whether the payload is a zstd frame; stored in the header. */
  compressed: boolean;
  /** Context bound into the tag, e.g. the object's kind and id in UTF-8. */
  aad: Uint8Array;
  /**
   * Key kind to record in the header. Defaults to the kind the key was
   * derived as by `deriveRepoKeys`, or `"data"` for keys made elsewhere.
   */
  keyKind?: KeyKind;
}

/** The content of an opened envelope. */
export interface Opened {
  /** The payload; may be a view sharing memory with the object. */
  payload: Uint8Array;
  /** Whether the payload is a zstd frame. */
  compressed: boolean;
}

/** What an envelope header says, readable without a key. */
export interface EnvelopeInfo {
  /** Format version. */
  version: number;
  /** Whether the payload is a zstd frame. */
  compressed: boolean;
  /** Whether the payload is encrypted. */
  encrypted: boolean;
  /** The key kind that sealed it, or `null` when not encrypted. */
  keyKind: KeyKind | null;
  /** Length of the payload in bytes (after decryption). */
  payloadBytes: number;
}

/**
 * Wrap a payload in an envelope, encrypting it when a key is given.
 *
 * @param key AES-256-GCM key, or `null` to store the payload unencrypted
 * @param payload the bytes to store (already compressed if `opts.compressed`)
 * @param opts the compressed flag and the context to bind
 * @returns the object body to upload
 */
export async function seal(
  key: CryptoKey | null,
  payload: Uint8Array,
  opts: SealOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const compressed = opts.compressed ? FLAG_COMPRESSED : 0;
  if (key === null) {
    const out = new Uint8Array(PLAIN_HEADER_BYTES + payload.length);
    writeFixedHeader(out, compressed, 0);
    out.set(payload, PLAIN_HEADER_BYTES);
    return out;
  }
  const kind = opts.keyKind ?? keyKindOf(key) ?? "data";
  const header = new Uint8Array(SEALED_HEADER_BYTES);
  writeFixedHeader(header, compressed | FLAG_ENCRYPTED, KIND_CODES[kind]);
  const iv = crypto.getRandomValues(header.subarray(PLAIN_HEADER_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: joinAad(header, opts.aad), tagLength: TAG_BYTES * 8 },
    key,
    asBuffer(payload),
  );
  const out = new Uint8Array(SEALED_HEADER_BYTES + sealed.byteLength);
  out.set(header);
  out.set(new Uint8Array(sealed), SEALED_HEADER_BYTES);
  return out;
}

/**
 * Check and open an envelope made by {@linkcode seal}.
 *
 * @param key the key the object was sealed with, or `null` for an
 *   unencrypted repository
 * @param object the object body as read from storage
 * @param aad the same context that was given to `seal`
 * @throws {IntegrityError} if the header is malformed or unknown, the object
 *   is truncated, the tag does not verify (corruption, wrong key or wrong
 *   context), or a plaintext object is opened with a key
 * @throws {KeyError} if the object is encrypted and `key` is `null`
 */
export async function open(
  key: CryptoKey | null,
  object: Uint8Array,
  aad: Uint8Array,
): Promise<Opened> {
  const info = inspectEnvelope(object);
  if (!info.encrypted) {
    if (key !== null) {
      throw new IntegrityError(
        "object is stored unencrypted in an encrypted repository: refusing it as possibly substituted",
      );
    }
    return { payload: object.subarray(PLAIN_HEADER_BYTES), compressed: info.compressed };
  }
  if (key === null) {
    throw new KeyError(
      "object is encrypted but no repository key is loaded: unlock the repository",
    );
  }
  const header = object.subarray(0, SEALED_HEADER_BYTES);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: asBuffer(header.subarray(PLAIN_HEADER_BYTES)),
        additionalData: joinAad(header, aad),
        tagLength: TAG_BYTES * 8,
      },
      key,
      asBuffer(object.subarray(SEALED_HEADER_BYTES)),
    );
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "OperationError") {
      throw new IntegrityError(
        `object does not decrypt: corrupted or wrong key (sealed with the ${info.keyKind} key)`,
        { cause },
      );
    }
    throw cause;
  }
  return { payload: new Uint8Array(plain), compressed: info.compressed };
}

/**
 * Read and validate an envelope header without a key (for fsck and tools).
 *
 * @throws {IntegrityError} naming the first thing that is wrong
 */
export function inspectEnvelope(object: Uint8Array): EnvelopeInfo {
  if (object.length < PLAIN_HEADER_BYTES) {
    throw new IntegrityError(
      `object is truncated: ${object.length} bytes, shorter than the ${PLAIN_HEADER_BYTES}-byte header`,
    );
  }
  for (let i = 0; i < ENVELOPE_MAGIC.length; i++) {
    if (object[i] !== ENVELOPE_MAGIC[i]) {
      throw new IntegrityError('not a tcfs object: bad magic (expected "TCFE")');
    }
  }
  const version = object[4];
  if (version !== ENVELOPE_VERSION) {
    throw new IntegrityError(
      `unknown envelope version ${version} (this tcfs reads version ${ENVELOPE_VERSION}): upgrade tcfs`,
    );
  }
  const flags = object[5];
  if ((flags & ~(FLAG_COMPRESSED | FLAG_ENCRYPTED)) !== 0) {
    throw new IntegrityError(`unknown envelope flags 0x${hex(flags)}`);
  }
  if (object[7] !== 0) {
    throw new IntegrityError(`envelope reserved byte is 0x${hex(object[7])}, expected 0x00`);
  }
  const compressed = (flags & FLAG_COMPRESSED) !== 0;
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  const kindCode = object[6];
  if (!encrypted) {
    if (kindCode !== 0) {
      throw new IntegrityError(`unencrypted envelope names key kind ${kindCode}, expected 0`);
    }
    return {
      version,
      compressed,
      encrypted,
      keyKind: null,
      payloadBytes: object.length - PLAIN_HEADER_BYTES,
    };
  }
  const keyKind = KIND_NAMES[kindCode];
  if (keyKind === undefined) {
    throw new IntegrityError(`unknown envelope key kind ${kindCode}`);
  }
  if (object.length < ENVELOPE_OVERHEAD) {
    throw new IntegrityError(
      `encrypted object is truncated: ${object.length} bytes, shorter than its ${ENVELOPE_OVERHEAD}-byte overhead`,
    );
  }
  return {
    version,
    compressed,
    encrypted,
    keyKind,
    payloadBytes: object.length - ENVELOPE_OVERHEAD,
  };
}

function writeFixedHeader(out: Uint8Array, flags: number, kind: number): void {
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_VERSION;
  out[5] = flags;
  out[6] = kind;
  out[7] = 0;
}

function joinAad(header: Uint8Array, context: Uint8Array): Uint8Array<ArrayBuffer> {
  const aad = new Uint8Array(header.length + context.length);
  aad.set(header);
  aad.set(context, header.length);
  return aad;
}

// WebCrypto's types want ArrayBuffer-backed views; copy only when the view is
// backed by something else (a SharedArrayBuffer).
function asBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
