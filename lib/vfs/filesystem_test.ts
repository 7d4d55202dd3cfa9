import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { TcfsError } from "../errors.ts";
import { FuseError } from "../fuse/ops.ts";
import { ROOT_INO } from "./inodes.ts";
import { ctx, listNames, lookupOk, readAll, VfsWorld } from "./testing/world.ts";

const BIG = randomBytes(3_000_000, 7);

async function pushedWorld(): Promise<VfsWorld> {
  const w = await VfsWorld.create();
  await w.commitAsOther(
    { "/big.bin": BIG, "/small.txt": "hello\n", "/docs/a.txt": randomBytes(5000, 1) },
    ["/docs", "/empty"],
  );
  return w;
}

Deno.test("stubs view: remote files show as .tc, unlisted directories as .tcf", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  // Inline content is in the record already, so small.txt is local.
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin.tc", "docs.tcf", "empty.tcf", "small.txt"]);
  const stub = await lookupOk(fs, ROOT_INO, "big.bin.tc");
  // The stub alias has the size of its stub text, not of the content.
  assert(stub.attr.size > 100 && stub.attr.size < 4096, `stub size ${stub.attr.size}`);
  assert("negative" in await fs.lookup(ctx(), ROOT_INO, "small.txt.tc"));
});

Deno.test("reading name.tc serves the real bytes; then the entry is `name`", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const stub = await lookupOk(fs, ROOT_INO, "big.bin.tc");
  const open = await fs.open(ctx(), stub.attr.ino, 0);
  assertEquals(open.directIo, true);
  await fs.release(ctx(), stub.attr.ino, open.fh, 0);
  assertEquals(await readAll(fs, stub.attr.ino), BIG);
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin", "docs.tcf", "empty.tcf", "small.txt"]);
  // The kernel was told to forget both spellings.
  assert(w.notices.some((n) => n[0] === "entry" && n[1] === ROOT_INO && n[2] === "big.bin.tc"));
  assert(w.notices.some((n) => n[0] === "entry" && n[1] === ROOT_INO && n[2] === "big.bin"));
  const real = await lookupOk(fs, ROOT_INO, "big.bin");
  assertEquals(real.attr.size, BIG.length);
  assertEquals(await readAll(fs, real.attr.ino), BIG);
  assert("negative" in await fs.lookup(ctx(), ROOT_INO, "big.bin.tc"));
});

Deno.test("a read in the middle of a stub fetches only the chunks covering it", async () => {
  await using w = await VfsWorld.create();
  const big = randomBytes(24 << 20, 3);
  await w.commitAsOther({ "/huge.bin": big });
  const fs = await w.open();
  const e = await lookupOk(fs, ROOT_INO, "huge.bin");
  w.store.reset();
  const { fh } = await fs.open(ctx(), e.attr.ino, 0);
  const at = 20 << 20;
  assertEquals(await fs.read(ctx(), e.attr.ino, fh, at, 4096), big.subarray(at, at + 4096));
  await fs.release(ctx(), e.attr.ino, fh, 0);
  const gets = w.store.count("get");
  assert(gets >= 1 && gets <= 2, `expected 1-2 chunk GETs, got ${gets}`);
  assertEquals(await listNames(fs, ROOT_INO), ["huge.bin.tc"]);
});

Deno.test("a directory stub becomes the directory on lookup of either spelling", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const tcf = await lookupOk(fs, ROOT_INO, "docs.tcf");
  const { fh } = await fs.open(ctx(), tcf.attr.ino, 0);
  const text = new TextDecoder().decode(await fs.read(ctx(), tcf.attr.ino, fh, 0, 1 << 16));
  assert(text.includes("entry f 5000 a.txt"), text);
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin.tc", "docs", "empty.tcf", "small.txt"]);
  await lookupOk(fs, ROOT_INO, "empty");
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin.tc", "docs", "empty", "small.txt"]);
  const docs = await lookupOk(fs, ROOT_INO, "docs");
  assertEquals(await listNames(fs, docs.attr.ino), ["a.txt.tc"]);
});

Deno.test("real names view: real names and sizes, same reads", async () => {
  await using w = await pushedWorld();
  const fs = await w.open({ names: "real" });
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin", "docs", "empty", "small.txt"]);
  const e = await lookupOk(fs, ROOT_INO, "big.bin");
  assertEquals(e.attr.size, BIG.length);
  assertEquals(await readAll(fs, e.attr.ino), BIG);
  assert("negative" in await fs.lookup(ctx(), ROOT_INO, "big.bin.tc"));
});

Deno.test("a missing name is a negative entry with the configured lifetime", async () => {
  await using w = await pushedWorld();
  const fs = await w.open({ negativeTtlMs: 4321 });
  assertEquals(await fs.lookup(ctx(), ROOT_INO, "nope"), { negative: true, entryTtlMs: 4321 });
  const off = await w.open({ negativeTtlMs: 0 });
  await assertRejects(() => off.lookup(ctx(), ROOT_INO, "nope"), FuseError);
});

Deno.test("created and written files are committed after close", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const docs = await lookupOk(fs, ROOT_INO, "docs");
  const made = await fs.create(ctx(), docs.attr.ino, "new.bin", 0o100640, 0o2, 0o022);
  const ino = made.entry.attr.ino;
  const data = randomBytes(2_500_000, 9);
  for (let at = 0; at < data.length; at += 1 << 20) {
    await fs.write(ctx(), ino, made.open.fh, at, data.subarray(at, at + (1 << 20)));
  }
  await fs.release(ctx(), ino, made.open.fh, 0);
  assertEquals((await fs.getattr(ctx(), ino)).attr.size, data.length);
  assertEquals(await w.readRepo("/docs/new.bin"), null);
  await fs.commitNow();
  const got = await w.readRepo("/docs/new.bin");
  assertEquals(got?.bytes, data);
  assertEquals(got?.version.mode, 0o640);
  assertEquals(fs.pendingChanges, 0);
  // The file stays local and keeps its inode.
  assertEquals((await lookupOk(fs, docs.attr.ino, "new.bin")).attr.ino, ino);
  assertEquals(await readAll(fs, ino), data);
});

Deno.test("overwriting part of a remote file keeps the rest (copy on write)", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const e = await lookupOk(fs, ROOT_INO, "big.bin");
  const { fh } = await fs.open(ctx(), e.attr.ino, 2);
  await fs.write(ctx(), e.attr.ino, fh, 100, new TextEncoder().encode("PATCH"));
  await fs.release(ctx(), e.attr.ino, fh, 0);
  await fs.commitNow();
  const expected = BIG.slice();
  expected.set(new TextEncoder().encode("PATCH"), 100);
  assertEquals((await w.readRepo("/big.bin"))?.bytes, expected);
});

Deno.test("rename keeps the inode and commits the move; unlink and rmdir commit tombstones", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const docs = await lookupOk(fs, ROOT_INO, "docs");
  const a = await lookupOk(fs, docs.attr.ino, "a.txt.tc");
  const before = (await lookupOk(fs, docs.attr.ino, "a.txt")).attr.ino;
  await fs.rename(ctx(), docs.attr.ino, "a.txt.tc", ROOT_INO, "moved.txt", 0);
  assertEquals((await lookupOk(fs, ROOT_INO, "moved.txt")).attr.ino, before);
  assert("negative" in await fs.lookup(ctx(), docs.attr.ino, "a.txt"));
  assert("negative" in await fs.lookup(ctx(), docs.attr.ino, "a.txt.tc"));
  assert(a.attr.ino !== before);
  await fs.unlink(ctx(), ROOT_INO, "small.txt");
  await fs.rmdir(ctx(), ROOT_INO, "empty");
  await assertRejects(() => fs.rmdir(ctx(), ROOT_INO, "small.txt"), FuseError); // not a directory
  await fs.commitNow();
  assertEquals(await w.readRepo("/docs/a.txt"), null);
  assertEquals((await w.readRepo("/moved.txt"))?.bytes?.length, 5000);
  assertEquals(await w.readRepo("/small.txt"), null);
  assertEquals(await w.readRepo("/empty"), null);
  // The deleted content stays in the trash (the tombstone keeps its manifest).
  const ns = await w.repo.refresh();
  assert(ns.heads("/small.txt").some((h) => h.deleted && h.manifestId));
});

Deno.test("mkdir, symlink, chmod, utimens and truncate are committed", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const dir = await fs.mkdir(ctx(), ROOT_INO, "made", 0o700, 0);
  const link = await fs.symlink(ctx(), dir.attr.ino, "ln", "../small.txt");
  assertEquals(await fs.readlink(ctx(), link.attr.ino), "../small.txt");
  const small = await lookupOk(fs, ROOT_INO, "small.txt");
  await fs.setattr(ctx(), small.attr.ino, {
    mode: 0o600,
    mtime: { sec: 1_600_000_000, nsec: 0 },
  });
  await fs.setattr(ctx(), small.attr.ino, { size: 3 });
  await fs.commitNow();
  assertEquals((await w.readRepo("/made"))?.version.mode, 0o700);
  assertEquals((await w.readRepo("/made/ln"))?.version.target, "../small.txt");
  const s = await w.readRepo("/small.txt");
  assertEquals(new TextDecoder().decode(s!.bytes!), "hel");
  assertEquals(s?.version.mode, 0o600);
});

Deno.test("writes journaled before a crash are committed by recover()", async () => {
  await using w = await pushedWorld();
  const crashed = await w.open();
  const made = await crashed.create(ctx(), ROOT_INO, "late.txt", 0o100644, 1, 0);
  await crashed.write(ctx(), made.entry.attr.ino, made.open.fh, 0, new TextEncoder().encode("x1"));
  await crashed.rename(ctx(), ROOT_INO, "small.txt", ROOT_INO, "renamed.txt", 0);
  // No release, no commit: the process "dies" here. A new one reads the journal.
  const fs = await w.open();
  assertEquals(await listNames(fs, ROOT_INO), [
    "big.bin.tc",
    "docs.tcf",
    "empty.tcf",
    "late.txt",
    "renamed.txt",
  ]);
  assertEquals(await fs.recover(), 3);
  assertEquals(new TextDecoder().decode((await w.readRepo("/late.txt"))!.bytes!), "x1");
  assertEquals(new TextDecoder().decode((await w.readRepo("/renamed.txt"))!.bytes!), "hello\n");
  assertEquals(await w.readRepo("/small.txt"), null);
  assertEquals(await fs.recover(), 0);
});

Deno.test("refresh shows other devices' changes and tells the kernel", async () => {
  await using w = await pushedWorld();
  const fs = await w.open({ names: "real" });
  const small = await lookupOk(fs, ROOT_INO, "small.txt");
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin", "docs", "empty", "small.txt"]);
  await w.commitAsOther({ "/small.txt": "changed\n", "/fresh.txt": "new\n" });
  w.notices.length = 0;
  assertEquals(await fs.refresh(), 2);
  assertEquals(await listNames(fs, ROOT_INO), [
    "big.bin",
    "docs",
    "empty",
    "fresh.txt",
    "small.txt",
  ]);
  assertEquals(new TextDecoder().decode(await readAll(fs, small.attr.ino)), "changed\n");
  assert(w.notices.some((n) => n[0] === "entry" && n[2] === "fresh.txt"));
  assert(w.notices.some((n) => n[0] === "inode" && n[1] === small.attr.ino));
});

Deno.test("an unlinked file stays readable while open; inodes go after FORGET", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const made = await fs.create(ctx(), ROOT_INO, "tmp.db", 0o100644, 2, 0);
  const ino = made.entry.attr.ino;
  await fs.write(ctx(), ino, made.open.fh, 0, new TextEncoder().encode("journal"));
  await fs.unlink(ctx(), ROOT_INO, "tmp.db");
  assertEquals(
    new TextDecoder().decode(await fs.read(ctx(), ino, made.open.fh, 0, 100)),
    "journal",
  );
  assertEquals((await fs.getattr(ctx(), ino)).attr.nlink, 0);
  await fs.release(ctx(), ino, made.open.fh, 0);
  fs.forget(ino, 1);
  await assertRejects(() => fs.getattr(ctx(), ino), FuseError);
  await fs.commitNow();
  assertEquals(await w.readRepo("/tmp.db"), null);
});

Deno.test("unsync turns a hydrated file back into a stub; statfs shows the quota", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  assertEquals(await fs.hydrate("/big.bin"), { files: 1, bytes: BIG.length });
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin", "docs.tcf", "empty.tcf", "small.txt"]);
  assertEquals((await fs.unsync("/big.bin")).files, 1);
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin.tc", "docs.tcf", "empty.tcf", "small.txt"]);
  const st = await fs.statfs();
  assertEquals(st.blocks * st.bsize, 256 << 20);
  const cached = w.cache.stats();
  assertEquals(st.bfree, Math.floor((cached.maxBytes - cached.bytes) / st.bsize));
});

Deno.test("renaming a stub by its .tc name renames the file (the suffix is not kept)", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  await fs.rename(ctx(), ROOT_INO, "big.bin.tc", ROOT_INO, "other.bin.tc", 0);
  assertEquals(await listNames(fs, ROOT_INO), [
    "docs.tcf",
    "empty.tcf",
    "other.bin.tc",
    "small.txt",
  ]);
  await fs.commitNow();
  assertEquals((await w.readRepo("/other.bin"))?.bytes, BIG);
  assertEquals(await w.readRepo("/big.bin"), null);
});

Deno.test("pins keep a file local and come back after a restart", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  assertEquals((await fs.pin("/big.bin", true)).files, 1);
  assertEquals(await listNames(fs, ROOT_INO), ["big.bin", "docs.tcf", "empty.tcf", "small.txt"]);
  await assertRejects(() => fs.unsync("/big.bin"), TcfsError, "pinned");
  const again = await w.open();
  await again.recover();
  await again.pinsRestored;
  await assertRejects(() => again.unsync("/big.bin"), TcfsError, "pinned");
  assertEquals((await again.pin("/", false)).files, 1);
  assertEquals((await again.unsync("/big.bin")).files, 1);
});
