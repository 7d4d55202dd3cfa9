/**
 * Lexical layer shared by `.tc` file stubs and `.tcf` directory stubs: line
 * splitting, the percent-encoding of text values, and the value syntaxes
 * (counts, hashes, modes, names).
 *
 * Every reader here is strict and canonical: a value has exactly one valid
 * spelling, so formatting a parsed stub gives back the same bytes. Readers
 * throw {@linkcode StubFormatError} with a message that names the field but
 * not the line; the stub parsers add the location.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";

/** A stub file (`.tc` or `.tcf`) is malformed, or a stub value cannot be written. */
export class StubFormatError extends IntegrityError {}

/** Run `read` and prefix any {@linkcode StubFormatError} it throws with `prefix`. */
export function located<T>(prefix: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof StubFormatError) throw new StubFormatError(`${prefix}: ${e.message}`);
    throw e;
  }
}

/** Bytes written as themselves in percent-encoded text; every other byte becomes `%XX`. */
const LITERAL = new Uint8Array(128);
for (
  const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/[]"
) {
  LITERAL[c.charCodeAt(0)] = 1;
}

const HEX_UPPER = "0123456789ABCDEF";
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Quote a value for an error message, cut short so one bad line cannot flood a log. */
export function quote(value: string): string {
  return value.length > 64 ? `'${value.slice(0, 61)}...'` : `'${value}'`;
}

/**
 * Percent-encode `text` (UTF-8 bytes outside the literal set become `%XX`,
 * uppercase hex). The result is printable ASCII without spaces.
 */
export function encodeText(text: string, field: string): string {
  if (!text.isWellFormed()) {
    throw new StubFormatError(
      `${field}: contains a lone UTF-16 surrogate, which UTF-8 cannot hold`,
    );
  }
  let out = "";
  for (const b of utf8Encoder.encode(text)) {
    out += b < 128 && LITERAL[b] === 1
      ? String.fromCharCode(b)
      : "%" + HEX_UPPER[b >> 4] + HEX_UPPER[b & 15];
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

/**
 * Decode canonical percent-encoded text, rejecting every non-canonical
 * spelling (lowercase hex, escaped literal bytes, raw bytes that need an
 * escape) and escapes that do not form valid UTF-8.
 */
export function decodeText(value: string, field: string): string {
  const bytes = new Uint8Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x25) {
      if (c >= 128) {
        throw new StubFormatError(`${field}: non-ASCII character must be percent-encoded`);
      }
      if (LITERAL[c] !== 1) {
        const ch = value[i];
        const escaped = "%" + HEX_UPPER[c >> 4] + HEX_UPPER[c & 15];
        throw new StubFormatError(
          `${field}: character '${ch}' must be percent-encoded as ${escaped}`,
        );
      }
      bytes[n++] = c;
      continue;
    }
    const escape = value.slice(i, i + 3);
    const hi = hexValue(value.charCodeAt(i + 1));
    const lo = hexValue(value.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) {
      if (/^%[0-9A-Fa-f]{2}$/.test(escape)) {
        throw new StubFormatError(
          `${field}: percent escape ${quote(escape)} must use uppercase hex digits`,
        );
      }
      throw new StubFormatError(`${field}: '%' not followed by two hex digits: ${quote(escape)}`);
    }
    const b = hi * 16 + lo;
    if (b < 128 && LITERAL[b] === 1) {
      throw new StubFormatError(
        `${field}: ${quote(escape)} encodes '${
          String.fromCharCode(b)
        }', which must be written as is`,
      );
    }
    bytes[n++] = b;
    i += 2;
  }
  try {
    return utf8Decoder.decode(bytes.subarray(0, n));
  } catch {
    throw new StubFormatError(`${field}: percent-encoded bytes are not valid UTF-8`);
  }
}

/** Read a decimal count: `0` or a digit string without leading zeros, at most 2^53-1. */
export function parseCount(value: string, field: string): number {
  if (!/^[0-9]+$/.test(value)) {
    throw new StubFormatError(`${field}: not a non-negative integer: ${quote(value)}`);
  }
  if (value.length > 1 && value[0] === "0") {
    throw new StubFormatError(`${field}: leading zeros not allowed: ${quote(value)}`);
  }
  const n = Number(value);
  if (n > Number.MAX_SAFE_INTEGER) {
    throw new StubFormatError(
      `${field}: larger than 2^53-1 (Number.MAX_SAFE_INTEGER): ${quote(value)}`,
    );
  }
  return n;
}

/** Check a count before writing it; return its decimal spelling. */
export function formatCount(n: number, field: string): string {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new StubFormatError(`${field}: not a non-negative safe integer: ${String(n)}`);
  }
  return String(n);
}

/** Read a content id: `blake3:` and 64 lowercase hex digits. */
export function parseOid(value: string, field: string): string {
  const colon = value.indexOf(":");
  if (colon < 0) {
    throw new StubFormatError(`${field}: expected 'blake3:<64 hex digits>', got ${quote(value)}`);
  }
  const algorithm = value.slice(0, colon);
  if (algorithm !== "blake3") {
    throw new StubFormatError(`${field}: unsupported hash algorithm ${quote(algorithm)}`);
  }
  const hex = value.slice(colon + 1);
  if (hex.length !== 64) {
    throw new StubFormatError(`${field}: digest must be 64 hex digits, got ${hex.length}`);
  }
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new StubFormatError(`${field}: digest must be lowercase hex: ${quote(hex)}`);
  }
  return value;
}

/** Read permission bits: exactly four octal digits, `0000` to `7777`. */
export function parseMode(value: string, field: string): number {
  if (!/^[0-7]{4}$/.test(value)) {
    throw new StubFormatError(
      `${field}: expected four octal digits like 0644, got ${quote(value)}`,
    );
  }
  return parseInt(value, 8);
}

/** Check permission bits before writing them; return the four-digit octal spelling. */
export function formatMode(mode: number, field: string): string {
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new StubFormatError(
      `${field}: not permission bits between 0 and 0o7777: ${String(mode)}`,
    );
  }
  return mode.toString(8).padStart(4, "0");
}

/** Check a decoded origin: non-empty and starting with a `scheme://`. */
export function checkOrigin(origin: string, field: string): void {
  if (typeof origin !== "string" || origin.length === 0) {
    throw new StubFormatError(`${field}: empty`);
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(origin)) {
    throw new StubFormatError(`${field}: expected '<scheme>://...', got ${quote(origin)}`);
  }
}

/** Check a decoded directory entry name: what one path component may be. */
export function checkName(name: string, field: string): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new StubFormatError(`${field}: empty name`);
  }
  if (name === "." || name === "..") {
    throw new StubFormatError(`${field}: ${quote(name)} is not a file name`);
  }
  if (name.includes("/")) throw new StubFormatError(`${field}: name contains '/': ${quote(name)}`);
  if (name.includes("\0")) throw new StubFormatError(`${field}: name contains a NUL character`);
}

/** Number of UTF-8 bytes `text` takes, never less than its UTF-16 length. */
function utf8Length(text: string): number {
  return utf8Encoder.encode(text).length;
}

/**
 * Turn stub bytes or text into its lines, checking everything that is about
 * the file as a whole: size limit, UTF-8, byte order mark, LF endings, a final
 * newline, no empty lines, only printable ASCII. `what` starts every message.
 */
export function splitStubLines(
  input: string | Uint8Array,
  maxBytes: number,
  what: string,
): string[] {
  let text: string;
  if (typeof input === "string") {
    // A string's UTF-8 size is at least its length, so the cheap test rules out huge input first.
    if (input.length > maxBytes || utf8Length(input) > maxBytes) {
      throw new StubFormatError(`${what}: stub larger than ${maxBytes} bytes`);
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) {
      throw new StubFormatError(
        `${what}: stub larger than ${maxBytes} bytes (${input.byteLength} bytes)`,
      );
    }
    try {
      text = utf8Decoder.decode(input);
    } catch {
      throw new StubFormatError(`${what}: not valid UTF-8`);
    }
  }
  if (text.length === 0) throw new StubFormatError(`${what}: empty file`);
  if (text.charCodeAt(0) === 0xfeff) {
    throw new StubFormatError(`${what}: starts with a byte order mark`);
  }
  if (!text.endsWith("\n")) throw new StubFormatError(`${what}: missing trailing newline`);
  const lines = text.slice(0, -1).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.endsWith("\r")) throw new StubFormatError(`${what}: line ${i + 1}: CRLF line ending`);
    if (line.length === 0) throw new StubFormatError(`${what}: line ${i + 1}: empty line`);
    for (let j = 0; j < line.length; j++) {
      const c = line.charCodeAt(j);
      if (c < 0x20 || c > 0x7e) {
        const hex = line.codePointAt(j)!.toString(16).toUpperCase().padStart(4, "0");
        throw new StubFormatError(
          `${what}: line ${i + 1}: character U+${hex} not allowed (only printable ASCII)`,
        );
      }
    }
  }
  return lines;
}

/**
 * Split `key value` at the first space. The key is lowercase letters; the
 * value is non-empty. Whether the value may hold spaces is the caller's rule.
 */
export function splitKeyValue(line: string): { key: string; value: string } {
  const space = line.indexOf(" ");
  if (space < 0) throw new StubFormatError(`expected 'key value', got ${quote(line)}`);
  const key = line.slice(0, space);
  const value = line.slice(space + 1);
  if (!/^[a-z]+$/.test(key)) {
    throw new StubFormatError(`key must be lowercase letters a-z, got ${quote(key)}`);
  }
  if (value.length === 0 || value[0] === " ") {
    throw new StubFormatError(`${key}: value must follow a single space`);
  }
  return { key, value };
}
