/**
 * The `sops` metadata block of a SOPS file: the age-wrapped data keys, the
 * MAC, and the rules that say which values are encrypted.
 *
 * Rules (at most one may be set; none means `unencrypted_suffix:
 * _unencrypted`): a value is encrypted unless some key on its path ends with
 * `unencrypted_suffix` or matches `unencrypted_regex`; with
 * `encrypted_suffix` or `encrypted_regex` only values with some key on their
 * path that ends with / matches it are encrypted. List positions are not
 * keys. Regexes are Go RE2 syntax, searched (not anchored) in each key.
 *
 * @module
 */

import { IntegrityError, NotImplementedError } from "../errors.ts";

/** One age recipient and the data key encrypted for it (armored age). */
export interface AgeKeyEntry {
  /** The age recipient, `age1...`. */
  recipient: string;
  /** The data key encrypted for it, armored age. */
  enc: string;
}

/** What decryption needs from the metadata. */
export interface SopsMetadata {
  /** `lastmodified` as written. */
  lastModified: string;
  /** Additional data the MAC is sealed with: `lastmodified` re-formatted by Go's RFC 3339 layout. */
  macAad: string;
  /** The encrypted MAC, `ENC[...]` (empty if the file has none). */
  mac: string;
  /** The sops version that wrote the file. */
  version: string;
  /** The data key wrapped for each age recipient. */
  ageKeys: AgeKeyEntry[];
  /** Other key kinds the file is encrypted for, e.g. `pgp (2)`, for messages. */
  otherKeys: string[];
  /** Whether the MAC covers only encrypted values (sops 3.9+ `mac_only_encrypted`). */
  macOnlyEncrypted: boolean;
  /** Whether the value at a key path is encrypted. */
  isEncrypted(path: readonly string[]): boolean;
}

/**
 * The fixed bytes a `mac_only_encrypted` MAC starts with (SHA-256 of
 * "sops"), so that it never equals the MAC of the same file without it.
 */
export const MAC_ONLY_ENCRYPTED_PREFIX: Uint8Array = new Uint8Array([
  0x8a,
  0x3f,
  0xd2,
  0xad,
  0x54,
  0xce,
  0x66,
  0x52,
  0x7b,
  0x10,
  0x34,
  0xf3,
  0xd1,
  0x47,
  0xbe,
  0x0b,
  0x0b,
  0x97,
  0x5b,
  0x3b,
  0xf4,
  0x4f,
  0x72,
  0xc6,
  0xfd,
  0xad,
  0xec,
  0x81,
  0x76,
  0xf2,
  0x7d,
  0x69,
]);

const OTHER_KEY_KINDS = ["pgp", "kms", "gcp_kms", "azure_kv", "hc_vault"] as const;

/**
 * Read the metadata block.
 *
 * @param raw the value of the top-level `sops` key, as plain data
 * @param source the file, for messages
 * @throws {IntegrityError} if the block is malformed
 * @throws {NotImplementedError} for Shamir key groups and comment regexes
 */
export function parseMetadata(raw: unknown, source: string): SopsMetadata {
  if (!isRecord(raw)) throw bad(source, "the sops metadata is not a mapping");
  const lastModified = text(raw.lastmodified);
  const macAad = goRfc3339(lastModified);
  if (macAad === null) {
    throw bad(source, "sops.lastmodified is not an RFC 3339 timestamp");
  }
  let holder: Record<string, unknown> = raw;
  if (Array.isArray(raw.key_groups) && raw.key_groups.length > 0) {
    if (raw.key_groups.length > 1) {
      throw new NotImplementedError(
        `decrypting ${source}: SOPS files split over ${raw.key_groups.length} key groups (Shamir)`,
      );
    }
    if (!isRecord(raw.key_groups[0])) throw bad(source, "sops.key_groups[0] is not a mapping");
    holder = raw.key_groups[0];
  }
  const ageKeys: AgeKeyEntry[] = [];
  for (const k of list(holder.age)) {
    if (!isRecord(k)) throw bad(source, "an entry of sops.age is not a mapping");
    ageKeys.push({ recipient: text(k.recipient), enc: text(k.enc) });
  }
  const otherKeys = OTHER_KEY_KINDS.filter((kind) => list(holder[kind]).length > 0).map((kind) =>
    `${kind} (${list(holder[kind]).length})`
  );
  for (const name of ["encrypted_comment_regex", "unencrypted_comment_regex"]) {
    if (text(raw[name]) !== "") {
      throw new NotImplementedError(`decrypting ${source}: the SOPS rule ${name}`);
    }
  }
  return {
    lastModified,
    macAad,
    mac: text(raw.mac),
    version: text(raw.version),
    ageKeys,
    otherKeys,
    macOnlyEncrypted: raw.mac_only_encrypted === true,
    isEncrypted: encryptionRule(raw, source),
  };
}

function encryptionRule(raw: Record<string, unknown>, source: string): SopsMetadata["isEncrypted"] {
  const set = ["unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex"]
    .filter((k) => text(raw[k]) !== "");
  if (set.length > 1) {
    throw bad(source, `sops metadata sets more than one of ${set.join(", ")}`);
  }
  const rule = set[0] ?? "unencrypted_suffix";
  const arg = text(raw[rule]) || "_unencrypted";
  switch (rule) {
    case "unencrypted_suffix":
      return (path) => !path.some((k) => k.endsWith(arg));
    case "encrypted_suffix":
      return (path) => path.some((k) => k.endsWith(arg));
    case "unencrypted_regex": {
      const re = goRegExp(arg, source, rule);
      return (path) => !path.some((k) => re.test(k));
    }
    default: {
      const re = goRegExp(arg, source, rule);
      return (path) => path.some((k) => re.test(k));
    }
  }
}

/**
 * Compile a Go RE2 pattern as a JavaScript RegExp. The common syntax is
 * shared; leading inline flags (`(?i)`) and named groups (`(?P<n>`) are
 * translated.
 */
function goRegExp(pattern: string, source: string, name: string): RegExp {
  let p = pattern;
  let flags = "";
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead !== null && !lead[1].includes("U")) {
    flags = [...new Set(lead[1])].join("");
    p = p.slice(lead[0].length);
  }
  p = p.replaceAll("(?P<", "(?<");
  for (const f of [flags + "u", flags]) {
    try {
      return new RegExp(p, f);
    } catch {
      // Some RE2 escapes are only valid outside unicode mode; try without it.
    }
  }
  throw bad(source, `sops.${name} is not a regular expression this program can use`);
}

/**
 * Go's `time.Parse(time.RFC3339, s)` then `Format(time.RFC3339)`: fractional
 * seconds dropped, a zero offset written `Z`; `null` if Go would refuse it.
 */
export function goRfc3339(s: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(
    s,
  );
  if (m === null) return null;
  if (Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) return null;
  const zero = m[5] === "Z" || (m[6] === "00" && m[7] === "00");
  return `${m[1]}T${m[2]}:${m[3]}:${m[4]}${zero ? "Z" : m[5]}`;
}

function bad(source: string, what: string): IntegrityError {
  return new IntegrityError(`${source}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function text(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
