import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { Errno, FuseError, MountBusyError } from "./errno.ts";
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
    // No statfs method: the session answers an empty file system with 4 KiB blocks.
    assertEquals(await shOk("stat -f -c '%S %b' .", mnt), "4096 0\n");
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
    // Another process holds the file open (this one must not: closing it would
    // block the event loop that answers the FLUSH).
    const holder = new Deno.Command("bash", {
      args: ["-c", `exec 3< '${mnt}/f'; echo open; exec sleep 60`],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    assertEquals(dec.decode((await reader.read()).value), "open\n");
    reader.releaseLock();
    try {
      await assertRejects(() => server.unmount(), MountBusyError, "busy");
      assert(await isMounted(server.mountpoint));
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
      await holder.stdout.cancel();
    }
    await server.unmount();
    assert(!(await isMounted(server.mountpoint)));
    assert(fs.destroyed);
  });
});

Deno.test("errors: FuseError gives its errno, others EIO through onError, absent ops ENOSYS", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  fs.putFile(ROOT_INO, "denied", enc.encode("x"));
  fs.putFile(ROOT_INO, "broken", enc.encode("x"));
  const inner = fs.open.bind(fs);
  fs.open = (ctx, ino) => {
    if (ino === fs.resolve("denied")) throw new FuseError(Errno.EACCES);
    if (ino === fs.resolve("broken")) throw new Error("disk on fire");
    return inner(ctx, ino);
  };
  const seen: string[] = [];
  await withMount(fs, async (mnt) => {
    const r = await sh(
      `cat denied; cat broken; python3 -c "import os; os.getxattr('denied', 'user.x')"`,
      mnt,
    );
    assert(r.stderr.includes("denied: Permission denied"), r.stderr);
    assert(r.stderr.includes("broken: Input/output error"), r.stderr);
    // No getxattr: ENOSYS, which the kernel reports to callers as "not supported".
    assert(r.stderr.includes("Operation not supported"), r.stderr);
  }, { onError: (e, where) => seen.push(`${where.opcode}: ${(e as Error).message}`) });
  assertEquals(seen, ["OPEN: disk on fire"]);
});

Deno.test("READDIRPLUS lists with attributes, and FORGET releases unlinked inodes", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  for (let i = 0; i < 300; i++) fs.putFile(ROOT_INO, `f${i}`, new Uint8Array(i));
  await withMount(fs, async (mnt) => {
    // Plain ls only reads the directory: entries known afterwards came by READDIRPLUS.
    assertEquals((await shOk("ls", mnt)).split("\n").length, 301);
    const ino = fs.resolve("f7");
    assert(fs.node(ino).lookups > 0, "listed entries were looked up");
    const listing = await shOk("ls -l --time-style=+ | tail -n +2 | awk '{print $5, $6}'", mnt);
    const sizes = new Map(
      listing.trim().split("\n").map((l) => l.split(" ")).map(([size, name]) => [name, size]),
    );
    assertEquals(sizes.size, 300);
    assertEquals(sizes.get("f299"), "299");
    await shOk("rm f7", mnt);
    // The kernel forgets the unlinked inode (FORGET or BATCH_FORGET) and memfs drops it.
    const deadline = Date.now() + 10_000;
    while (fs.nodes.has(ino) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert(!fs.nodes.has(ino), "the unlinked inode was never forgotten");
  }, { readdirplus: true });
});

Deno.test("tar, rsync, git, sqlite3 and mmap work on a mounted memfs", async () => {
  await assertFuseAvailable();
  const fs = new MemFs();
  const src = new URL(".", import.meta.url).pathname;
  await withMount(fs, async (mnt) => {
    await shOk(`tar -C '${src}' -cf - . | tar -xf - -C . && diff -r '${src}' .`, mnt);
    await shOk(`mkdir r && rsync -a '${src}' r/ && diff -r '${src}' r`, mnt);
    const git = await shOk(
      "git init -q g && cp -r testing g/ && cd g && git add . && " +
        "git -c user.email=t@t -c user.name=t commit -qm one && git status --porcelain && " +
        "git log --oneline | wc -l",
      mnt,
    );
    assertEquals(git, "1\n");
    const sql = await shOk(
      "sqlite3 db 'create table t(x); begin; insert into t values (1), (2); commit; " +
        "pragma integrity_check; select count(*) from t;'",
      mnt,
    );
    assertEquals(sql, "ok\n2\n");
    const mmap = await shOk(
      `python3 -c "import os, mmap; f = os.open('mm', os.O_CREAT | os.O_RDWR); ` +
        `os.ftruncate(f, 8192); m = mmap.mmap(f, 8192); m[0:5] = b'hello'; m.flush()"`,
      mnt,
    );
    assertEquals(mmap, "");
    assertEquals(dec.decode(fs.node(fs.resolve("mm")).data.subarray(0, 5)), "hello");
  });
});
