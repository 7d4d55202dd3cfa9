/**
 * Wrapping the repository master key with age, for device identities and for
 * a recovery passphrase.
 *
 * ## Wrapped key format
 *
 * A wrapped key is a standard binary age v1 file (age-encryption.org/v1, as
 * written by `age` without `-a`) whose plaintext is this UTF-8 JSON object,
 * with no trailing newline:
 *
 * ```json
 * {"v":1,"masterKey":"<32-byte master key, standard base64 with padding>"}
 * ```
 *
 * JSON rather than raw bytes so the payload is self-describing and can gain
 * fields later (readers ignore unknown fields; `v` changes only for
 * incompatible changes). Readers also accept the ASCII-armored form
 * (`age -a`). Anyone holding a matching identity or the passphrase can
 * recover the master key with the stock CLI, without tcfs:
 * `age -d -i keys.txt wrapped-key | jq -r .masterKey`.
 *
 * - Device wrapping ({@linkcode wrapForRecipients}): one `X25519` stanza per
 *   recipient, so any one device identity unwraps. Only X25519 recipients
 *   (`age1...`) are accepted, so `age` 1.1.1 can always read the file.
 * - Passphrase wrapping ({@linkcode wrapForPassphrase}): one `scrypt` stanza
 *   (age allows no other stanza beside it), scrypt with r = 8, p = 1 and
 *   N = 2^18 by default ({@linkcode DEFAULT_SCRYPT_WORK_FACTOR}), the same as
 *   the `age` CLI. That costs 256 MiB of memory and 1 to 1.7 s of CPU here,
 *   on each wrap and unwrap, and blocks the event loop meanwhile (the
 *   library's scrypt is synchronous): acceptable for a recovery path.
 *
 * @module
 */

import * as age from "age-encryption";
import { IntegrityError, KeyError } from "../errors.ts";
import { recipientOf } from "./identity.ts";
import { MASTER_KEY_BYTES } from "./keys.ts";

/** Default scrypt work factor (log2 of N) for passphrase wrapping; age's own default. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;
/** Lowest work factor accepted; use it only in tests. */
export const MIN_SCRYPT_WORK_FACTOR = 10;
/** Highest work factor accepted, also the highest the age library will unwrap. */
export const MAX_SCRYPT_WORK_FACTOR = 20;

/** Options of {@linkcode wrapForPassphrase}. */
export interface PassphraseOptions {
  /**
   * log2 of the scrypt cost N, from {@linkcode MIN_SCRYPT_WORK_FACTOR} to
   * {@linkcode MAX_SCRYPT_WORK_FACTOR}; default {@linkcode DEFAULT_SCRYPT_WORK_FACTOR}.
   * Lower it only in tests: each step down halves an attacker's cost.
   */
  workFactor?: number;
}

/**
 * Wrap a master key so that any of the given device recipients can unwrap it.
 *
 * @param masterKey the 32-byte master key
 * @param recipients X25519 age recipients, `age1...`
 * @returns a binary age file
 * @throws {KeyError} if there is no recipient or one is not an X25519 recipient
 */
export async function wrapForRecipients(
  masterKey: Uint8Array,
  recipients: string[],
): Promise<Uint8Array> {
  checkMasterKey(masterKey);
  if (recipients.length === 0) {
    throw new KeyError("no age recipient given to wrap the master key for");
  }
  const e = new age.Encrypter();
  for (const r of recipients) {
    // The bech32 prefix ends at the last "1": an X25519 recipient's is "age", and its random
    // data may well begin with "pq1" or "tag" (about 1 in 16,000 keys).
    const prefix = r.slice(0, r.lastIndexOf("1"));
    if (prefix === "age1pq" || prefix === "age1tag") {
      throw new KeyError(
        `age recipient ${
          r.slice(0, 12)
        }... is post-quantum or tagged, which age 1.1.1 cannot decrypt: use an X25519 recipient`,
      );
    }
    try {
      e.addRecipient(r);
    } catch (cause) {
      throw new KeyError(`"${r}" is not a valid age X25519 recipient (age1...)`, { cause });
    }
  }
  return await e.encrypt(encodePayload(masterKey));
}

/**
 * Wrap a master key with a recovery passphrase (age scrypt).
 *
 * @throws {KeyError} if the passphrase is empty
 * @throws {RangeError} if the work factor is outside the accepted range
 */
export async function wrapForPassphrase(
  masterKey: Uint8Array,
  passphrase: string,
  opts: PassphraseOptions = {},
): Promise<Uint8Array> {
  checkMasterKey(masterKey);
  if (passphrase === "") throw new KeyError("recovery passphrase is empty");
  const logN = opts.workFactor ?? DEFAULT_SCRYPT_WORK_FACTOR;
  if (
    !Number.isInteger(logN) || logN < MIN_SCRYPT_WORK_FACTOR || logN > MAX_SCRYPT_WORK_FACTOR
  ) {
    throw new RangeError(
      `scrypt work factor must be an integer from ${MIN_SCRYPT_WORK_FACTOR} to ${MAX_SCRYPT_WORK_FACTOR}, got ${logN}`,
    );
  }
  const e = new age.Encrypter();
  e.setScryptWorkFactor(logN);
  e.setPassphrase(passphrase);
  return await e.encrypt(encodePayload(masterKey));
}

/**
 * Unwrap a master key with device identities.
 *
 * @param wrapped a wrapped key (binary or armored age file)
 * @param identities X25519 identities, `AGE-SECRET-KEY-1...`
 * @throws {KeyError} "no matching age identity" if none of the identities
 *   fits (also when the key is passphrase-wrapped), or an identity is malformed
 * @throws {IntegrityError} if the file is not a well-formed, intact age file
 *   or its payload is not a wrapped key
 */
export async function unwrapWithIdentities(
  wrapped: Uint8Array,
  identities: string[],
): Promise<Uint8Array> {
  if (identities.length === 0) throw new KeyError("no age identity given to unwrap the master key");
  const file = dearmor(wrapped);
  const stanzas = stanzaTypes(file);
  if (stanzas.length === 1 && stanzas[0] === "scrypt") {
    throw new KeyError(
      "no matching age identity: this master key is wrapped with a recovery passphrase, not for devices",
    );
  }
  const d = new age.Decrypter();
  for (const id of identities) {
    await recipientOf(id); // validates without leaking the secret into messages
    d.addIdentity(id.trim());
  }
  const x25519 = stanzas.filter((t) => t === "X25519").length;
  const given = `${identities.length} identit${identities.length === 1 ? "y" : "ies"} given`;
  return await decryptPayload(
    d,
    file,
    x25519 === 0
      ? `no matching age identity: the master key is wrapped for no X25519 recipient ` +
        `(stanzas: ${stanzas.map((t) => t.slice(0, 32)).join(", ") || "none"})`
      : `no matching age identity: the master key is wrapped for ${x25519} device(s), none of ` +
        `them among the ${given}`,
  );
}

/**
 * Unwrap a master key with the recovery passphrase.
 *
 * @throws {KeyError} "wrong recovery passphrase", or if the key is not
 *   passphrase-wrapped
 * @throws {IntegrityError} if the file is malformed or asks for an excessive
 *   scrypt work factor
 */
export async function unwrapWithPassphrase(
  wrapped: Uint8Array,
  passphrase: string,
): Promise<Uint8Array> {
  const file = dearmor(wrapped);
  const stanzas = stanzaTypes(file);
  if (stanzas.length !== 1 || stanzas[0] !== "scrypt") {
    throw new KeyError(
      "this master key is wrapped for device identities, not with a recovery passphrase",
    );
  }
  const d = new age.Decrypter();
  d.addPassphrase(passphrase);
  return await decryptPayload(d, file, "wrong recovery passphrase");
}

async function decryptPayload(
  d: age.Decrypter,
  file: Uint8Array,
  noMatch: string,
): Promise<Uint8Array> {
  let plain: Uint8Array;
  try {
    plain = await d.decrypt(file);
  } catch (cause) {
    // age-encryption 0.3.1 signals every failure with a plain Error; its
    // message is the only way to tell a non-matching key from damage.
    const msg = cause instanceof Error ? cause.message : String(cause);
    if (msg === "no identity matched any of the file's recipients") {
      throw new KeyError(noMatch, { cause });
    }
    if (msg === "scrypt work factor is too high") {
      throw new IntegrityError(
        `wrapped master key asks for a scrypt work factor above 2^${MAX_SCRYPT_WORK_FACTOR}: refusing`,
        { cause },
      );
    }
    throw new IntegrityError(`wrapped master key is corrupted: ${msg}`, { cause });
  }
  return decodePayload(plain);
}

function encodePayload(masterKey: Uint8Array): Uint8Array {
  const b64 = btoa(String.fromCharCode(...masterKey));
  return new TextEncoder().encode(JSON.stringify({ v: 1, masterKey: b64 }));
}

function decodePayload(plain: Uint8Array): Uint8Array {
  let key: Uint8Array | null = null;
  try {
    const doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
    if (doc?.v === 1 && typeof doc.masterKey === "string") {
      key = Uint8Array.from(atob(doc.masterKey), (c) => c.charCodeAt(0));
    } else if (typeof doc?.v === "number" && doc.v > 1) {
      throw new IntegrityError(
        `wrapped master key has format version ${doc.v}, newer than this tcfs: upgrade tcfs`,
      );
    }
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
  }
  if (key === null || key.length !== MASTER_KEY_BYTES) {
    throw new IntegrityError(
      `wrapped master key decrypts but does not hold a ${MASTER_KEY_BYTES}-byte key: wrong file?`,
    );
  }
  return key;
}

const AGE_MAGIC = "age-encryption.org/v1\n";
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";

function dearmor(wrapped: Uint8Array): Uint8Array {
  const head = latin1(wrapped.subarray(0, 64)).trimStart();
  if (!head.startsWith(ARMOR_BEGIN)) return wrapped;
  try {
    return age.armor.decode(new TextDecoder().decode(wrapped));
  } catch (cause) {
    throw new IntegrityError("wrapped master key is damaged: invalid age armor", { cause });
  }
}

/** The type (first argument) of each stanza in an age header, in order. */
function stanzaTypes(file: Uint8Array): string[] {
  if (latin1(file.subarray(0, AGE_MAGIC.length)) !== AGE_MAGIC) {
    throw new IntegrityError("wrapped master key is not an age file (bad header)");
  }
  // Headers are small; the MAC line ends them.
  const text = latin1(file.subarray(0, Math.min(file.length, 1 << 20)));
  const end = text.indexOf("\n--- ");
  if (end < 0) {
    throw new IntegrityError("wrapped master key is damaged or truncated: no age header MAC");
  }
  return text.slice(0, end).split("\n").filter((l) => l.startsWith("-> ")).map((l) =>
    l.slice(3).split(" ")[0]
  );
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function checkMasterKey(masterKey: Uint8Array): void {
  if (masterKey.length !== MASTER_KEY_BYTES) {
    throw new KeyError(`master key must be ${MASTER_KEY_BYTES} bytes, got ${masterKey.length}`);
  }
}
