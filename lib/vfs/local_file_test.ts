import { join } from "node:path";
import { assertEquals } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { ROOT_INO } from "./inodes.ts";
import { LocalFiles } from "./local_file.ts";
import { ctx, readAll, VfsWorld } from "./testing/world.ts";

Deno.test("a release racing an acquire never closes the file under the acquirer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = new LocalFiles((id) => `${dir}/${id}`);
    const first = await files.acquire("a", true);
    await first.write(0, new TextEncoder().encode("content"));
    // Release and acquire in the same tick: the second holder must get a usable file.
    const [, second] = await Promise.all([files.release("a"), files.acquire("a")]);
    assertEquals(new TextDecoder().decode(await second.read(0, 100)), "content");
    await files.release("a");
    // Concurrent writes through one descriptor keep their own offsets.
    const f = await files.acquire("b", true);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => f.write(i * 2, new TextEncoder().encode(`${i % 10}.`))),
    );
    assertEquals(
      new TextDecoder().decode(await f.read(0, 100)),
      Array.from({ length: 50 }, (_, i) => `${i % 10}.`).join(""),
    );
    await files.closeAll();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Descriptors of this process open on files under `dir`. */
async function fdsUnder(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir("/proc/self/fd")) {
    const target = await Deno.readLink(`/proc/self/fd/${e.name}`).catch(() => "");
    if (target.startsWith(dir)) n++;
  }
  return n;
}

Deno.test("the mount's release racing a setattr of the same file (git: close, then utime)", async () => {
  await using w = await VfsWorld.create();
  const fs = await w.open();
  const made = await fs.create(ctx(), ROOT_INO, "obj", 0o100644, 2, 0);
  const ino = made.entry.attr.ino;
  await fs.write(ctx(), ino, made.open.fh, 0, new TextEncoder().encode("packed"));
  const mtime = { sec: 1_700_000_000, nsec: 0 };
  // RELEASE is not awaited by close(2): the utime that follows arrives while it runs.
  const [, attr] = await Promise.all([
    fs.release(ctx(), ino, made.open.fh, 0),
    fs.setattr(ctx(), ino, { mtime, mode: 0o100444 }),
  ]);
  assertEquals(attr.attr.mtime, 1_700_000_000_000);
  assertEquals(new TextDecoder().decode(await readAll(fs, ino)), "packed");
});

Deno.test("parallel reads through one handle hold the working copy once", async () => {
  await using w = await VfsWorld.create();
  const fs = await w.open();
  const made = await fs.create(ctx(), ROOT_INO, "w.bin", 0o100644, 2, 0);
  const ino = made.entry.attr.ino;
  const data = randomBytes(64 * 1024, 5);
  await fs.write(ctx(), ino, made.open.fh, 0, data);
  await fs.release(ctx(), ino, made.open.fh, 0);
  const contentFiles = join(w.tmp, "journal", "files");
  assertEquals(await fdsUnder(contentFiles), 0);
  const { fh } = await fs.open(ctx(), ino, 0);
  // The kernel's readahead sends several reads of one handle at once.
  const pieces = await Promise.all(
    Array.from({ length: 8 }, (_, i) => fs.read(ctx(), ino, fh, i * 8192, 8192)),
  );
  assertEquals(pieces.map((p) => p.length), Array(8).fill(8192));
  await fs.release(ctx(), ino, fh, 0);
  // Closing the handle lets the working copy go: no descriptor is left behind.
  assertEquals(await fdsUnder(contentFiles), 0);
});
