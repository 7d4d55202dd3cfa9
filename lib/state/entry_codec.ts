/**
 * The binary encoding of a {@link SyncedEntry} as stored in the state
 * database (schema version 1). A structured-clone object took ~250 bytes of
 * value per entry; this takes ~100 for a file with a manifest, an oid and a
 * two-device version vector, which halves the database (docs/STATE.md).
 *
 * ```text
 * byte 0  flags: bits 0-1 kind (0 file, 1 dir, 2 symlink)
 *                bits 2-3 hydration (0 hydrated, 1 stub, 2 pinned)
 *                bit 4 manifestId present, bit 5 oid present, bit 6 target present
 *                bit 7 ctime and syncedAt are stored as differences from mtime
 * then    num size, num mtime, num mode, num ino, num ctime, num syncedAt
 * then    str manifestId, str oid, str target (each only if its flag is set)
 * then    uvarint n, then n times (str device, num counter): the version vector
 * ```
 *
 * - `uvarint`: unsigned LEB128, up to 2^53 - 1.
 * - `num`: any JavaScript number, exactly. A uvarint `u`: even means the
 *   integer `u / 2`; `1` means an IEEE-754 float64 follows (8 bytes, little
 *   endian: fractions, -0, NaN, huge values); any other odd `u` means the
 *   integer `-(u - 1) / 2`. Integers of magnitude 2^52 or more use the float.
 * - `str`: a uvarint tag: `0` then 32 bytes, a 64-digit lowercase hex string
 *   (manifest ids, oids); `1` then 8 bytes, a 16-digit lowercase hex string
 *   (device ids); `t >= 2` then `t - 2` bytes of UTF-8.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { StateError } from "./schema.ts";

/** Hydration state of a synced file: `pinned` is hydrated and kept so (never evicted). */
export type Hydration = "hydrated" | "stub" | "pinned";

/** What was last synced for one path: the base of the next three-way comparison. */
export interface SyncedEntry {
  /** Kind of entry. */
  kind: "file" | "dir" | "symlink";
  /** Size in bytes as last synced (files), target length (symlinks). */
  size: number;
  /** Modification time as last synced, ms since the epoch. */
  mtime: number;
  /** Permission bits as last synced. */
  mode: number;
  /** Local inode number at the last sync (with ctime: an unchanged file is never re-read). */
  ino: number;
  /** Local change time at the last sync, ms. */
  ctime: number;
  /** Manifest id of the synced file version. */
  manifestId?: string;
  /** Whole-file id of the synced content. */
  oid?: string;
  /** Symlink target. */
  target?: string;
  /** The version vector that was synced. */
  vv: Record<string, number>;
  /** Whether the content is on disk. */
  hydration: Hydration;
  /** When the path was synced, ms since the epoch. */
  syncedAt: number;
}

/** Largest encoded entry: Deno KV's value limit. */
export const MAX_ENTRY_BYTES = 65536;

/** Entry kinds by their code in the encoding. */
export const KINDS = ["file", "dir", "symlink"] as const;
/** Hydration states by their code in the encoding. */
export const HYDRATIONS = ["hydrated", "stub", "pinned"] as const;

const F_MANIFEST = 0x10;
const F_OID = 0x20;
const F_TARGET = 0x40;
const F_RELATIVE_TIMES = 0x80;

/** Integers below this magnitude are written as varints (their doubled value is still safe). */
const INT_LIMIT = 2 ** 52;
/** Times below this magnitude can be stored as differences without losing precision. */
const TIME_LIMIT = 2 ** 51;

/** Character codes of the hex digits, and reusable code arrays for 8- and 32-byte ids. */
const HEX_CODE = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const hexCodes: Record<number, number[]> = { 8: new Array(16).fill(0), 32: new Array(64).fill(0) };
const HEX64 = /^[0-9a-f]{64}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

// One scratch buffer: encoding is synchronous, and the result is copied out.
const scratch = new Uint8Array(MAX_ENTRY_BYTES);
const scratchView = new DataView(scratch.buffer);

class Writer {
  at = 0;

  #need(n: number): void {
    if (this.at + n > MAX_ENTRY_BYTES) throw tooLarge();
  }

  byte(b: number): void {
    this.#need(1);
    scratch[this.at++] = b;
  }

  uvarint(n: number): void {
    this.#need(8);
    while (n >= 0x80) {
      scratch[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    scratch[this.at++] = n;
  }

  num(n: number): void {
    if (Number.isInteger(n) && Math.abs(n) < INT_LIMIT && !Object.is(n, -0)) {
      this.uvarint(n >= 0 ? n * 2 : -n * 2 + 1);
    } else {
      this.uvarint(1);
      this.#need(8);
      scratchView.setFloat64(this.at, n, true);
      this.at += 8;
    }
  }

  str(s: string): void {
    const hexBytes = s.length === 64 && HEX64.test(s)
      ? 32
      : s.length === 16 && HEX16.test(s)
      ? 8
      : 0;
    if (hexBytes > 0) {
      this.byte(hexBytes === 32 ? 0 : 1);
      this.#need(hexBytes);
      for (let i = 0; i < hexBytes; i++) {
        scratch[this.at++] = (nibble(s.charCodeAt(2 * i)) << 4) | nibble(s.charCodeAt(2 * i + 1));
      }
      return;
    }
    // Leave room for a 3-byte tag (lengths below 2^21), then close the gap if it is shorter.
    this.#need(3);
    const start = this.at;
    const { read, written } = encoder.encodeInto(s, scratch.subarray(start + 3));
    if (read !== s.length) throw tooLarge();
    const tag = written + 2;
    const tagBytes = tag < 0x80 ? 1 : tag < 0x4000 ? 2 : 3;
    if (tagBytes < 3) scratch.copyWithin(start + tagBytes, start + 3, start + 3 + written);
    this.uvarint(tag);
    this.at += written;
  }
}

function tooLarge(): StateError {
  return new StateError(
    `state entry larger than ${MAX_ENTRY_BYTES} bytes (symlink target too long?)`,
  );
}

/** The value of a lowercase hex digit (the caller has checked the string). */
function nibble(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x57;
}

/** Whether a time can be stored as a difference from another without losing precision. */
function smallTime(t: number): boolean {
  return Number.isInteger(t) && Math.abs(t) < TIME_LIMIT && !Object.is(t, -0);
}

/** Encode an entry. Throws StateError when it would exceed {@link MAX_ENTRY_BYTES}. */
export function encodeEntry(e: SyncedEntry): Uint8Array {
  const kind = KINDS.indexOf(e.kind);
  const hydration = HYDRATIONS.indexOf(e.hydration);
  if (kind === -1) throw new StateError(`unknown entry kind ${JSON.stringify(e.kind)}`);
  if (hydration === -1) {
    throw new StateError(`unknown hydration state ${JSON.stringify(e.hydration)}`);
  }
  const relative = smallTime(e.mtime) && smallTime(e.ctime) && smallTime(e.syncedAt);
  let flags = kind | (hydration << 2);
  if (e.manifestId !== undefined) flags |= F_MANIFEST;
  if (e.oid !== undefined) flags |= F_OID;
  if (e.target !== undefined) flags |= F_TARGET;
  if (relative) flags |= F_RELATIVE_TIMES;
  const w = new Writer();
  w.byte(flags);
  w.num(e.size);
  w.num(e.mtime);
  w.num(e.mode);
  w.num(e.ino);
  w.num(relative ? e.ctime - e.mtime : e.ctime);
  w.num(relative ? e.syncedAt - e.mtime : e.syncedAt);
  if (e.manifestId !== undefined) w.str(e.manifestId);
  if (e.oid !== undefined) w.str(e.oid);
  if (e.target !== undefined) w.str(e.target);
  const devices = Object.entries(e.vv);
  w.uvarint(devices.length);
  for (const [device, counter] of devices) {
    w.str(device);
    w.num(counter);
  }
  return scratch.slice(0, w.at);
}

class Reader {
  at = 0;
  readonly #view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number): void {
    if (this.at + n > this.bytes.length) throw new IntegrityError("truncated state entry");
  }

  byte(): number {
    this.#need(1);
    return this.bytes[this.at++];
  }

  uvarint(): number {
    let n = 0;
    for (let scale = 1;; scale *= 0x80) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      if (scale > 2 ** 46) throw new IntegrityError("state entry: varint too long");
    }
    return n;
  }

  num(): number {
    const u = this.uvarint();
    if (u % 2 === 0) return u / 2;
    if (u > 1) return -(u - 1) / 2;
    this.#need(8);
    const n = this.#view.getFloat64(this.at, true);
    this.at += 8;
    return n;
  }

  skipStr(): void {
    const tag = this.uvarint();
    const n = tag === 0 ? 32 : tag === 1 ? 8 : tag - 2;
    this.#need(n);
    this.at += n;
  }

  str(): string {
    const tag = this.uvarint();
    const n = tag === 0 ? 32 : tag === 1 ? 8 : tag - 2;
    this.#need(n);
    const bytes = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    if (tag >= 2) return decoder.decode(bytes);
    // One string from character codes: concatenating 32 pairs made 32 strings per id, and
    // listing a large root spent much of its time collecting them.
    const codes = hexCodes[n];
    for (let i = 0; i < n; i++) {
      codes[2 * i] = HEX_CODE[bytes[i] >> 4];
      codes[2 * i + 1] = HEX_CODE[bytes[i] & 15];
    }
    return String.fromCharCode.apply(null, codes);
  }
}

/**
 * The part of a {@link SyncedEntry} that tells whether the local path changed
 * since it was synced, and how it is held: what `tcfs status` needs.
 */
export type EntryState = Pick<
  SyncedEntry,
  "kind" | "hydration" | "size" | "mtime" | "mode" | "ino" | "ctime" | "target"
>;

/**
 * Decode the {@link EntryState} of an encoded entry, checking the whole
 * encoding as {@link decodeEntry} does but without building the ids and the
 * version vector (most of the cost of listing a large root).
 */
export function decodeEntryState(bytes: Uint8Array): EntryState {
  const r = new Reader(bytes);
  const flags = r.byte();
  const e = readFixedFields(r, flags);
  r.num(); // syncedAt
  if (flags & F_MANIFEST) r.skipStr();
  if (flags & F_OID) r.skipStr();
  if (flags & F_TARGET) e.target = r.str();
  const devices = r.uvarint();
  for (let i = 0; i < devices; i++) {
    r.skipStr();
    r.num();
  }
  if (r.at !== bytes.length) throw new IntegrityError("state entry: trailing bytes");
  return e;
}

/**
 * Check the kind and hydration codes of `flags` and read the numbers from
 * size to ctime; `r` is left at syncedAt.
 */
function readFixedFields(r: Reader, flags: number): EntryState {
  const kind = KINDS[flags & 3];
  if (kind === undefined) throw new IntegrityError("state entry: bad kind code");
  const hydration = hydrationOf(r.bytes);
  const size = r.num();
  const mtime = r.num();
  const mode = r.num();
  const ino = r.num();
  const ctime = (flags & F_RELATIVE_TIMES) !== 0 ? mtime + r.num() : r.num();
  return { kind, hydration, size, mtime, mode, ino, ctime };
}

/** The hydration state of an encoded entry, read from its first byte alone. */
export function hydrationOf(bytes: Uint8Array): Hydration {
  const h = HYDRATIONS[(bytes[0] >> 2) & 3];
  if (h === undefined) throw new IntegrityError("state entry: bad hydration code");
  return h;
}

/** Decode an entry; IntegrityError if the bytes are not one. */
export function decodeEntry(bytes: Uint8Array): SyncedEntry {
  const r = new Reader(bytes);
  const flags = r.byte();
  const { kind, hydration, size, mtime, mode, ino, ctime } = readFixedFields(r, flags);
  const syncedAt = (flags & F_RELATIVE_TIMES) !== 0 ? mtime + r.num() : r.num();
  const e: SyncedEntry = { kind, size, mtime, mode, ino, ctime, vv: {}, hydration, syncedAt };
  if (flags & F_MANIFEST) e.manifestId = r.str();
  if (flags & F_OID) e.oid = r.str();
  if (flags & F_TARGET) e.target = r.str();
  const devices = r.uvarint();
  for (let i = 0; i < devices; i++) {
    const device = r.str();
    const counter = r.num();
    // defineProperty: a device named "__proto__" must stay an own property. Only then: it is
    // several times slower than an assignment.
    if (device !== "__proto__") e.vv[device] = counter;
    else {
      Object.defineProperty(e.vv, device, {
        value: counter,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  if (r.at !== bytes.length) throw new IntegrityError("state entry: trailing bytes");
  return e;
}
