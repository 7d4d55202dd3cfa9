/**
 * The merged namespace: every device's commit records folded into, per path,
 * the set of versions that no other version supersedes. One version means
 * the path is settled; several mean concurrent writes (a conflict), and all
 * of them are kept. Merging is commutative, so records can be applied in any
 * order and every device that has read the same records sees the same tree.
 *
 * @module
 */

import type { ChunkRef } from "./manifest.ts";
import type { CommitRecord, PathVersion } from "./record.ts";
import { baseName, joinRemote, parentOf } from "./paths.ts";
import { compareVectors, mergeVectors, type VersionVector } from "./version_vector.ts";

/** A child in a directory listing. */
export interface DirEntry {
  /** Name within the directory. */
  name: string;
  /** Full path. */
  path: string;
  /** The current version, or `undefined` for a directory implied by its contents. */
  version?: PathVersion;
  /** Kind of the entry. */
  kind: PathVersion["kind"];
}

/** A namespace's whole merged state, as {@link Namespace.exportState} gives it (for a cache). */
export interface NamespaceState {
  /** For every path ever seen, the versions that nothing supersedes (each carries its path). */
  heads: PathVersion[][];
  /** Per device, the highest sequence number applied. */
  cursors: Record<string, number>;
}

/** Orders concurrent versions for display: live beats deleted, then newer, then device id. */
function preferred(a: PathVersion, b: PathVersion): PathVersion {
  if (a.deleted !== b.deleted) return a.deleted ? b : a;
  if (a.time !== b.time) return a.time > b.time ? a : b;
  return a.device > b.device ? a : b;
}

/**
 * Whether two versions of a path hold the same thing: both deleted, or the
 * same kind, mode, size and content (same manifest, or the same whole-file id
 * when the manifests differ only in where their chunks were packed).
 */
function sameContent(a: PathVersion, b: PathVersion): boolean {
  if (a.kind !== b.kind || a.deleted !== b.deleted) return false;
  if (a.deleted) return true;
  if (a.mode !== b.mode || a.size !== b.size || a.target !== b.target) return false;
  if (a.kind !== "file") return true;
  if (a.manifestId !== undefined && a.manifestId === b.manifestId) return true;
  const oidA = a.manifest && !("ref" in a.manifest) ? a.manifest.oid : undefined;
  const oidB = b.manifest && !("ref" in b.manifest) ? b.manifest.oid : undefined;
  return oidA !== undefined && oidA === oidB;
}

/** The merged view of a repository's commit records. */
export class Namespace {
  readonly #heads = new Map<string, PathVersion[]>();
  readonly #children = new Map<string, Set<string>>();
  readonly #cursors = new Map<string, number>();

  /**
   * A namespace that behaves exactly like the one `state` was exported from,
   * without replaying records. `state` must come from
   * {@link Namespace.exportState} (it is trusted; the versions are shared,
   * not copied, and must not be changed).
   */
  static fromState(state: NamespaceState): Namespace {
    const ns = new Namespace();
    for (const heads of state.heads) {
      if (heads.length === 0) continue;
      ns.#heads.set(heads[0].path, [...heads]);
      ns.#index(heads[0].path);
    }
    for (const [device, seq] of Object.entries(state.cursors)) ns.#cursors.set(device, seq);
    return ns;
  }

  /** Everything {@link Namespace.fromState} needs to rebuild this namespace. */
  exportState(): NamespaceState {
    return {
      heads: Array.from(this.#heads.values(), (heads) => [...heads]),
      cursors: Object.fromEntries(this.#cursors),
    };
  }

  /** Fold a record in. Applying the same record twice changes nothing. */
  apply(record: CommitRecord): void {
    if (record.seq > (this.#cursors.get(record.device) ?? 0)) {
      this.#cursors.set(record.device, record.seq);
    }
    for (const v of record.versions) this.#applyVersion(v);
  }

  #applyVersion(v: PathVersion): void {
    const heads = this.#heads.get(v.path) ?? [];
    const kept: PathVersion[] = [];
    for (const h of heads) {
      const order = compareVectors(v.vv, h.vv);
      if (order === "before" || order === "equal") return; // already superseded or known
      if (order === "concurrent") kept.push(h);
    }
    kept.push(v);
    this.#heads.set(v.path, kept);
    this.#index(v.path);
  }

  #index(path: string): void {
    for (let p = path; p !== "/"; p = parentOf(p)) {
      const parent = parentOf(p);
      let names = this.#children.get(parent);
      if (!names) this.#children.set(parent, names = new Set());
      if (names.has(baseName(p))) return;
      names.add(baseName(p));
    }
  }

  /** The highest sequence number applied from `device` (0 if none). */
  cursor(device: string): number {
    return this.#cursors.get(device) ?? 0;
  }

  /** Every path with any version, live or deleted (unordered). */
  allPaths(): IterableIterator<string> {
    return this.#heads.keys();
  }

  /** Devices whose records have been applied. */
  devices(): string[] {
    return [...this.#cursors.keys()];
  }

  /**
   * The versions of `path` that nothing supersedes, most preferred first (more
   * than one: a conflict). Concurrent versions with the same content (two
   * devices, or a redelivered task, writing the same bytes) are no conflict:
   * only the preferred one of them is listed. A new version still supersedes
   * them all (see {@link Namespace.seen}).
   */
  heads(path: string): PathVersion[] {
    const out: PathVersion[] = [];
    const all = [...(this.#heads.get(path) ?? [])];
    for (const h of all.sort((a, b) => (preferred(a, b) === a ? -1 : 1))) {
      if (!out.some((kept) => sameContent(kept, h))) out.push(h);
    }
    return out;
  }

  /** The version of `path` to show, or `undefined` if it does not exist or was deleted. */
  get(path: string): PathVersion | undefined {
    const heads = this.#heads.get(path);
    if (!heads || heads.length === 0) return undefined;
    const best = heads.reduce(preferred);
    return best.deleted ? undefined : best;
  }

  /** Everything a new version of `path` has seen: it supersedes all current heads. */
  seen(path: string): VersionVector {
    return mergeVectors(...(this.#heads.get(path) ?? []).map((h) => h.vv));
  }

  /** Whether `path` is a directory: an explicit one, or implied by something live under it. */
  isDir(path: string): boolean {
    if (path === "/") return true;
    const v = this.get(path);
    if (v) return v.kind === "dir";
    return this.#hasLiveChild(path);
  }

  #hasLiveChild(dir: string): boolean {
    for (const name of this.#children.get(dir) ?? []) {
      const child = joinRemote(dir, name);
      if (this.get(child) || this.#hasLiveChild(child)) return true;
    }
    return false;
  }

  /** The live entries of directory `dir`, sorted by name. */
  list(dir: string): DirEntry[] {
    const out: DirEntry[] = [];
    for (const name of this.#children.get(dir) ?? []) {
      const path = joinRemote(dir, name);
      const version = this.get(path);
      if (version) out.push({ name, path, version, kind: version.kind });
      else if (this.#hasLiveChild(path)) out.push({ name, path, kind: "dir" });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Record in `known` every chunk that live file versions reference, with
   * where it is stored (`null`: an object of its own), so uploads can skip
   * chunks the repository already holds. Manifests stored apart are not read.
   */
  addReferencedChunks(known: Map<string, ChunkRef["pack"] | null>): void {
    for (const e of this.walk("/")) {
      const m = e.version?.manifest;
      if (m && !("ref" in m)) { for (const c of m.chunks) known.set(c.id, c.pack ?? null); }
    }
  }

  /** Every live entry under `dir` (depth first, parents before children). */
  *walk(dir: string): Generator<DirEntry> {
    for (const entry of this.list(dir)) {
      yield entry;
      if (entry.kind === "dir") yield* this.walk(entry.path);
    }
  }
}
