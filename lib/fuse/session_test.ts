import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { MountBusyError } from "./errno.ts";
import { isMounted } from "./mount.ts";
import { ROOT_INO } from "./ops.ts";
import { MemFs } from "./testing/memfs.ts";
import { sh, shOk, withMount } from "./testing/harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("real tools work on a mounted memfs", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  fs.putFile(ROOT_INO, "hello.txt", enc.encode("hello\n"));
  await withMount(fs, async (mnt) => {
    assertEquals(await shOk("cat hello.txt", mnt), "hello\n");
    await shOk(
      "mkdir -p d/e && printf abc > d/e/f && cp hello.txt d/copy && mv d/copy d/moved && " +
        "ln -s ../hello.txt d/link && ln d/e/f d/hard",
      mnt,
    );
    assertEquals((await shOk("ls -1 d", mnt)).split("\n").filter(Boolean), [
      "e",
      "hard",
      "link",
      "moved",
    ]);
    assertEquals(await shOk("cat d/link d/moved d/hard", mnt), "hello\nhello\nabc");
    assertEquals((await shOk("readlink d/link", mnt)).trim(), "../hello.txt");
    assertEquals((await shOk("stat -c %h d/e/f", mnt)).trim(), "2");
    // dd at offsets: write 4 bytes at 1 MiB + 3, then read them back.
    await shOk(
      "dd if=/dev/zero of=big bs=1M count=2 status=none && " +
        "printf WXYZ | dd of=big bs=1 seek=$((1048576+3)) conv=notrunc status=none",
      mnt,
    );
    assertEquals(
      await shOk("dd if=big bs=1 skip=$((1048576+3)) count=4 status=none", mnt),
      "WXYZ",
    );
    assertEquals((await shOk("stat -c %s big", mnt)).trim(), "2097152");
    await shOk("truncate -s 10 big && TZ=UTC touch -d '2001-02-03 04:05:06.789' big", mnt);
    assertEquals(
      (await shOk("TZ=UTC stat -c '%s %y' big", mnt)).trim(),
      "10 2001-02-03 04:05:06.789000000 +0000",
    );
    await shOk("rm d/hard d/link d/moved && rm -r d/e && rmdir d", mnt);
    assertEquals((await shOk("ls -A", mnt)).split("\n").filter(Boolean), ["big", "hello.txt"]);
    const r = await sh("rmdir hello.txt; mkdir x && touch x/y && rmdir x", mnt);
    assert(r.stderr.includes("Not a directory") && r.stderr.includes("not empty"), r.stderr);
    // The file system saw it all: what the tools did is in memfs itself.
    assertEquals(fs.node(fs.resolve("big")).attr.size, 10);
    assertEquals(dec.decode(fs.node(fs.resolve("hello.txt")).data.subarray(0, 6)), "hello\n");
  });
});

Deno.test("Deno file APIs work on a mounted memfs", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  await withMount(fs, async (mnt) => {
    const data = crypto.getRandomValues(new Uint8Array(3 * 1024 * 1024 + 17).subarray(0, 65536));
    const big = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += data.length) big.set(data.subarray(0, big.length - i), i);
    await Deno.writeFile(`${mnt}/a.bin`, big);
    assertEquals(await Deno.readFile(`${mnt}/a.bin`), big);
    await Deno.rename(`${mnt}/a.bin`, `${mnt}/b.bin`);
    await Deno.truncate(`${mnt}/b.bin`, 5);
    assertEquals(await Deno.readFile(`${mnt}/b.bin`), big.subarray(0, 5));
    await Deno.symlink("b.bin", `${mnt}/s`);
    assertEquals(await Deno.readLink(`${mnt}/s`), "b.bin");
    await Deno.utime(`${mnt}/b.bin`, new Date(1e12), new Date(2e12));
    assertEquals((await Deno.stat(`${mnt}/b.bin`)).mtime?.getTime(), 2e12);
    await Deno.chmod(`${mnt}/b.bin`, 0o600);
    assertEquals((await Deno.stat(`${mnt}/b.bin`)).mode! & 0o777, 0o600);
    const names = [];
    for await (const e of Deno.readDir(mnt)) names.push(e.name);
    assertEquals(names.sort(), ["b.bin", "s"]);
    await assertRejects(() => Deno.stat(`${mnt}/nope`), Deno.errors.NotFound);
    // More entries than one READDIR reply holds.
    const dir = fs.putDir(ROOT_INO, "many");
    for (let i = 0; i < 2000; i++) fs.putFile(dir, `file-with-a-longish-name-${i}`, enc.encode(""));
    let count = 0;
    for await (const _ of Deno.readDir(`${mnt}/many`)) count++;
    assertEquals(count, 2000);
  });
});

Deno.test("a slow read blocks neither stat nor reads of other files", async () => {
  await assertFuseAvailable();
  const fs = new MemFs({ attrTtlMs: 0, entryTtlMs: 0 });
  const slow = fs.putFile(ROOT_INO, "slow", enc.encode("slow\n"));
  fs.putFile(ROOT_INO, "fast", enc.encode("fast\n"));
  fs.readDelayMs.set(slow, 3000);
  await withMount(fs, async (mnt) => {
    let slowDone = false;
    const slowCat = shOk("cat slow", mnt).then((out) => (slowDone = true, out));
    while (fs.waiting === 0) await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      assertEquals(await shOk("stat -c %s fast && cat fast", mnt), "5\nfast\n");
    }
    const elapsed = performance.now() - started;
    assert(!slowDone, "the slow read finished before the fast ones");
    assert(elapsed < 2500, `fast operations took ${elapsed} ms behind a slow read`);
    assertEquals(await slowCat, "slow\n");
  });
});

Deno.test("killing a reader sends INTERRUPT, which aborts the read's signal", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  const slow = fs.putFile(ROOT_INO, "slow", enc.encode("never\n"));
  fs.readDelayMs.set(slow, 60_000);
  await withMount(fs, async (mnt) => {
    const cat = new Deno.Command("cat", { args: [`${mnt}/slow`], stdout: "null", stderr: "null" })
      .spawn();
    while (fs.waiting === 0) await new Promise((r) => setTimeout(r, 20));
    cat.kill("SIGINT");
    const status = await cat.status;
    assertEquals(status.success, false);
    assertEquals(fs.interrupted.length, 1);
    assertEquals(fs.waiting, 0);
  });
});

Deno.test("notify: invalEntry and invalInode show changes made behind the kernel", async () => {
  await assertFuseAvailable();
  const fs = new MemFs({ attrTtlMs: 60_000, entryTtlMs: 60_000 });
  fs.putFile(ROOT_INO, "name.tc", enc.encode("stub"));
  const content = fs.putFile(ROOT_INO, "content", enc.encode("old!"));
  await withMount(fs, async (mnt, server) => {
    assertEquals(await shOk("cat name.tc content", mnt), "stubold!");
    // Behind the kernel: rename name.tc to name, rewrite content.
    const dir = fs.node(ROOT_INO).children!;
    dir.set("name", dir.get("name.tc")!);
    dir.delete("name.tc");
    fs.node(content).data.set(enc.encode("new!"));
    assertEquals(await shOk("cat name.tc content", mnt), "stubold!", "served from the caches");
    assertEquals(await server.notifier.invalEntry(ROOT_INO, "name.tc"), true);
    assertEquals(await server.notifier.invalInode(content), true);
    assertEquals(await shOk("cat name content; ls", mnt), "stubnew!content\nname\n");
    assertEquals((await sh("cat name.tc", mnt)).code, 1);
    assertEquals(await server.notifier.invalEntry(ROOT_INO, "never-looked-up"), false);
  });
});

Deno.test("unmount: EBUSY while a file is open, then a clean end of the session", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  fs.putFile(ROOT_INO, "f", enc.encode("x"));
  await withMount(fs, async (mnt, server) => {
    const file = await Deno.open(`${mnt}/f`);
    try {
      await assertRejects(() => server.unmount(), MountBusyError, "busy");
      assert(await isMounted(server.mountpoint));
    } finally {
      file.close();
    }
    await server.unmount();
    assert(!(await isMounted(server.mountpoint)));
    assert(fs.destroyed);
  });
});
