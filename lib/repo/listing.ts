/**
 * Per-directory listings: for each directory of a snapshot's namespace, its
 * live children with kind, size, mtime, mode and a reference (manifest id,
 * child listing id or symlink target). Listings are content-addressed and
 * each directory's entry names its child's listing, so they form a Merkle
 * tree rooted at the snapshot head's `root`: an unchanged directory keeps
 * its id (and object) from one snapshot to the next, and a reader (a `.tcf`
 * stub, a lazy mount) walks from the root to one directory without loading
 * the namespace (docs/FORMAT.md, "Listings").
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { Codec } from "./codec.ts";
import { listingKey } from "./layout.ts";
import type { Namespace } from "./namespace.ts";
import { checkRemoteName } from "./paths.ts";
import type { NodeKind } from "./record.ts";

/** Mode shown for a directory that only exists because something lives below it. */
const IMPLIED_DIR_MODE = 0o755;

/** One child in a listing. */
export interface ListingEntry {
  /** Name within the directory. */
  name: string;
  /** Kind. */
  kind: NodeKind;
  /** Bytes (files), target length (symlinks), 0 (directories). */
  size: number;
  /** Modification time, ms since the epoch (0 for implied directories). */
  mtime: number;
  /** Permission bits. */
  mode: number;
  /** Files: the manifest id. Directories: the child's listing id. Symlinks: the target. */
  ref: string;
}

/** Stored JSON of one entry: `[name, kind code, size, mtime, mode, ref]`. */
type WireEntry = [string, "f" | "d" | "l", number, number, number, string];

/** Stored JSON of a listing. */
interface WireListing {
  v: 1;
  e: WireEntry[];
}

const KIND_CODE = { file: "f", dir: "d", symlink: "l" } as const;
const KIND_OF = { f: "file", d: "dir", l: "symlink" } as const;
const HEX64 = /^[0-9a-f]{64}$/;

/** A namespace's listings: the root's id and every listing's stored JSON by id. */
export interface ListingTree {
  /** Listing id of `/`. */
  root: string;
  /** Stored JSON of every directory's listing, by listing id (equal directories share one). */
  listings: Map<string, unknown>;
}

/** The id of a listing: the metadata id of its JSON. */
function listingId(codec: Codec, wire: WireListing): string {
  return codec.metaId(new TextEncoder().encode(JSON.stringify(wire)));
}

/** Build the listing of every directory of `ns`, children before parents. */
export function buildListings(ns: Namespace, codec: Codec): ListingTree {
  const listings = new Map<string, unknown>();
  const build = (dir: string): string => {
    const e: WireEntry[] = ns.list(dir).map((c): WireEntry => {
      const v = c.version;
      if (c.kind === "dir") {
        return [c.name, "d", 0, v?.mtime ?? 0, v?.mode ?? IMPLIED_DIR_MODE, build(c.path)];
      }
      const ref = c.kind === "file" ? v!.manifestId! : v!.target!;
      return [c.name, KIND_CODE[c.kind], v!.size, v!.mtime, v!.mode, ref];
    });
    const wire: WireListing = { v: 1, e };
    const id = listingId(codec, wire);
    listings.set(id, wire);
    return id;
  };
  const root = build("/");
  return { root, listings };
}

/** The stored form of a listing built by {@link buildListings}. */
export async function encodeListing(codec: Codec, id: string, wire: unknown): Promise<Uint8Array> {
  return await codec.encodeMeta(listingKey(id), wire);
}

/** Read and verify the listing `id`. */
export async function readListing(
  store: ObjectStore,
  codec: Codec,
  id: string,
): Promise<ListingEntry[]> {
  const key = listingKey(id);
  const w = await codec.decodeMeta<WireListing>(key, await store.get(key));
  const bad = (why: string) => new IntegrityError(`${key}: malformed listing: ${why}`);
  if (w?.v !== 1 || !Array.isArray(w.e)) throw bad("unknown version or no entries");
  if (listingId(codec, w) !== id) throw bad("content does not match its id");
  let last = "";
  return w.e.map((e, i): ListingEntry => {
    if (!Array.isArray(e) || e.length !== 6) throw bad(`entry ${i} is not a 6-element array`);
    const [name, k, size, mtime, mode, ref] = e;
    if (typeof name !== "string") throw bad(`entry ${i} has no name`);
    checkRemoteName(name, key);
    if (i > 0 && !(last < name)) throw bad(`entries not sorted at ${JSON.stringify(name)}`);
    last = name;
    const kind = KIND_OF[k];
    if (!kind) throw bad(`${name}: unknown kind`);
    for (const n of [size, mtime, mode]) {
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`${name}: bad size, mtime or mode`);
    }
    if (typeof ref !== "string" || (kind !== "symlink" && !HEX64.test(ref))) {
      throw bad(`${name}: bad reference`);
    }
    return { name, kind, size, mtime, mode, ref };
  });
}

/**
 * The listing of directory `path` in the tree rooted at listing `root`, read
 * one level at a time from the root; `null` when `path` is not a directory
 * there.
 */
export async function listingAt(
  store: ObjectStore,
  codec: Codec,
  root: string,
  path: string,
): Promise<ListingEntry[] | null> {
  let entries = await readListing(store, codec, root);
  for (const name of path.split("/").filter((p) => p !== "")) {
    const child = entries.find((e) => e.name === name);
    if (!child || child.kind !== "dir") return null;
    entries = await readListing(store, codec, child.ref);
  }
  return entries;
}
