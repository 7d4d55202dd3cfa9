import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { Errno, PassthroughError, ROOT_INO } from "./ops.ts";
import { BackedFs } from "./testing/backed_fs.ts";
import { shOk, withMount } from "./testing/harness.ts";

const enc = new TextEncoder();

/** Random bytes (getRandomValues fills at most 64 KiB at a time). */
function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A BackedFs serving `name` from a fresh local file holding `content`, in `dir`. */
async function backedFs(dir: string, content: Uint8Array): Promise<[BackedFs, string]> {
  const local = `${dir}/backing.bin`;
  await Deno.writeFile(local, content);
  const fs = new BackedFs();
  await fs.putBacked(ROOT_INO, "big", local);
  fs.putFile(ROOT_INO, "plain.txt", enc.encode("in memory\n"));
  return [fs, local];
}

/** BACKING_OPEN needs CAP_SYS_ADMIN: without root the session offers no passthrough at all. */
const notRoot = Deno.uid() !== 0;

Deno.test({
  name: "passthrough: the kernel reads and writes the backing file, no READ/WRITE reaches us",
  ignore: notRoot,
}, async () => {
  await assertFuseAvailable();
  const dir = await Deno.makeTempDir({ prefix: "tcfs-passthrough-" });
  try {
    const content = randomBytes(5 * 1024 * 1024 + 123);
    const [fs, local] = await backedFs(dir, content);
    await withMount(fs, async (mnt, server) => {
      assert(server.backing && fs.backing, "INIT agreed passthrough");
      const real = fs.backing;
      const registered: number[] = [], released: number[] = [];
      fs.backing = {
        open: (path) => (registered.push(real.open(path)), registered.at(-1)!),
        close: (id) => (released.push(id), real.close(id)),
      };
      // Whole file with cat, and a range with dd at an unaligned offset.
      await shOk(`cat big > '${dir}/copy' && cmp big '${local}'`, mnt);
      assertEquals(await Deno.readFile(`${dir}/copy`), content);
      const skip = 3 * 1024 * 1024 + 7;
      const range = await shOk(`dd if=big bs=1 skip=${skip} count=64 status=none | xxd -p`, mnt);
      const want = Array.from(
        content.subarray(skip, skip + 64),
        (b) => b.toString(16).padStart(2, "0"),
      );
      assertEquals(range.replaceAll("\n", ""), want.join(""));
      // Writes through the mount land in the backing file; an append grows the size seen.
      await shOk("printf PASSTHRU | dd of=big bs=1 seek=1000 conv=notrunc status=none", mnt);
      await shOk("printf TAIL >> big", mnt);
      const after = await Deno.readFile(local);
      assertEquals(new TextDecoder().decode(after.subarray(1000, 1008)), "PASSTHRU");
      assertEquals(new TextDecoder().decode(after.subarray(content.length)), "TAIL");
      assertEquals((await shOk("stat -c %s big", mnt)).trim(), String(content.length + 4));
      // Files served the ordinary way still work on a passthrough mount.
      assertEquals(await shOk("cat plain.txt", mnt), "in memory\n");
      assertEquals(fs.ioRequests, 0, "no READ or WRITE of the backed file reached the fs");
      assert(fs.passthroughOpens >= 5, `only ${fs.passthroughOpens} passthrough opens`);
      // Every open released its id (one per inode while open); a released id is gone.
      await waitFor(() => released.length === registered.length, "the backing ids' release");
      assertEquals(released, registered);
      const err = assertThrows(() => real.close(registered[0]), PassthroughError);
      assert(err.errno > 0);
    }, { passthrough: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "passthrough: a backing file that cannot be registered throws PassthroughError",
  ignore: notRoot,
}, async () => {
  await assertFuseAvailable();
  const dir = await Deno.makeTempDir({ prefix: "tcfs-passthrough-" });
  try {
    const [fs] = await backedFs(dir, enc.encode("x"));
    await withMount(fs, (_mnt, server) => {
      const missing = assertThrows(() => server.backing!.open(`${dir}/missing`), PassthroughError);
      assertEquals(missing.errno, Errno.ENOENT);
      // A directory has no read_iter: the kernel refuses it as a backing file.
      const notFile = assertThrows(() => server.backing!.open(dir), PassthroughError);
      assert(notFile.message.includes("cannot register backing file"), notFile.message);
      return Promise.resolve();
    }, { passthrough: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without passthrough asked for, the same fs serves through READ/WRITE", async () => {
  await assertFuseAvailable();
  const dir = await Deno.makeTempDir({ prefix: "tcfs-passthrough-" });
  try {
    const content = randomBytes(2 * 1024 * 1024 + 5);
    const [fs, local] = await backedFs(dir, content);
    await withMount(fs, async (mnt, server) => {
      assertEquals([server.backing, fs.backing], [undefined, undefined]);
      await shOk(`cmp big '${local}'`, mnt);
      await shOk("printf FALLBACK | dd of=big bs=1 seek=77 conv=notrunc status=none", mnt);
      const after = await Deno.readFile(local);
      assertEquals(new TextDecoder().decode(after.subarray(77, 85)), "FALLBACK");
      assertEquals(fs.passthroughOpens, 0);
      assert(fs.ioRequests > 0, "reads and writes went through the file system");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
