/**
 * The merged remote namespace, cached in one file per repository, so that a
 * sync reads only the commit records newer than the cached per-device
 * cursors. A file rather than Deno KV because a path's heads carry inline
 * manifests, which can exceed a KV value's 64 KiB.
 *
 * ```text
 * offset  size  field
 * 0       4     magic "TCNS"
 * 4       1     format version 1
 * 5       3     reserved, 0
 * 8       8     payload length before compression, uint64 little endian
 * 16      n     payload: one zstd frame
 * 16+n    32    BLAKE3 of bytes 0 .. 16+n
 * ```
 *
 * The payload is UTF-8 JSON lines: first `{"v":1,"paths":N,"cursors":{..}}`,
 * then arrays of up to 1,000 paths, each path an array of its heads, each
 * head `[path, device, seq, time, kind, deleted, mode, mtime, size, vv]`
 * plus, when present, `{l: target, h: manifest id, f: manifest, r: ref, c: conflict of}`
 * (`kind` and the manifest as in commit records, docs/FORMAT.md). Lines keep
 * every string short, however large the namespace.
 *
 * The file holds decrypted metadata (file names), so it is written with mode
 * 0600 in a directory created with mode 0700.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { zstdCompress, zstdDecompress } from "../compress/mod.ts";
import { blake3 } from "../hash/mod.ts";
import { IntegrityError } from "../errors.ts";
// The modules themselves, not repo/mod.ts, which would load the S3 client too.
import { type Manifest, toWire, type WireManifest } from "../repo/manifest.ts";
import { Namespace, type NamespaceState } from "../repo/namespace.ts";
import type { PathVersion } from "../repo/record.ts";

const MAGIC = [0x54, 0x43, 0x4e, 0x53]; // "TCNS"
const VERSION = 1;
const HEADER_BYTES = 16;
const SUM_BYTES = 32;
const PATHS_PER_LINE = 1000;
/** zstd level: 1 compresses this JSON almost as well as 3, at about twice the speed. */
const LEVEL = 1;
const NEWLINE = 0x0a;

const KIND_CODE = { file: "f", dir: "d", symlink: "l" } as const;
const KIND_OF = { f: "file", d: "dir", l: "symlink" } as const;

interface Extra {
  l?: string;
  h?: string;
  f?: WireManifest;
  r?: string;
  c?: string;
}

type CachedHead = [
  path: string,
  device: string,
  seq: number,
  time: number,
  kind: "f" | "d" | "l",
  deleted: 0 | 1,
  mode: number,
  mtime: number,
  size: number,
  vv: Record<string, number>,
  extra?: Extra,
];

function toCached(v: PathVersion): CachedHead {
  const head: CachedHead = [
    v.path,
    v.device,
    v.seq,
    v.time,
    KIND_CODE[v.kind],
    v.deleted ? 1 : 0,
    v.mode,
    v.mtime,
    v.size,
    v.vv,
  ];
  const extra: Extra = {};
  if (v.target !== undefined) extra.l = v.target;
  if (v.manifestId !== undefined) extra.h = v.manifestId;
  if (v.manifest && "ref" in v.manifest) extra.r = v.manifest.ref;
  else if (v.manifest) extra.f = toWire(v.manifest);
  if (v.conflictOf !== undefined) extra.c = v.conflictOf;
  if (Object.keys(extra).length > 0) head.push(extra);
  return head;
}

// The inverse of toWire without its checks: the checksum already vouches for these bytes.
function manifestOf(w: WireManifest): Manifest {
  const chunks = w.c.map((c) =>
    c.length === 6
      ? { id: c[0], offset: c[1], size: c[2], pack: { id: c[3], offset: c[4], length: c[5] } }
      : { id: c[0], offset: c[1], size: c[2] }
  );
  return w.i === undefined
    ? { v: 1, size: w.s, oid: w.o, chunks }
    : { v: 1, size: w.s, oid: w.o, chunks, inline: w.i };
}

function fromCached(h: CachedHead): PathVersion {
  const v: PathVersion = {
    path: h[0],
    vv: h[9],
    deleted: h[5] === 1,
    kind: KIND_OF[h[4]],
    mode: h[6],
    mtime: h[7],
    size: h[8],
    device: h[1],
    seq: h[2],
    time: h[3],
  };
  if (!v.kind) throw new IntegrityError("bad kind");
  const extra = h[10];
  if (extra) {
    if (extra.l !== undefined) v.target = extra.l;
    if (extra.h !== undefined) v.manifestId = extra.h;
    if (extra.r !== undefined) v.manifest = { ref: extra.r };
    else if (extra.f !== undefined) v.manifest = manifestOf(extra.f);
    if (extra.c !== undefined) v.conflictOf = extra.c;
  }
  return v;
}

/** Encode a namespace state as the cache file's bytes. */
function encode(state: NamespaceState): Uint8Array {
  const encoder = new TextEncoder();
  const lines: Uint8Array[] = [
    encoder.encode(
      JSON.stringify({ v: 1, paths: state.heads.length, cursors: state.cursors }) + "\n",
    ),
  ];
  for (let at = 0; at < state.heads.length; at += PATHS_PER_LINE) {
    const group = state.heads.slice(at, at + PATHS_PER_LINE).map((heads) => heads.map(toCached));
    lines.push(encoder.encode(JSON.stringify(group) + "\n"));
  }
  const payload = concatBytes(lines);
  const frame = zstdCompress(payload, LEVEL);
  const out = new Uint8Array(HEADER_BYTES + frame.length + SUM_BYTES);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setBigUint64(8, BigInt(payload.length), true);
  out.set(frame, HEADER_BYTES);
  out.set(blake3(out.subarray(0, HEADER_BYTES + frame.length)), HEADER_BYTES + frame.length);
  return out;
}

/** Decode the cache file's bytes; throws on anything unexpected. */
function decode(bytes: Uint8Array): NamespaceState {
  if (bytes.length < HEADER_BYTES + SUM_BYTES) throw new IntegrityError("short file");
  if (MAGIC.some((b, i) => bytes[i] !== b) || bytes[4] !== VERSION) {
    throw new IntegrityError("not ours");
  }
  const body = bytes.subarray(0, bytes.length - SUM_BYTES);
  const sum = blake3(body);
  if (sum.some((b, i) => b !== bytes[body.length + i])) {
    throw new IntegrityError("checksum mismatch");
  }
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(8, true));
  const payload = zstdDecompress(body.subarray(HEADER_BYTES), size);
  if (payload.length !== size) throw new IntegrityError("wrong payload size");
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let at = payload.indexOf(NEWLINE);
  const head = JSON.parse(decoder.decode(payload.subarray(0, at)));
  if (
    head?.v !== 1 || !Number.isSafeInteger(head.paths) || typeof head.cursors !== "object" ||
    head.cursors === null
  ) {
    throw new IntegrityError("bad header line");
  }
  const heads: PathVersion[][] = [];
  while (at + 1 < payload.length) {
    const end = payload.indexOf(NEWLINE, at + 1);
    if (end === -1) throw new IntegrityError("unterminated line");
    const group = JSON.parse(decoder.decode(payload.subarray(at + 1, end))) as CachedHead[][];
    for (const path of group) heads.push(path.map(fromCached));
    at = end;
  }
  if (heads.length !== head.paths) throw new IntegrityError("path count mismatch");
  return { heads, cursors: head.cursors };
}

/** The namespace cache file of one repository on this device. */
export class NamespaceCache {
  readonly #path: string;

  /** Use the cache file at `path` (e.g. `<state.dir>/<repository id>/namespace.cache`). */
  constructor(path: string) {
    this.#path = path;
  }

  /**
   * The cached namespace, or null when there is none or it cannot be used
   * (unreadable, truncated, corrupt, or written by another format version):
   * the caller then rebuilds it from the commit records.
   */
  async load(): Promise<Namespace | null> {
    try {
      return Namespace.fromState(decode(await Deno.readFile(this.#path)));
    } catch {
      return null;
    }
  }

  /**
   * Replace the cache with `ns`, atomically: a reader (or a crash) sees the
   * old file or the new one, never a mix. Returns once the new file is
   * durable.
   */
  async save(ns: Namespace): Promise<void> {
    const bytes = encode(ns.exportState());
    const slash = this.#path.lastIndexOf("/");
    const dir = slash > 0 ? this.#path.slice(0, slash) : slash === 0 ? "/" : ".";
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const suffix = Array.from(
      crypto.getRandomValues(new Uint8Array(6)),
      (b) => b.toString(16).padStart(2, "0"),
    )
      .join("");
    const tmp = `${this.#path}.${suffix}.tmp`;
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      try {
        for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, this.#path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    // Make the rename itself durable.
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  }
}
