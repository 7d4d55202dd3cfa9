/**
 * How sops types a scalar it reads, which decides the bytes it adds to the
 * MAC: unencrypted YAML scalars are typed the way sops's YAML library
 * (go-yaml v3) types them, so `0777` is the integer 511, `1_000` is 1000,
 * `08` is the float 8, `yes` is a string, `1e3` is the float 1000 and an
 * unquoted `2021-01-02` is a timestamp. In JSON (Go's `encoding/json`) every
 * number is a float.
 *
 * @module
 */

import type { Scalar } from "yaml";
import {
  boolValue,
  floatValue,
  goTimestamp,
  INT64_MAX,
  INT64_MIN,
  intValue,
  strValue,
  type TypedValue,
} from "./sops_values.ts";

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

const UINT64_MAX = 2n ** 64n - 1n;
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
  if (time !== null) return { kind: "time", value: s, mac: new TextEncoder().encode(time) };
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
