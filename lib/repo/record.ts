/**
 * Commit records: the immutable, per-device log entries that make up the
 * namespace. A record lists path versions (file, directory, symlink or
 * tombstone) with their version vectors. Records are only ever added, with
 * put-if-absent, so no writer can overwrite another's update.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { fromWire, type Manifest, toWire, type WireManifest } from "./manifest.ts";
import { checkStoredPath } from "./paths.ts";
import { isVersionVector, type VersionVector } from "./version_vector.ts";

/** Kinds of namespace entries. */
export type NodeKind = "file" | "dir" | "symlink";

/** A manifest stored as an object of its own (too large to inline in a record). */
export interface ManifestRef {
  /** Manifest id; the object is `manifests/<aa>/<id>`. */
  ref: string;
}

/** One version of one path. */
export interface PathVersion {
  /** Normalised absolute path. */
  path: string;
  /** What this version has seen; the writing device's own counter is the record's seq. */
  vv: VersionVector;
  /**
   * A tombstone: the path was deleted. A file tombstone may keep the deleted
   * version's size, mode, mtime and manifest, so the content stays restorable
   * (the trash) until garbage collection's retention has passed.
   */
  deleted: boolean;
  /** Entry kind (for tombstones, the kind that was deleted). */
  kind: NodeKind;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  /** Modification time, milliseconds since the epoch. */
  mtime: number;
  /** Size in bytes (files), target length (symlinks), 0 (directories). */
  size: number;
  /** Symlink target. */
  target?: string;
  /** Manifest id of a file version. */
  manifestId?: string;
  /** The manifest, inline, or a reference to where it is stored. */
  manifest?: Manifest | ManifestRef;
  /** Device that wrote the version. */
  device: string;
  /** Sequence number of the record that holds it. */
  seq: number;
  /** When the record was written (ms since the epoch), for display and tie-breaks. */
  time: number;
  /**
   * Set on a conflict copy: the path of the file whose concurrent version this
   * is. The conflict stays open while such a copy is live.
   */
  conflictOf?: string;
}

/** A commit record as decoded. */
export interface CommitRecord {
  /** Writing device. */
  device: string;
  /** The record's sequence number in that device's log. */
  seq: number;
  /** When it was written (ms). */
  time: number;
  /** The path versions it commits. */
  versions: PathVersion[];
}

/** Stored JSON of an entry (short keys: records can hold many thousands). */
interface WireEntry {
  p: string;
  vv: VersionVector;
  k: "f" | "d" | "l";
  d?: 1;
  m: number;
  t: number;
  s: number;
  l?: string;
  h?: string;
  f?: WireManifest;
  r?: string;
  c?: string;
}

/** Stored JSON of a record. */
export interface WireRecord {
  /** Record format version. */
  v: 1;
  /** Device id. */
  dev: string;
  /** Sequence number. */
  seq: number;
  /** Time written (ms). */
  t: number;
  /** Entries. */
  e: WireEntry[];
}

const KIND_CODE = { file: "f", dir: "d", symlink: "l" } as const;
const KIND_OF = { f: "file", d: "dir", l: "symlink" } as const;

/** The stored form of a record. Versions must carry the record's device and seq. */
export function recordToWire(r: CommitRecord): WireRecord {
  return {
    v: 1,
    dev: r.device,
    seq: r.seq,
    t: r.time,
    e: r.versions.map((x) => {
      const e: WireEntry = {
        p: x.path,
        vv: x.vv,
        k: KIND_CODE[x.kind],
        m: x.mode,
        t: x.mtime,
        s: x.size,
      };
      if (x.deleted) e.d = 1;
      if (x.target !== undefined) e.l = x.target;
      if (x.manifestId !== undefined) e.h = x.manifestId;
      if (x.manifest && "ref" in x.manifest) e.r = x.manifest.ref;
      else if (x.manifest) e.f = toWire(x.manifest);
      if (x.conflictOf !== undefined) e.c = x.conflictOf;
      return e;
    }),
  };
}

/** Parse and check a stored record; every path is validated as untrusted input. */
export function recordFromWire(w: WireRecord, where: string): CommitRecord {
  const bad = (why: string) => new IntegrityError(`${where}: malformed commit record: ${why}`);
  if (w?.v !== 1) throw bad(`unknown record version ${w?.v}`);
  if (typeof w.dev !== "string" || !Number.isSafeInteger(w.seq) || !Array.isArray(w.e)) {
    throw bad("bad header");
  }
  const versions = w.e.map((e): PathVersion => {
    if (typeof e?.p !== "string") throw bad("entry without a path");
    checkStoredPath(e.p);
    const kind = KIND_OF[e.k];
    if (!kind) throw bad(`${e.p}: unknown kind ${JSON.stringify(e.k)}`);
    if (!isVersionVector(e.vv) || e.vv[w.dev] !== w.seq) throw bad(`${e.p}: bad version vector`);
    for (const n of [e.m, e.t, e.s]) {
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`${e.p}: bad mode, mtime or size`);
    }
    const v: PathVersion = {
      path: e.p,
      vv: e.vv,
      deleted: e.d === 1,
      kind,
      mode: e.m,
      mtime: e.t,
      size: e.s,
      device: w.dev,
      seq: w.seq,
      time: w.t,
    };
    if (e.c !== undefined) {
      if (typeof e.c !== "string") throw bad(`${e.p}: bad conflict origin`);
      checkStoredPath(e.c);
      v.conflictOf = e.c;
    }
    if (kind === "symlink" && !v.deleted) {
      if (typeof e.l !== "string" || e.l === "" || e.l.includes("\0")) {
        throw bad(`${e.p}: bad symlink target`);
      }
      v.target = e.l;
    }
    // A file tombstone may carry the content it deleted (the trash); a live file must.
    if (kind === "file" && (!v.deleted || e.h !== undefined)) {
      if (typeof e.h !== "string" || !/^[0-9a-f]{64}$/.test(e.h)) {
        throw bad(`${e.p}: no manifest id`);
      }
      v.manifestId = e.h;
      if (e.f) {
        v.manifest = fromWire(e.f, `${where} ${e.p}`);
        if (v.manifest.size !== v.size) throw bad(`${e.p}: manifest size differs from entry size`);
      } else if (typeof e.r === "string" && e.r === e.h) v.manifest = { ref: e.r };
      else throw bad(`${e.p}: no manifest`);
    }
    return v;
  });
  return { device: w.dev, seq: w.seq, time: w.t, versions };
}
