/**
 * From a decoded request to a file system method and back: one handler per
 * opcode, each returning the reply payload. Errors propagate to the session,
 * which turns them into errno replies.
 *
 * @module
 */

import { Opcode } from "./abi.ts";
import {
  type BodyReader,
  cstringBytes,
  decodeFsyncIn,
  decodeGetattrIn,
  decodeSetattrIn,
  encodeAttrOut,
  encodeEntryOut,
  encodeOpenOut,
  encodeStatfsOut,
  encodeU32Out,
} from "./codec.ts";
import { DirentPacker } from "./dirents.ts";
import { Errno, FuseError } from "./errno.ts";
import type { DirList, FileSystem, RequestContext } from "./ops.ts";

/** One request handler: the reply payload, or null for requests that take no reply. */
export type Handler = (
  fs: FileSystem,
  ctx: RequestContext,
  nodeid: number,
  r: BodyReader,
) => Promise<Uint8Array[] | null>;

const EMPTY: Uint8Array[] = [];

function need<K extends keyof FileSystem>(fs: FileSystem, name: K): NonNullable<FileSystem[K]> {
  const method = fs[name];
  if (method === undefined) throw new FuseError(Errno.ENOSYS, `${name} is not implemented`);
  return (method as (...args: unknown[]) => unknown).bind(fs) as NonNullable<FileSystem[K]>;
}

async function readdirReply(
  fs: FileSystem,
  ctx: RequestContext,
  ino: number,
  r: BodyReader,
  plus: boolean,
): Promise<Uint8Array[]> {
  const fh = r.u64(), offset = r.u64(), size = r.u32();
  const packer = new DirentPacker(size);
  const noLookup = { negative: true as const, entryTtlMs: 0 };
  const list: DirList = {
    plus,
    add: (e) => packer.add(e, plus ? noLookup : undefined),
    addPlus: (e, lookup) => packer.add(e, plus ? lookup : undefined),
  };
  await need(fs, "readdir")(ctx, ino, fh, offset, list);
  return [packer.bytes()];
}

function xattrSizeReply(size: number, value: Uint8Array): Uint8Array[] {
  if (size === 0) return [encodeU32Out(value.length)];
  if (value.length > size) throw new FuseError(Errno.ERANGE);
  return [value];
}

/** Handlers by opcode; INIT, INTERRUPT and DESTROY are the session's own. */
export const handlers: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [Opcode.LOOKUP, async (fs, ctx, ino, r) => [
    encodeEntryOut(await need(fs, "lookup")(ctx, ino, r.cstring())),
  ]],
  [Opcode.FORGET, (fs, _ctx, ino, r) => {
    fs.forget?.(ino, r.u64());
    return Promise.resolve(null);
  }],
  [Opcode.BATCH_FORGET, (fs, _ctx, _ino, r) => {
    const count = r.u32();
    r.skip(4);
    for (let i = 0; i < count; i++) {
      const node = r.u64(), nlookup = r.u64();
      fs.forget?.(node, nlookup);
    }
    return Promise.resolve(null);
  }],
  [Opcode.GETATTR, async (fs, ctx, ino, r) => [
    encodeAttrOut(await need(fs, "getattr")(ctx, ino, decodeGetattrIn(r))),
  ]],
  [Opcode.SETATTR, async (fs, ctx, ino, r) => [
    encodeAttrOut(await need(fs, "setattr")(ctx, ino, decodeSetattrIn(r))),
  ]],
  [Opcode.READLINK, async (fs, ctx, ino) => {
    const target = await need(fs, "readlink")(ctx, ino);
    return [typeof target === "string" ? new TextEncoder().encode(target) : target];
  }],
  [Opcode.SYMLINK, async (fs, ctx, ino, r) => {
    const name = r.cstring(), target = r.cstring();
    return [encodeEntryOut(await need(fs, "symlink")(ctx, ino, name, target))];
  }],
  [Opcode.MKNOD, async (fs, ctx, ino, r) => {
    const mode = r.u32(), rdev = r.u32(), umask = r.u32();
    r.skip(4);
    return [encodeEntryOut(await need(fs, "mknod")(ctx, ino, r.cstring(), mode, rdev, umask))];
  }],
  [Opcode.MKDIR, async (fs, ctx, ino, r) => {
    const mode = r.u32(), umask = r.u32();
    return [encodeEntryOut(await need(fs, "mkdir")(ctx, ino, r.cstring(), mode, umask))];
  }],
  [Opcode.UNLINK, async (fs, ctx, ino, r) => {
    await need(fs, "unlink")(ctx, ino, r.cstring());
    return EMPTY;
  }],
  [Opcode.RMDIR, async (fs, ctx, ino, r) => {
    await need(fs, "rmdir")(ctx, ino, r.cstring());
    return EMPTY;
  }],
  [Opcode.RENAME, async (fs, ctx, ino, r) => {
    const newParent = r.u64(), name = r.cstring(), newName = r.cstring();
    await need(fs, "rename")(ctx, ino, name, newParent, newName, 0);
    return EMPTY;
  }],
  [Opcode.RENAME2, async (fs, ctx, ino, r) => {
    const newParent = r.u64(), flags = r.u32();
    r.skip(4);
    const name = r.cstring(), newName = r.cstring();
    await need(fs, "rename")(ctx, ino, name, newParent, newName, flags);
    return EMPTY;
  }],
  [Opcode.LINK, async (fs, ctx, newParent, r) => {
    const ino = r.u64();
    return [encodeEntryOut(await need(fs, "link")(ctx, ino, newParent, r.cstring()))];
  }],
  [Opcode.OPEN, async (fs, ctx, ino, r) => [
    encodeOpenOut(await need(fs, "open")(ctx, ino, r.u32())),
  ]],
  [Opcode.READ, async (fs, ctx, ino, r) => {
    const fh = r.u64(), offset = r.u64(), size = r.u32();
    const data = await need(fs, "read")(ctx, ino, fh, offset, size);
    return [data.length > size ? data.subarray(0, size) : data];
  }],
  [Opcode.WRITE, async (fs, ctx, ino, r) => {
    const fh = r.u64(), offset = r.u64(), size = r.u32();
    r.skip(20); // write_flags, lock_owner, flags, padding
    // Copied: the request buffer is reused by the next read while this write is pending.
    const data = r.bytesView(size).slice();
    return [encodeU32Out(await need(fs, "write")(ctx, ino, fh, offset, data))];
  }],
  [Opcode.STATFS, async (fs, ctx, ino) => [
    encodeStatfsOut(
      fs.statfs ? await fs.statfs(ctx, ino) : {
        blocks: 0,
        bfree: 0,
        bavail: 0,
        files: 0,
        ffree: 0,
        bsize: 4096,
        namelen: 255,
      },
    ),
  ]],
  [Opcode.RELEASE, async (fs, ctx, ino, r) => {
    const fh = r.u64(), flags = r.u32();
    await fs.release?.(ctx, ino, fh, flags);
    return EMPTY;
  }],
  [Opcode.FSYNC, async (fs, ctx, ino, r) => {
    await need(fs, "fsync")(ctx, ino, ...decodeFsyncIn(r));
    return EMPTY;
  }],
  [Opcode.FLUSH, async (fs, ctx, ino, r) => {
    const fh = r.u64();
    r.skip(8);
    await need(fs, "flush")(ctx, ino, fh, r.u64());
    return EMPTY;
  }],
  [Opcode.OPENDIR, async (fs, ctx, ino, r) => [
    encodeOpenOut(fs.opendir ? await fs.opendir(ctx, ino, r.u32()) : { fh: 0 }),
  ]],
  [Opcode.READDIR, (fs, ctx, ino, r) => readdirReply(fs, ctx, ino, r, false)],
  [Opcode.READDIRPLUS, (fs, ctx, ino, r) => readdirReply(fs, ctx, ino, r, true)],
  [Opcode.RELEASEDIR, async (fs, ctx, ino, r) => {
    await fs.releasedir?.(ctx, ino, r.u64());
    return EMPTY;
  }],
  [Opcode.FSYNCDIR, async (fs, ctx, ino, r) => {
    await need(fs, "fsyncdir")(ctx, ino, ...decodeFsyncIn(r));
    return EMPTY;
  }],
  [Opcode.ACCESS, async (fs, ctx, ino, r) => {
    await need(fs, "access")(ctx, ino, r.u32());
    return EMPTY;
  }],
  [Opcode.CREATE, async (fs, ctx, ino, r) => {
    const flags = r.u32(), mode = r.u32(), umask = r.u32();
    r.skip(4);
    const reply = await need(fs, "create")(ctx, ino, r.cstring(), mode, flags, umask);
    return [encodeEntryOut(reply.entry), encodeOpenOut(reply.open)];
  }],
  [Opcode.FALLOCATE, async (fs, ctx, ino, r) => {
    const fh = r.u64(), offset = r.u64(), length = r.u64(), mode = r.u32();
    await need(fs, "fallocate")(ctx, ino, fh, offset, length, mode);
    return EMPTY;
  }],
  [Opcode.GETXATTR, async (fs, ctx, ino, r) => {
    const size = r.u32();
    r.skip(4);
    return xattrSizeReply(size, await need(fs, "getxattr")(ctx, ino, r.cstring()));
  }],
  [Opcode.LISTXATTR, async (fs, ctx, ino, r) => {
    const size = r.u32();
    const names = await need(fs, "listxattr")(ctx, ino);
    const parts = names.map(cstringBytes);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
    return xattrSizeReply(size, all);
  }],
  [Opcode.SETXATTR, async (fs, ctx, ino, r) => {
    const size = r.u32(), flags = r.u32();
    const name = r.cstring();
    await need(fs, "setxattr")(ctx, ino, name, r.bytesView(size).slice(), flags);
    return EMPTY;
  }],
  [Opcode.REMOVEXATTR, async (fs, ctx, ino, r) => {
    await need(fs, "removexattr")(ctx, ino, r.cstring());
    return EMPTY;
  }],
]);
