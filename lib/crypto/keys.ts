/**
 * Repository master key and the subkeys derived from it.
 *
 * Every encrypted repository has one secret: a 32-byte master key made by
 * {@linkcode generateMasterKey}. It never touches the bucket in the clear; it
 * is stored only wrapped with age (see `age.ts`). Everything else is derived
 * from it with HKDF-SHA256 (RFC 5869) through WebCrypto:
 *
 * | `info` label (UTF-8) | output   | used for                                        |
 * | -------------------- | -------- | ----------------------------------------------- |
 * | `"tcfs v1 data"`     | 32 bytes | AES-256-GCM key sealing chunk bodies            |
 * | `"tcfs v1 meta"`     | 32 bytes | AES-256-GCM key sealing manifests, commit logs, |
 * |                      |          | snapshots and other namespace records           |
 * | `"tcfs v1 id"`       | 32 bytes | key of keyed BLAKE3 for chunk and object ids    |
 *
 * HKDF parameters: hash SHA-256, input keying material = the master key,
 * salt = the 16-byte repository id (random, stored in the repository config),
 * info = the label above with no terminator, output length 32 bytes. The salt
 * binds every subkey to one repository, so a master key reused by mistake for
 * two repositories still yields unrelated subkeys.
 *
 * Why a meta key separate from the data key: chunks and metadata records are
 * different object kinds with different writers and lifetimes; separate keys
 * give each its own random-nonce budget (see `envelope.ts`), and a record can
 * never be mistaken for a chunk (or the reverse) even if the caller-supplied
 * AAD contexts of two objects happened to collide. It costs one HKDF call.
 *
 * The AES keys are non-extractable `CryptoKey`s; the id key is raw bytes
 * because the BLAKE3 implementations take keys as bytes.
 *
 * @module
 */

import { ConfigError, KeyError } from "../errors.ts";

/** Length of a master key in bytes. */
export const MASTER_KEY_BYTES = 32;

/** Length of a repository id (the HKDF salt) in bytes. */
export const REPO_ID_BYTES = 16;

/** HKDF `info` labels, one per subkey; changing one changes every key it derives. */
export const KEY_LABELS: {
  readonly data: "tcfs v1 data";
  readonly meta: "tcfs v1 meta";
  readonly id: "tcfs v1 id";
} = Object.freeze({ data: "tcfs v1 data", meta: "tcfs v1 meta", id: "tcfs v1 id" });

/** Which AEAD subkey sealed an object; recorded in the envelope header. */
export type KeyKind = "data" | "meta";

/** The subkeys of one repository, derived from its master key. */
export interface RepoKeys {
  /** AES-256-GCM key for chunk bodies (non-extractable). */
  dataKey: CryptoKey;
  /** AES-256-GCM key for manifests and namespace records (non-extractable). */
  metaKey: CryptoKey;
  /** 32-byte key for keyed BLAKE3 object ids. */
  idKey: Uint8Array;
}

// Remembers which label derived a key so that `seal` can write the right key
// kind into the header without every caller having to repeat it.
const kinds = new WeakMap<CryptoKey, KeyKind>();

/**
 * Tell which subkey `key` is, if it came from {@linkcode deriveRepoKeys}.
 *
 * @returns `"data"` or `"meta"`, or `undefined` for a key made elsewhere.
 */
export function keyKindOf(key: CryptoKey): KeyKind | undefined {
  return kinds.get(key);
}

/** Make a new random 32-byte master key. */
export function generateMasterKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(MASTER_KEY_BYTES));
}

/** Make a new random 16-byte repository id (the HKDF salt). */
export function generateRepoId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(REPO_ID_BYTES));
}

/**
 * Derive the subkeys of a repository from its master key.
 *
 * Deterministic: the same master key and repository id always give the same
 * keys, on every client.
 *
 * @param masterKey the 32-byte master key
 * @param repoId the 16-byte repository id, used as HKDF salt
 * @throws {KeyError} if the master key is not 32 bytes
 * @throws {ConfigError} if the repository id is not 16 bytes
 */
export async function deriveRepoKeys(masterKey: Uint8Array, repoId: Uint8Array): Promise<RepoKeys> {
  if (masterKey.length !== MASTER_KEY_BYTES) {
    throw new KeyError(
      `master key must be ${MASTER_KEY_BYTES} bytes, got ${masterKey.length}: the wrapped key is damaged`,
    );
  }
  if (repoId.length !== REPO_ID_BYTES) {
    throw new ConfigError(
      `repository id must be ${REPO_ID_BYTES} bytes, got ${repoId.length}: the repository config is damaged`,
    );
  }
  const ikm = await crypto.subtle.importKey("raw", copy(masterKey), "HKDF", false, [
    "deriveBits",
    "deriveKey",
  ]);
  const salt = copy(repoId);
  const [dataKey, metaKey, idBits] = await Promise.all([
    deriveAesKey(ikm, salt, KEY_LABELS.data),
    deriveAesKey(ikm, salt, KEY_LABELS.meta),
    crypto.subtle.deriveBits(hkdfParams(salt, KEY_LABELS.id), ikm, 256),
  ]);
  kinds.set(dataKey, "data");
  kinds.set(metaKey, "meta");
  return { dataKey, metaKey, idKey: new Uint8Array(idBits) };
}

async function deriveAesKey(ikm: CryptoKey, salt: Uint8Array<ArrayBuffer>, label: string) {
  return await crypto.subtle.deriveKey(
    hkdfParams(salt, label),
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function hkdfParams(salt: Uint8Array<ArrayBuffer>, label: string): HkdfParams {
  return { name: "HKDF", hash: "SHA-256", salt, info: new TextEncoder().encode(label) };
}

// WebCrypto wants ArrayBuffer-backed views; a copy also detaches us from
// caller buffers that may be SharedArrayBuffer-backed or mutated later.
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
