/**
 * End-to-end encryption for tcfs: the repository master key and its
 * subkeys, the envelope every stored object body is wrapped in, age wrapping
 * of the master key for devices and a recovery passphrase, and device
 * identities.
 *
 * Key hierarchy:
 *
 * ```text
 * master key (32 random bytes, stored only age-wrapped)
 *   ├─ HKDF "tcfs v1 data" → AES-256-GCM key for chunks
 *   ├─ HKDF "tcfs v1 meta" → AES-256-GCM key for manifests and namespace records
 *   └─ HKDF "tcfs v1 id"   → keyed BLAKE3 key for object ids
 * ```
 *
 * @example
 * ```ts
 * import { deriveRepoKeys, generateMasterKey, generateRepoId, open, seal } from "./mod.ts";
 *
 * const keys = await deriveRepoKeys(generateMasterKey(), generateRepoId());
 * const aad = new TextEncoder().encode("chunk/0123");
 * const obj = await seal(keys.dataKey, new Uint8Array([1, 2, 3]), { compressed: false, aad });
 * const { payload } = await open(keys.dataKey, obj, aad);
 * ```
 *
 * @module
 */

export {
  deriveRepoKeys,
  generateMasterKey,
  generateRepoId,
  KEY_LABELS,
  type KeyKind,
  keyKindOf,
  MASTER_KEY_BYTES,
  REPO_ID_BYTES,
  type RepoKeys,
} from "./keys.ts";
export {
  ENVELOPE_MAGIC,
  ENVELOPE_OVERHEAD,
  ENVELOPE_VERSION,
  type EnvelopeInfo,
  inspectEnvelope,
  NONCE_BYTES,
  open,
  type Opened,
  PLAIN_HEADER_BYTES,
  seal,
  SEALED_HEADER_BYTES,
  type SealOptions,
  TAG_BYTES,
} from "./envelope.ts";
export {
  DEFAULT_SCRYPT_WORK_FACTOR,
  MAX_SCRYPT_WORK_FACTOR,
  MIN_SCRYPT_WORK_FACTOR,
  type PassphraseOptions,
  unwrapWithIdentities,
  unwrapWithPassphrase,
  wrapForPassphrase,
  wrapForRecipients,
} from "./age.ts";
export {
  type AgeIdentity,
  generateIdentity,
  parseIdentityFile,
  readIdentityFile,
  recipientOf,
  writeIdentityFile,
  type WriteIdentityOptions,
} from "./identity.ts";
