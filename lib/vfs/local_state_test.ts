// What stays local in the mount: unsync frees the cache, committed writes go
// into it, eviction over the quota turns files back into stubs, pins follow
// renames, and directories count their subdirectories in their link count.

import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { ChunkCache } from "../cache/mod.ts";
import { TcfsError } from "../errors.ts";
import { ROOT_INO } from "./inodes.ts";
import { ctx, listNames, lookupOk, readAll, VfsWorld } from "./testing/world.ts";

const MiB = 1 << 20;
const BIG = randomBytes(3_000_000, 21);

async function pushedWorld(): Promise<VfsWorld> {
  const w = await VfsWorld.create();
  await w.commitAsOther(
    { "/big.bin": BIG, "/small.txt": "hello\n", "/docs/a.txt": randomBytes(5000, 1) },
    ["/docs", "/empty"],
  );
  return w;
}

async function contentFiles(w: VfsWorld): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(w.tmp, "journal", "files"))) out.push(e.name);
  return out;
}

async function chunkIds(w: VfsWorld, path: string): Promise<string[]> {
  const ns = await w.repo.refresh();
  return (await w.repo.manifestOf(ns.get(path)!)).chunks.map((c) => c.id);
}

Deno.test("unsync frees the file's chunks at once; it is a stub after a restart too", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  await fs.hydrate("/big.bin");
  const ids = await chunkIds(w, "/big.bin");
  assert(ids.every((id) => w.cache.has(id)));
  await w.cache.idle();
  const before = w.cache.stats().bytes;
  assertEquals(await fs.unsync("/big.bin"), { files: 1, bytes: BIG.length });
  assert(ids.every((id) => !w.cache.has(id)), "the chunks left the cache");
  assertEquals(w.cache.stats().bytes, before - BIG.length);
  assertEquals(w.cache.stats().dropped, ids.length);
  const again = await w.open();
  assertEquals(await listNames(again, ROOT_INO), [
    "big.bin.tc",
    "docs.tcf",
    "empty.tcf",
    "small.txt",
  ]);
  // Reading it brings it back.
  const stub = await lookupOk(again, ROOT_INO, "big.bin.tc");
  assertEquals(await readAll(again, stub.attr.ino), BIG);
});

Deno.test("unsync refuses uncommitted writes and pins (also while pins are restored)", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  const e = await lookupOk(fs, ROOT_INO, "big.bin");
  const { fh } = await fs.open(ctx(), e.attr.ino, 2);
  await fs.write(ctx(), e.attr.ino, fh, 0, new TextEncoder().encode("edit"));
  await fs.release(ctx(), e.attr.ino, fh, 0);
  await assertRejects(() => fs.unsync("/big.bin"), TcfsError, "not committed yet");
  // Nothing changed for the other files either: the check comes first.
  await fs.hydrate("/docs");
  await assertRejects(() => fs.unsync("/"), TcfsError, "not committed yet");
  assertEquals(await listNames(fs, (await lookupOk(fs, ROOT_INO, "docs")).attr.ino), ["a.txt"]);
  await fs.commitNow();
  await fs.pin("/docs", true);
  const again = await w.open();
  await again.recover();
  // Pinned by a directory's saved path, before or after the pin is taken up again.
  await assertRejects(() => again.unsync("/docs/a.txt"), TcfsError, "is pinned");
  await again.pinsRestored;
  await assertRejects(() => again.unsync("/docs/a.txt"), TcfsError, "is pinned");
});

Deno.test("a file written through the mount goes into the cache when committed", async () => {
  await using w = await pushedWorld();
  const data = randomBytes(2_500_000, 9);
  const late = randomBytes(1_500_000, 10);
  const fs = await w.open();
  const made = await fs.create(ctx(), ROOT_INO, "new.bin", 0o100644, 2, 0);
  await fs.write(ctx(), made.entry.attr.ino, made.open.fh, 0, data);
  await fs.release(ctx(), made.entry.attr.ino, made.open.fh, 0);
  await fs.commitNow();
  assert((await chunkIds(w, "/new.bin")).every((id) => w.cache.has(id)));
  assertEquals(await contentFiles(w), [], "the local copy went once the cache held it");
  assertEquals(await readAll(fs, made.entry.attr.ino), data);
  // Written, then the process dies before the commit: the next start commits it and caches it.
  const crashed = await w.open();
  const l = await crashed.create(ctx(), ROOT_INO, "late.bin", 0o100644, 2, 0);
  await crashed.write(ctx(), l.entry.attr.ino, l.open.fh, 0, late);

  const fs2 = await w.open();
  assertEquals(await fs2.recover(), 1);
  assertEquals(await contentFiles(w), []);
  const names = await listNames(fs2, ROOT_INO);
  assert(names.includes("new.bin") && names.includes("late.bin"), names.join(" "));
  w.store.reset();
  assertEquals(await readAll(fs2, (await lookupOk(fs2, ROOT_INO, "new.bin")).attr.ino), data);
  assertEquals(await readAll(fs2, (await lookupOk(fs2, ROOT_INO, "late.bin")).attr.ino), late);
  assertEquals(w.store.count("get"), 0, "both were read from the cache");
});

Deno.test("over the quota, unpinned hydrated files are evicted back to stubs", async () => {
  await using w = await VfsWorld.create();
  const a = randomBytes(3_000_000, 31);
  const b = randomBytes(3_000_000, 32);
  const c = randomBytes(3_000_000, 33);
  await w.commitAsOther({ "/a.bin": a, "/b.bin": b, "/c.bin": c });
  // Room for one file and a half: hydrating a second one evicts the first.
  await using cache = await ChunkCache.open(w.repo, {
    dir: join(w.tmp, "small-cache"),
    maxBytes: 5 * MiB,
  });
  const fs = await w.open({ cache });
  await fs.hydrate("/a.bin");
  await cache.idle();
  assertEquals(await listNames(fs, ROOT_INO), ["a.bin", "b.bin.tc", "c.bin.tc"]);
  w.notices.length = 0;
  await fs.hydrate("/b.bin");
  await cache.idle();
  // The kernel is told at once, before any listing rechecks the files.
  assert(w.notices.some((n) => n[0] === "entry" && n[2] === "a.bin.tc"), "a.bin.tc invalidated");
  await lookupOk(fs, ROOT_INO, "a.bin.tc");
  assertEquals(await listNames(fs, ROOT_INO), ["a.bin.tc", "b.bin", "c.bin.tc"]);
  assert(cache.stats().bytes <= 5 * MiB);
  // A pinned file stays local; the others make room around it.
  await fs.pin("/b.bin", true);
  await fs.hydrate("/c.bin");
  await fs.hydrate("/a.bin");
  await cache.idle();
  const names = await listNames(fs, ROOT_INO);
  assert(names.includes("b.bin"), names.join(" "));
  const a2 = await lookupOk(fs, ROOT_INO, names.includes("a.bin") ? "a.bin" : "a.bin.tc");
  assertEquals(await readAll(fs, a2.attr.ino), a);
});

Deno.test("a pinned file renamed through the mount stays pinned after a restart", async () => {
  await using w = await pushedWorld();
  const fs = await w.open();
  await fs.pin("/big.bin", true);
  await fs.pin("/docs", true);
  const docs = await lookupOk(fs, ROOT_INO, "docs");
  await fs.rename(ctx(), ROOT_INO, "big.bin", docs.attr.ino, "moved.bin", 0);
  // Out of the pinned directory: saved under its own path from now on.
  await fs.rename(ctx(), docs.attr.ino, "a.txt", ROOT_INO, "a.txt", 0);
  await fs.commitNow();
  const again = await w.open();
  await again.recover();
  await again.pinsRestored;
  await assertRejects(() => again.unsync("/docs/moved.bin"), TcfsError, "is pinned");
  await assertRejects(() => again.unsync("/a.txt"), TcfsError, "is pinned");
  // A deleted pinned file takes its saved pin with it.
  await again.unlink(ctx(), ROOT_INO, "a.txt");
  await again.pin("/docs", false);
  await again.commitNow();
  const third = await w.open();
  await third.recover();
  await third.pinsRestored;
  assertEquals((await third.unsync("/docs/moved.bin")).files, 1);
  assert(!w.logLines.some((l) => l.includes("could not pin again")), w.logLines.join("\n"));
});

Deno.test("a directory's link count is 2 + its subdirectories", async () => {
  await using w = await VfsWorld.create();
  await w.commitAsOther({ "/d/x.txt": "x", "/d/s1/y.txt": "y", "/d/s2/z.txt": "z" }, ["/e"]);
  const fs = await w.open({ names: "real" });
  const root = (await fs.getattr(ctx(), ROOT_INO)).attr;
  assertEquals(root.nlink, 4);
  const d = await lookupOk(fs, ROOT_INO, "d");
  assertEquals(d.attr.nlink, 4, "counted before the directory was read");
  await listNames(fs, d.attr.ino);
  await fs.mkdir(ctx(), d.attr.ino, "s3", 0o755, 0);
  assertEquals((await fs.getattr(ctx(), d.attr.ino)).attr.nlink, 5);
  assertEquals((await lookupOk(fs, ROOT_INO, "e")).attr.nlink, 2);
});
