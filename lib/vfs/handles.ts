/**
 * Open file and directory handles of the mount.
 *
 * @module
 */

import type { RangeReader } from "../cache/mod.ts";
import { type DirList, FileType } from "../fuse/ops.ts";
import { type InodeTable, type InodeView, type Node, ROOT_INO } from "./inodes.ts";
import type { VisibleEntry } from "./naming.ts";
import type { OpenKind } from "./passthrough.ts";
import type { View } from "./view.ts";

const TYPE_BITS = { file: FileType.S_IFREG, dir: FileType.S_IFDIR, symlink: FileType.S_IFLNK };

/** An open file. */
export interface FileHandle {
  /** The node opened. */
  node: Node;
  /** Opened through its real name or its stub alias. */
  view: InodeView;
  /** Opened for writing. */
  writable: boolean;
  /** Written through this handle (its close schedules a commit). */
  dirty: boolean;
  /** Fixed content (a `.tcf` listing) instead of the node's bytes. */
  text?: Uint8Array;
  /** Reader of the committed content, made on the first read that needs it. */
  reader?: RangeReader;
  /** Manifest id the reader serves. */
  readerOf?: string;
  /** Content file kept open for this handle (see `WritePath.hold`). */
  held?: string;
  /** How the kernel serves this open of the real-name inode (unset: a stub alias). */
  kind?: OpenKind;
}

/** An open directory: its listing as of opendir, so offsets stay stable. */
export interface DirHandle {
  /** The directory. */
  node: Node;
  /** The visible entries. */
  entries: VisibleEntry[];
}

/** Handles by number. */
export class HandleTable<T> {
  readonly #handles = new Map<number, T>();
  #next = 1;

  /** Register a handle; returns its number. */
  add(handle: T): number {
    const fh = this.#next++;
    this.#handles.set(fh, handle);
    return fh;
  }

  /** The handle `fh`. */
  get(fh: number): T | undefined {
    return this.#handles.get(fh);
  }

  /** Forget handle `fh`; returns it. */
  take(fh: number): T | undefined {
    const h = this.#handles.get(fh);
    this.#handles.delete(fh);
    return h;
  }

  /** Every open handle. */
  values(): IterableIterator<T> {
    return this.#handles.values();
  }

  /** Number of open handles. */
  get size(): number {
    return this.#handles.size;
  }
}

/**
 * Put a directory's entries from cookie `offset` into `list` (`.` and `..`
 * first; cookie i+1 follows entry i). With READDIRPLUS each entry added
 * counts as a lookup of its inode.
 */
export async function fillDirList(
  h: DirHandle,
  offset: number,
  list: DirList,
  inodes: InodeTable,
  view: View,
): Promise<void> {
  const dots = [
    { name: ".", ino: h.node.ino },
    { name: "..", ino: h.node.parent?.ino ?? ROOT_INO },
  ];
  for (let i = offset; i < dots.length + h.entries.length; i++) {
    if (i < dots.length) {
      if (!list.add({ ...dots[i], type: FileType.S_IFDIR, offset: i + 1 })) return;
      continue;
    }
    const e = h.entries[i - dots.length];
    const stub = e.view === "stub";
    const ino = stub ? inodes.stubInoOf(e.node) : e.node.ino;
    const type = stub ? FileType.S_IFREG : TYPE_BITS[e.node.kind];
    const entry = { ino, name: e.name, type, offset: i + 1 };
    if (!list.plus) {
      if (!list.add(entry)) return;
    } else if (!list.addPlus(entry, await view.entry(e.node, e.view))) {
      inodes.forget(ino, 1);
      return;
    }
  }
}
