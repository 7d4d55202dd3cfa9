/**
 * File manifests: one per file version, listing the chunks that make up the
 * file with their offsets, so that any byte range can be served by fetching
 * only the chunks that cover it. Tiny files carry their bytes inline.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";

/** Where one chunk of a file is and which bytes of the file it holds. */
export interface ChunkRef {
  /** Chunk id (64 hex digits). */
  id: string;
  /** Offset of the chunk's first byte in the file. */
  offset: number;
  /** Plaintext length of the chunk. */
  size: number;
  /** When packed: the pack id and the blob's byte range inside the pack. */
  pack?: { id: string; offset: number; length: number };
}

/** The content of one file version. */
export interface Manifest {
  /** Manifest format version (1). */
  v: 1;
  /** File length in bytes. */
  size: number;
  /** Whole-file BLAKE3 (keyed when encrypted), 64 hex digits: the stub's `oid`. */
  oid: string;
  /** Chunks in file order; empty for inline and empty files. */
  chunks: ChunkRef[];
  /** The file's bytes, base64, for files up to the repository's `inlineMax`. */
  inline?: string;
}

/** The JSON shape of a chunk reference: `[id, offset, size]` or with `pack, packOffset, length`. */
type WireChunk = [string, number, number] | [string, number, number, string, number, number];

/** Compact JSON form of a manifest, as stored in records and manifest objects. */
export interface WireManifest {
  /** Format version. */
  v: 1;
  /** File size. */
  s: number;
  /** Whole-file id. */
  o: string;
  /** Chunks. */
  c: WireChunk[];
  /** Inline bytes, base64. */
  i?: string;
}

/** The stored (wire) form of a manifest. */
export function toWire(m: Manifest): WireManifest {
  const c = m.chunks.map((r): WireChunk =>
    r.pack
      ? [r.id, r.offset, r.size, r.pack.id, r.pack.offset, r.pack.length]
      : [r.id, r.offset, r.size]
  );
  return m.inline === undefined
    ? { v: 1, s: m.size, o: m.oid, c }
    : { v: 1, s: m.size, o: m.oid, c, i: m.inline };
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Parse and check a stored manifest: chunks contiguous, sizes adding up. */
export function fromWire(w: WireManifest, where: string): Manifest {
  const bad = (why: string) => new IntegrityError(`${where}: malformed manifest: ${why}`);
  if (w?.v !== 1) throw bad(`unknown manifest version ${w?.v}`);
  if (!isCount(w.s)) throw bad("bad size");
  if (typeof w.o !== "string" || !HEX64.test(w.o)) throw bad("bad oid");
  if (!Array.isArray(w.c)) throw bad("bad chunk list");
  const chunks: ChunkRef[] = [];
  let offset = 0;
  for (const c of w.c) {
    if (!Array.isArray(c) || (c.length !== 3 && c.length !== 6)) throw bad("bad chunk entry");
    const [id, off, size] = c;
    if (typeof id !== "string" || !HEX64.test(id)) throw bad("bad chunk id");
    if (off !== offset || !isCount(size) || size === 0) throw bad(`chunk ${id} out of place`);
    const ref: ChunkRef = { id, offset: off, size };
    if (c.length === 6) {
      const [, , , pack, packOffset, length] = c;
      if (
        typeof pack !== "string" || !HEX64.test(pack) || !isCount(packOffset) || !isCount(length)
      ) {
        throw bad(`chunk ${id}: bad pack location`);
      }
      ref.pack = { id: pack, offset: packOffset, length };
    }
    chunks.push(ref);
    offset += size;
  }
  if (w.i !== undefined) {
    if (typeof w.i !== "string" || chunks.length > 0) throw bad("bad inline data");
    offset = atob(w.i).length;
  }
  if (offset !== w.s) throw bad(`chunks hold ${offset} bytes, size says ${w.s}`);
  return w.i === undefined
    ? { v: 1, size: w.s, oid: w.o, chunks }
    : { v: 1, size: w.s, oid: w.o, chunks, inline: w.i };
}

/** The canonical bytes of a manifest, whose hash is the manifest id. */
export function canonicalBytes(m: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(toWire(m)));
}

/**
 * The index of the chunk of `m` that holds byte `offset` (binary search on the
 * offsets; `offset` must be inside the file and `m` not inline).
 */
export function chunkIndexAt(m: Manifest, offset: number): number {
  let lo = 0;
  let hi = m.chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (m.chunks[mid].offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The chunks that hold bytes `[offset, offset + length)` of the file, found by
 * binary search (a read at offset X fetches only the chunks covering X).
 */
export function chunksCovering(m: Manifest, offset: number, length: number): ChunkRef[] {
  const end = Math.min(offset + length, m.size);
  if (length <= 0 || offset >= end) return [];
  const out: ChunkRef[] = [];
  for (let i = chunkIndexAt(m, offset); i < m.chunks.length && m.chunks[i].offset < end; i++) {
    out.push(m.chunks[i]);
  }
  return out;
}

/** Decode the inline bytes of a manifest. */
export function inlineBytes(m: Manifest): Uint8Array {
  return Uint8Array.from(atob(m.inline ?? ""), (ch) => ch.charCodeAt(0));
}

/** Encode bytes for {@link Manifest.inline}. */
export function toInline(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
