import { assertEquals } from "../../tests/assert.ts";
import { InitFlag, InitFlag2, Opcode, OpenFlag, SetattrValid, Size } from "./abi.ts";
import {
  BodyReader,
  decodeAttr,
  decodeInHeader,
  decodeSetattrIn,
  encodeAttrOut,
  encodeEntryNotify,
  encodeEntryOut,
  encodeInHeader,
  encodeOpenOut,
  encodeOutHeader,
  encodeStatfsOut,
  toTimespec,
} from "./codec.ts";
import { decodeDirents, DirentPacker } from "./dirents.ts";
import { decodeInitIn, decodeInitOut, encodeInitOut, negotiateInit } from "./init.ts";
import { type Attr, FileType } from "./ops.ts";

const attr: Attr = {
  ino: 2 ** 40 + 7,
  size: 2 ** 33 + 5,
  blocks: 99,
  atime: { sec: 1_700_000_000, nsec: 123_456_789 },
  mtime: { sec: -5, nsec: 1 },
  ctime: { sec: 0, nsec: 999_999_999 },
  mode: FileType.S_IFREG | 0o640,
  nlink: 3,
  uid: 1000,
  gid: 100,
  rdev: 0,
  blksize: 4096,
};

Deno.test("in header round-trips, 64-bit fields beyond 2^32 included", () => {
  const h = {
    len: 77,
    opcode: Opcode.LOOKUP,
    unique: 2 ** 45 + 3,
    nodeid: 2 ** 36 + 1,
    uid: 1,
    gid: 2,
    pid: 3,
  };
  assertEquals(decodeInHeader(encodeInHeader(h)), h);
});

Deno.test("out header carries a negative errno and the unique", () => {
  const v = new DataView(encodeOutHeader(16, -2, 2 ** 50).buffer);
  assertEquals([v.getUint32(0, true), v.getInt32(4, true)], [16, -2]);
  assertEquals(v.getBigUint64(8, true), 2n ** 50n);
});

Deno.test("attr in entry_out and attr_out decodes back with exact times", () => {
  const entry = encodeEntryOut({ attr, entryTtlMs: 1500, attrTtlMs: 250, generation: 9 });
  assertEquals(entry.length, Size.ENTRY_OUT);
  const v = new DataView(entry.buffer);
  assertEquals(Number(v.getBigUint64(0, true)), attr.ino);
  assertEquals(Number(v.getBigUint64(8, true)), 9);
  assertEquals([Number(v.getBigUint64(16, true)), v.getUint32(32, true)], [1, 500_000_000]);
  assertEquals([Number(v.getBigUint64(24, true)), v.getUint32(36, true)], [0, 250_000_000]);
  assertEquals(decodeAttr(entry, 40), attr);
  const out = encodeAttrOut({ attr, ttlMs: 0 });
  assertEquals(out.length, Size.ATTR_OUT);
  assertEquals(decodeAttr(out, 16), attr);
});

Deno.test("times in ms split into seconds and nanoseconds", () => {
  assertEquals(toTimespec(1_500), { sec: 1, nsec: 500_000_000 });
  assertEquals(toTimespec(-1), { sec: -1, nsec: 999_000_000 });
  assertEquals(toTimespec(981_173_106_789), { sec: 981_173_106, nsec: 789_000_000 });
});

Deno.test("a negative entry has node id 0 and only the entry timeout", () => {
  const e = encodeEntryOut({ negative: true, entryTtlMs: 2000 });
  const v = new DataView(e.buffer);
  assertEquals(Number(v.getBigUint64(0, true)), 0);
  assertEquals(Number(v.getBigUint64(16, true)), 2);
  assertEquals(Number(v.getBigUint64(24, true)), 0);
});

Deno.test("setattr_in decodes only the valid fields", () => {
  const b = new Uint8Array(Size.SETATTR_IN);
  const v = new DataView(b.buffer);
  v.setUint32(0, SetattrValid.SIZE | SetattrValid.MTIME | SetattrValid.ATIME_NOW, true);
  v.setBigUint64(8, 77n, true); // fh (not flagged valid)
  v.setBigUint64(16, 2n ** 35n, true); // size
  v.setBigInt64(40, 1234n, true); // mtime
  v.setUint32(60, 42, true); // mtimensec
  v.setUint32(68, 0o755, true); // mode (not flagged valid)
  assertEquals(decodeSetattrIn(new BodyReader(b)), {
    size: 2 ** 35,
    atime: "now",
    mtime: { sec: 1234, nsec: 42 },
  });
});

Deno.test("init_out round-trips and drops max_pages without MAX_PAGES", () => {
  const o = {
    major: 7,
    minor: 38,
    maxReadahead: 1 << 20,
    flags: InitFlag.ASYNC_READ | InitFlag.MAX_PAGES,
    maxBackground: 64,
    congestionThreshold: 48,
    maxWrite: 1 << 20,
    timeGran: 1,
    maxPages: 256,
    flags2: 0,
    maxStackDepth: 0,
  };
  assertEquals(decodeInitOut(encodeInitOut(o)), o);
  assertEquals(decodeInitOut(encodeInitOut({ ...o, flags: 0 })).maxPages, 0);
});

Deno.test("open_out, statfs_out and notify bodies have the kernel's layout", () => {
  const open = new DataView(encodeOpenOut({ fh: 2 ** 40, keepCache: true, directIo: true }).buffer);
  assertEquals([Number(open.getBigUint64(0, true)), open.getUint32(8, true)], [2 ** 40, 3]);
  assertEquals(open.getInt32(12, true), 0);
  // Passthrough: only FOPEN_PASSTHROUGH (the kernel refuses it with caching flags) and the id.
  const pt = new DataView(
    encodeOpenOut({ fh: 9, keepCache: true, passthrough: { backingId: 5 } })
      .buffer,
  );
  assertEquals([pt.getUint32(8, true), pt.getInt32(12, true)], [OpenFlag.PASSTHROUGH, 5]);
  const st = new DataView(
    encodeStatfsOut({
      blocks: 10,
      bfree: 9,
      bavail: 8,
      files: 7,
      ffree: 6,
      bsize: 4096,
      namelen: 255,
    }).buffer,
  );
  assertEquals(
    [st.getBigUint64(32, true), st.getUint32(40, true), st.getUint32(48, true)],
    [6n, 4096, 4096],
  );
  const entry = encodeEntryNotify(5, "name.tc");
  assertEquals(entry.length, Size.NOTIFY_INVAL_ENTRY_OUT + 8);
  assertEquals(new DataView(entry.buffer).getUint32(8, true), 7);
  assertEquals(entry.at(-1), 0);
  const del = new DataView(encodeEntryNotify(5, "x", 6).buffer);
  assertEquals([del.getBigUint64(8, true), del.getUint32(16, true)], [6n, 1]);
});

Deno.test("dirents pack 8-byte aligned, stop when full, and decode back", () => {
  const entries = ["a", "bbbbbbbbb", "ünïcode"].map((name, i) => ({
    ino: 10 + i,
    name,
    type: i === 0 ? FileType.S_IFDIR : FileType.S_IFREG,
    offset: i + 1,
  }));
  const packer = new DirentPacker(32 + 40 + 32);
  assertEquals(entries.map((e) => packer.add(e)), [true, true, false]);
  assertEquals(packer.used, 72);
  assertEquals(decodeDirents(packer.bytes()), entries.slice(0, 2));
  const plus = new DirentPacker(1024);
  plus.add(entries[0], { negative: true, entryTtlMs: 0 });
  assertEquals(plus.used, Size.ENTRY_OUT + 32);
});

Deno.test("the body reader reads strings, u64s and i64s in order", () => {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, 2n ** 52n + 1n, true);
  v.setBigInt64(8, -7n, true);
  b.set(new TextEncoder().encode("old\0new\0"), 16);
  const r = new BodyReader(b.subarray(0, 24));
  assertEquals([r.u64(), r.i64(), r.cstring(), r.cstring()], [2 ** 52 + 1, -7, "old", "new"]);
});

Deno.test("INIT negotiates down to 7.40 and never turns on the writeback cache", () => {
  const wants = {
    maxWrite: 1 << 20,
    maxReadahead: 1 << 20,
    maxBackground: 64,
    readdirplus: false,
    passthroughStackDepth: 0,
  };
  const agreed = negotiateInit(
    { major: 7, minor: 45, maxReadahead: 131072, flags: -1 >>> 0, flags2: -1 >>> 0 },
    wants,
  );
  if (typeof agreed === "string") throw new Error(agreed);
  assertEquals([agreed.minor, agreed.maxWrite, agreed.maxPages], [40, 1 << 20, 256]);
  assertEquals(agreed.maxReadahead, 131072);
  assertEquals(agreed.flags & InitFlag.WRITEBACK_CACHE, 0);
  assertEquals(agreed.flags & InitFlag.DO_READDIRPLUS, 0);
  assertEquals(agreed.flags & InitFlag.PARALLEL_DIROPS, InitFlag.PARALLEL_DIROPS);
  assertEquals([agreed.flags & InitFlag.INIT_EXT, agreed.flags2, agreed.maxStackDepth], [0, 0, 0]);
  const k = { major: 7, maxReadahead: 131072, flags2: 0 };
  const old = negotiateInit({ ...k, minor: 26, flags: 0 }, wants);
  assertEquals(typeof old !== "string" && [old.minor, old.maxWrite, old.flags], [26, 131072, 0]);
  assertEquals(negotiateInit({ ...k, major: 8, minor: 0, flags: 0 }, wants), "retry");
  assertEquals(negotiateInit({ ...k, minor: 20, flags: 0 }, wants), "too old");
});

Deno.test("INIT agrees passthrough only when asked for and offered by a 7.40+ kernel", () => {
  const wants = {
    maxWrite: 1 << 20,
    maxReadahead: 1 << 20,
    maxBackground: 64,
    readdirplus: false,
    passthroughStackDepth: 1,
  };
  const offer = {
    major: 7,
    minor: 45,
    maxReadahead: 131072,
    flags: InitFlag.INIT_EXT | InitFlag.MAX_PAGES,
    flags2: InitFlag2.PASSTHROUGH,
  };
  const yes = negotiateInit(offer, wants);
  if (typeof yes === "string") throw new Error(yes);
  assertEquals(yes.flags, InitFlag.INIT_EXT | InitFlag.MAX_PAGES);
  assertEquals([yes.flags2, yes.maxStackDepth], [InitFlag2.PASSTHROUGH, 1]);
  const bytes = encodeInitOut(yes);
  const v = new DataView(bytes.buffer);
  assertEquals([v.getUint32(32, true), v.getUint32(36, true)], [InitFlag2.PASSTHROUGH, 1]);
  assertEquals(decodeInitOut(bytes), yes);
  const refusals = [
    negotiateInit(offer, { ...wants, passthroughStackDepth: 0 }),
    negotiateInit({ ...offer, minor: 39 }, wants),
    negotiateInit({ ...offer, flags: InitFlag.MAX_PAGES }, wants),
    negotiateInit({ ...offer, flags2: 0 }, wants),
  ];
  for (const no of refusals) {
    if (typeof no === "string") throw new Error(no);
    assertEquals([no.flags & InitFlag.INIT_EXT, no.flags2, no.maxStackDepth], [0, 0, 0]);
  }
  const deep = negotiateInit(offer, { ...wants, passthroughStackDepth: 5 });
  assertEquals(typeof deep !== "string" && deep.maxStackDepth, 2);
});

Deno.test("init_in carries flags2 only with INIT_EXT", () => {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  v.setUint32(0, 7, true);
  v.setUint32(4, 45, true);
  v.setUint32(12, InitFlag.INIT_EXT, true);
  v.setUint32(16, InitFlag2.PASSTHROUGH, true);
  assertEquals(decodeInitIn(new BodyReader(b)).flags2, InitFlag2.PASSTHROUGH);
  v.setUint32(12, 0, true);
  assertEquals(decodeInitIn(new BodyReader(b)).flags2, 0);
});
