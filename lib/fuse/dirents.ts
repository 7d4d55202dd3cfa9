/**
 * Directory listings on the wire: fuse_dirent and fuse_direntplus records,
 * each padded to 8 bytes.
 *
 * @module
 */

import { Size } from "./abi.ts";
import { BodyReader, encodeEntryOutAt, setU64 } from "./codec.ts";
import type { DirEntry, EntryReply, NegativeEntryReply } from "./ops.ts";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Packs directory entries (fuse_dirent or fuse_direntplus, each padded to 8
 * bytes) into a reply of at most `size` bytes.
 */
export class DirentPacker {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  /** Bytes used so far. */
  used = 0;

  /** Pack at most `size` bytes. */
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Append an entry (with its lookup answer for READDIRPLUS); false when it does not fit. */
  add(e: DirEntry, plus?: EntryReply | NegativeEntryReply): boolean {
    const name = utf8.encode(e.name);
    const head = (plus ? Size.ENTRY_OUT : 0) + Size.DIRENT_HEADER;
    const len = (head + name.length + 7) & ~7;
    if (this.used + len > this.buf.length) return false;
    const at = this.used;
    if (plus) encodeEntryOutAt(this.view, at, plus);
    const d = at + (plus ? Size.ENTRY_OUT : 0);
    setU64(this.view, d, e.ino);
    setU64(this.view, d + 8, e.offset);
    this.view.setUint32(d + 16, name.length, true);
    this.view.setUint32(d + 20, (e.type & 0o170000) >>> 12, true);
    this.buf.set(name, d + Size.DIRENT_HEADER);
    this.used += len;
    return true;
  }

  /** The packed entries. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }
}

/** Decode packed fuse_dirent records (for tests). */
export function decodeDirents(bytes: Uint8Array): DirEntry[] {
  const r = new BodyReader(bytes);
  const out: DirEntry[] = [];
  while (r.pos + Size.DIRENT_HEADER <= bytes.length) {
    const start = r.pos;
    const ino = r.u64(), offset = r.u64(), namelen = r.u32(), type = r.u32() << 12;
    const name = utf8Decoder.decode(r.bytesView(namelen));
    out.push({ ino, name, type, offset });
    r.pos = start + ((Size.DIRENT_HEADER + namelen + 7) & ~7);
  }
  return out;
}
