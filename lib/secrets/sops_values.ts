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
 * Unencrypted YAML scalars are typed the way sops's YAML library (go-yaml
 * v3) types them, because their MAC bytes depend on it: `0777` is the
 * integer 511, `1_000` is 1000, `yes` is a string, `1e3` is the float 1000,
 * an unquoted `2021-01-02` is a timestamp. In JSON every number is a float.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import type { Scalar } from "yaml";

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
  data: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
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
    return concat([new Uint8Array(head), new Uint8Array(tail)]);
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
  const data = concat([new Uint8Array(c.update(plain)), new Uint8Array(c.final())]);
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
 * Type a scalar the way sops sees it, from a YAML document node.
 *
 * @param json the node comes from a JSON file: numbers are floats (Go's
 *   `encoding/json`), otherwise go-yaml v3's plain-scalar rules apply
 * @returns the typed value, or a reason sops would refuse it
 */
export function typeScalar(node: Scalar, json: boolean): TypedValue | { error: string } {
  const v = node.value;
  if (v instanceof Uint8Array) return { kind: "bytes", value: v, mac: v };
  if (node.type !== "PLAIN") return strValue(String(v ?? ""));
  // Plain scalars: re-type from the source text, not from the yaml package's
  // YAML 1.2 reading, which differs from go-yaml on octals, underscores...
  const src = (node.srcToken as { source?: string } | undefined)?.source;
  const text = src !== undefined && !src.includes("\n")
    ? src
    : v === null || v === undefined
    ? ""
    : String(v);
  if (json) return typeJsonPlain(text);
  const tag = node.tag;
  if (tag === undefined || tag === "" || tag === "!") return typePlain(text);
  switch (tag) {
    case "tag:yaml.org,2002:str":
      return strValue(text);
    case "tag:yaml.org,2002:int":
    case "tag:yaml.org,2002:float":
    case "tag:yaml.org,2002:bool":
    case "tag:yaml.org,2002:null":
    case "tag:yaml.org,2002:timestamp": {
      const r = typePlain(text);
      const want = tag.slice("tag:yaml.org,2002:".length);
      if ("error" in r) return r;
      if (want === "float" && r.kind === "int") return floatValue(Number(r.value));
      const got = r.kind === "time" ? "timestamp" : r.kind;
      return got === want ? r : { error: `cannot read a !!${got} as !!${want}` };
    }
    default:
      // Tags go-yaml does not resolve leave the text as a string.
      return strValue(text);
  }
}

/** Whether a typed key is a string (sops only supports string keys). */
export function keyText(node: unknown, json: boolean): string | null {
  if (node === null || typeof node !== "object" || !("value" in node)) return null;
  const t = typeScalar(node as Scalar, json);
  return "error" in t || t.kind !== "str" ? null : t.value as string;
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

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const GO_BOOLS = new Map<string, boolean>([
  ..."1 t T TRUE true True".split(" ").map((s) => [s, true] as [string, boolean]),
  ..."0 f F FALSE false False".split(" ").map((s) => [s, false] as [string, boolean]),
]);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** go-yaml v3's reading of an untagged plain scalar (its `resolve`). */
function typePlain(s: string): TypedValue | { error: string } {
  switch (s) {
    case "":
    case "~":
    case "null":
    case "Null":
    case "NULL":
      return { kind: "null", value: null };
    case "true":
    case "True":
    case "TRUE":
      return boolValue(true);
    case "false":
    case "False":
    case "FALSE":
      return boolValue(false);
    case ".nan":
    case ".NaN":
    case ".NAN":
      return floatValue(NaN);
    case ".inf":
    case ".Inf":
    case ".INF":
    case "+.inf":
    case "+.Inf":
    case "+.INF":
      return floatValue(Infinity);
    case "-.inf":
    case "-.Inf":
    case "-.INF":
      return floatValue(-Infinity);
  }
  const c = s[0];
  if (c === ".") {
    return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? floatValue(Number(s)) : strValue(s);
  }
  if (c !== "+" && c !== "-" && !(c >= "0" && c <= "9")) return strValue(s);
  const time = goTimestamp(s, false);
  if (time !== null) return { kind: "time", value: s, mac: encoder.encode(time) };
  const plain = s.replaceAll("_", "");
  const int = goParseInt(plain);
  if (int !== null) {
    if (int >= INT64_MIN && int <= INT64_MAX) return intValue(int);
    if (int <= UINT64_MAX && c !== "+" && c !== "-") {
      return { error: "integer beyond the signed 64-bit range, which sops cannot handle" };
    }
  }
  if (YAML_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return floatValue(f);
  }
  return strValue(s);
}

/** Go's `strconv.ParseInt(s, 0, 64)` syntax (range checked by the caller). */
function goParseInt(s: string): bigint | null {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/
    .exec(s);
  if (m === null) return null;
  const n = m[2] !== undefined
    ? BigInt("0x" + m[2])
    : m[3] !== undefined
    ? BigInt("0o" + m[3])
    : m[4] !== undefined
    ? BigInt("0b" + m[4])
    : m[5] !== undefined
    ? BigInt("0o0" + m[5])
    : BigInt(m[6]);
  return m[1] === "-" ? -n : n;
}

/** Go's `strconv.ParseFloat(s, 64)` for decimal, inf and nan spellings. */
function parseGoFloat(s: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return null;
  const f = Number(s);
  return Number.isFinite(f) ? f : null;
}

/** A JSON scalar as Go's `encoding/json` decodes it into `interface{}`. */
function typeJsonPlain(s: string): TypedValue | { error: string } {
  if (s === "null") return { kind: "null", value: null };
  if (s === "true") return boolValue(true);
  if (s === "false") return boolValue(false);
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(s)) {
    const f = Number(s);
    return Number.isFinite(f) ? floatValue(f) : { error: "number out of range" };
  }
  return { error: "not a JSON value" };
}

/**
 * The RFC 3339 form (with nanoseconds, trailing zeros dropped, `Z` for UTC)
 * that Go's `time.Time.MarshalText` gives for a timestamp go-yaml accepts;
 * `null` if `s` is not one. `strict` accepts only RFC 3339 itself.
 */
function goTimestamp(s: string, strict: boolean): string | null {
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

function strValue(s: string): TypedValue {
  return { kind: "str", value: s, mac: encoder.encode(s) };
}

function intValue(n: bigint): TypedValue {
  const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
  return { kind: "int", value: safe ? Number(n) : n, mac: encoder.encode(n.toString()) };
}

function floatValue(f: number): TypedValue {
  return { kind: "float", value: f, mac: encoder.encode(formatGoFloat(f)) };
}

function boolValue(b: boolean): TypedValue {
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

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
