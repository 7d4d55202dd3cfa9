/**
 * SOPS leaf values: the `ENC[AES256_GCM,...]` encoding, the typed
 * plaintexts it carries, and the bytes each value contributes to the MAC.
 *
 * Facts of the format this module follows (SOPS 3.x, checked against files
 * written by sops 3.7.1 and later):
 *
 * - An encrypted value is the string
 *   `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<type>]`, standard
 *   base64 with padding. AES-256-GCM with a 32-byte IV (longer than GCM's
 *   usual 12, so WebCrypto cannot open it; `node:crypto` can) and a 16-byte
 *   tag; `data` is the ciphertext without the tag.
 * - `type` says how to read the plaintext: `str` (UTF-8 text), `int`
 *   (decimal, Go `strconv.Atoi`), `float` (Go `strconv.ParseFloat`), `bool`
 *   (Go `strconv.ParseBool`: `true`, `True`, `1`, `t`...), `bytes` (raw),
 *   `time` (RFC 3339, sops 3.9+) and `comment` (a YAML comment line).
 * - An empty string is stored as an empty string, not encrypted.
 * - MAC bytes of a value (Go `sops.ToBytes`): strings and bytes as they
 *   are, integers in decimal, floats in the shortest round-trip decimal
 *   notation without exponent (`FormatFloat(f, 'f', -1, 64)`), booleans as
 *   `True` or `False`, timestamps in RFC 3339 with nanoseconds; null values
 *   and comments contribute nothing.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { concatBytes } from "../bytes.ts";

/** The value types an `ENC[...]` string can carry. */
export type SopsValueType = "str" | "int" | "float" | "bool" | "bytes" | "time" | "comment";

/** A scalar after typing: its value for callers and its bytes for the MAC. */
export type TypedValue =
  | { kind: "null"; value: null }
  | {
    kind: Exclude<SopsValueType, "comment">;
    /** string, number, bigint (integers beyond 2^53), boolean or Uint8Array. */
    value: string | number | bigint | boolean | Uint8Array;
    /** What the value adds to the MAC. */
    mac: Uint8Array;
  };

/** The parts of an `ENC[AES256_GCM,...]` string. */
export interface EncryptedValue {
  /** The ciphertext without the tag. */
  data: Uint8Array;
  /** The GCM nonce (32 bytes as sops writes it). */
  iv: Uint8Array;
  /** The 16-byte GCM tag. */
  tag: Uint8Array;
  /** The plaintext's type (`str`, `int`...). */
  type: string;
}

const ENC_RE =
  /^ENC\[AES256_GCM,data:([A-Za-z0-9+/]*={0,2}),iv:([A-Za-z0-9+/]+={0,2}),tag:([A-Za-z0-9+/]+={0,2}),type:([a-z]+)\]$/;
const TAG_BYTES = 16;
/** IV length sops writes. */
export const SOPS_IV_BYTES = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether a string has the shape of a SOPS-encrypted value. */
export function isEncryptedString(s: string): boolean {
  return s.startsWith("ENC[AES256_GCM,");
}

/** Split an `ENC[...]` string into its parts; `null` if it is not well formed. */
export function parseEncrypted(s: string): EncryptedValue | null {
  const m = ENC_RE.exec(s);
  if (m === null) return null;
  const [data, iv, tag] = [m[1], m[2], m[3]].map(fromBase64);
  if (data === null || iv === null || tag === null || tag.length !== TAG_BYTES || iv.length === 0) {
    return null;
  }
  return { data, iv, tag, type: m[4] };
}

/** Format an `ENC[...]` string. */
export function formatEncrypted(v: EncryptedValue): string {
  return `ENC[AES256_GCM,data:${toBase64(v.data)},iv:${toBase64(v.iv)},tag:${
    toBase64(v.tag)
  },type:${v.type}]`;
}

/**
 * Open an encrypted value with the data key and the additional data (the
 * key path, see `sops_tree.ts`).
 *
 * @returns the plaintext bytes, or `null` if authentication fails
 */
export function openValue(key: Uint8Array, v: EncryptedValue, aad: string): Uint8Array | null {
  try {
    const d = createDecipheriv("aes-256-gcm", key, v.iv);
    d.setAAD(encoder.encode(aad));
    d.setAuthTag(v.tag);
    const head = d.update(v.data);
    const tail = d.final();
    return concatBytes([new Uint8Array(head), new Uint8Array(tail)]);
  } catch {
    return null;
  }
}

/** Encrypt plaintext bytes the way sops does (used by the MAC and by tests). */
export function sealValue(
  key: Uint8Array,
  plain: Uint8Array,
  aad: string,
  type: SopsValueType,
  iv: Uint8Array = crypto.getRandomValues(new Uint8Array(SOPS_IV_BYTES)),
): string {
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(encoder.encode(aad));
  const data = concatBytes([new Uint8Array(c.update(plain)), new Uint8Array(c.final())]);
  return formatEncrypted({ data, iv, tag: new Uint8Array(c.getAuthTag()), type });
}

/**
 * Read decrypted bytes as the type the value names.
 *
 * @returns the typed value, or a reason (never containing the plaintext)
 */
export function decodePlaintext(type: string, bytes: Uint8Array): TypedValue | { error: string } {
  const text = decoder.decode(bytes);
  switch (type) {
    case "str":
      return { kind: "str", value: text, mac: bytes };
    case "bytes":
      return { kind: "bytes", value: bytes, mac: bytes };
    case "int": {
      if (!/^[+-]?[0-9]+$/.test(text)) return { error: "type int but not a decimal integer" };
      const n = BigInt(text);
      if (n < INT64_MIN || n > INT64_MAX) return { error: "type int but out of 64-bit range" };
      return intValue(n);
    }
    case "float": {
      const f = parseGoFloat(text);
      return f === null ? { error: "type float but not a float" } : floatValue(f);
    }
    case "bool": {
      const b = GO_BOOLS.get(text);
      return b === undefined ? { error: "type bool but not a boolean" } : boolValue(b);
    }
    case "time": {
      const t = goTimestamp(text, true);
      return t === null ? { error: "type time but not an RFC 3339 timestamp" } : {
        kind: "time",
        value: text,
        mac: encoder.encode(t),
      };
    }
    default:
      return { error: `unknown value type '${type.slice(0, 16)}'` };
  }
}

/** Encode a typed value's plaintext the way sops encrypts it. */
export function encodePlaintext(v: Exclude<TypedValue, { kind: "null" }>): Uint8Array {
  // The encrypted form of a value is exactly its MAC form in every case:
  // sops encrypts booleans as True/False and floats without exponent too.
  return v.mac;
}

/**
 * Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest decimal that
 * reads back as `f`, never in exponent notation.
 */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const sign = f < 0 || Object.is(f, -0) ? "-" : "";
  const s = Math.abs(f).toString(); // shortest round-trip digits, like Go
  const e = s.indexOf("e");
  if (e < 0) return sign + s;
  const exp = Number(s.slice(e + 1));
  const digits = s.slice(0, e).replace(".", "");
  const point = 1 + exp; // position of the decimal point within `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Range of Go's `int` (64 bits). */
export const INT64_MIN: bigint = -(2n ** 63n);
/** Range of Go's `int` (64 bits). */
export const INT64_MAX: bigint = 2n ** 63n - 1n;
const GO_BOOLS = new Map<string, boolean>([
  ..."1 t T TRUE true True".split(" ").map((s) => [s, true] as [string, boolean]),
  ..."0 f F FALSE false False".split(" ").map((s) => [s, false] as [string, boolean]),
]);
/** Go's `strconv.ParseFloat(s, 64)` for decimal, inf and nan spellings. */
function parseGoFloat(s: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return null;
  const f = Number(s);
  return Number.isFinite(f) ? f : null;
}

/**
 * The RFC 3339 form (with nanoseconds, trailing zeros dropped, `Z` for UTC)
 * that Go's `time.Time.MarshalText` gives for a timestamp go-yaml accepts;
 * `null` if `s` is not one. `strict` accepts only RFC 3339 itself.
 */
export function goTimestamp(s: string, strict: boolean): string | null {
  const m = strict ? RFC3339.exec(s) : YAML_DATE.exec(s) ?? YAML_T.exec(s) ?? YAML_SPACE.exec(s);
  if (m === null) return null;
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? "0"));
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || h > 23 || mi > 59 || se > 59) return null;
  const frac = (m[7] ?? "").slice(1, 10).replace(/0+$/, "");
  const zone = m[8] === undefined || m[8] === "+00:00" || m[8] === "-00:00" ? "Z" : m[8];
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${m[1]}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(se)}${frac ? "." + frac : ""}${zone}`;
}

// The layouts go-yaml tries (date only; T or t with a zone; a space and no zone).
const YAML_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const YAML_T =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const YAML_SPACE = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A typed value with its MAC bytes. */
export function strValue(s: string): TypedValue {
  return { kind: "str", value: s, mac: encoder.encode(s) };
}

/** A typed value with its MAC bytes. */
export function intValue(n: bigint): TypedValue {
  const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
  return { kind: "int", value: safe ? Number(n) : n, mac: encoder.encode(n.toString()) };
}

/** A typed value with its MAC bytes. */
export function floatValue(f: number): TypedValue {
  return { kind: "float", value: f, mac: encoder.encode(formatGoFloat(f)) };
}

/** A typed value with its MAC bytes. */
export function boolValue(b: boolean): TypedValue {
  return { kind: "bool", value: b, mac: encoder.encode(b ? "True" : "False") };
}

function fromBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
