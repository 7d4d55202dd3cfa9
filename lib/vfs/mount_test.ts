import { assert, assertEquals } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { sh, shOk, withMount } from "../fuse/testing/harness.ts";
import { ChunkCache } from "../cache/mod.ts";
import { VfsWorld } from "./testing/world.ts";

const BIG = randomBytes(3_000_000, 11);

Deno.test("mount: stubs list as .tc/.tcf; cat of either name gives the bytes; then `name`", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  await w.commitAsOther({ "/big.bin": BIG, "/docs/a.txt": "alpha\n", "/b.bin": BIG.slice(7) }, [
    "/docs",
  ]);
  await Deno.writeFile(`${w.tmp}/expected.bin`, BIG);
  const fs = await w.open({ commitDelayMs: 100 });
  await withMount(fs, async (mnt) => {
    assertEquals((await shOk(`ls ${mnt}`)).split("\n").filter(Boolean), [
      "b.bin.tc",
      "big.bin.tc",
      "docs.tcf",
    ]);
    await shOk(`cmp ${mnt}/big.bin.tc ${w.tmp}/expected.bin`);
    assertEquals((await shOk(`ls ${mnt}`)).split("\n").filter(Boolean), [
      "b.bin.tc",
      "big.bin",
      "docs.tcf",
    ]);
    await shOk(`cmp ${mnt}/big.bin ${w.tmp}/expected.bin`);
    assertEquals(Number(await shOk(`stat -c %s ${mnt}/big.bin`)), BIG.length);
    // `cat name` of a stub works too, and the directory stub opens by its real name.
    await shOk(`cat ${mnt}/b.bin | cmp - <(tail -c +8 ${w.tmp}/expected.bin)`);
    assertEquals(await shOk(`cat ${mnt}/docs/a.txt`), "alpha\n");
    assertEquals((await shOk(`ls ${mnt}`)).split("\n").filter(Boolean), [
      "b.bin",
      "big.bin",
      "docs",
    ]);
  }, { fsName: "tcfs" });
});

Deno.test("mount: writes, renames, deletes, chmod and utimens reach the repository", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  await w.commitAsOther({ "/old.txt": "old\n" });
  const fs = await w.open({ commitDelayMs: 100 });
  await withMount(fs, async (mnt) => {
    await shOk(
      `set -e; cd ${mnt}; mkdir -p d/e; printf 'hello' > d/e/f.txt; printf ' world' >> d/e/f.txt
       head -c 2000000 /dev/urandom > big; cp big big.copy; mv big.copy d/moved
       chmod 600 d/e/f.txt; touch -d @1600000000 d/e/f.txt; rm old.txt; ln -s e/f.txt d/link
       printf 'xyz' > t; truncate -s 1 t`,
    );
    assertEquals(await shOk(`cat ${mnt}/d/e/f.txt`), "hello world");
    assertEquals(await shOk(`stat -c '%a %Y %s' ${mnt}/d/e/f.txt`), "600 1600000000 11\n");
    await fs.commitNow();
    const f = await w.readRepo("/d/e/f.txt");
    assertEquals(new TextDecoder().decode(f!.bytes!), "hello world");
    assertEquals(f!.version.mode, 0o600);
    assertEquals(f!.version.mtime, 1_600_000_000_000);
    assertEquals((await w.readRepo("/d/moved"))!.bytes, await Deno.readFile(`${mnt}/big`));
    assertEquals(await w.readRepo("/old.txt"), null);
    assertEquals((await w.readRepo("/d/link"))!.version.target, "e/f.txt");
    assertEquals(new TextDecoder().decode((await w.readRepo("/t"))!.bytes!), "x");
    const r = await sh(`ln ${mnt}/t ${mnt}/hard`);
    assert(r.code !== 0, "hard links are refused");
  });
});

Deno.test("mount: over the cache quota a hydrated file turns back into name.tc at once", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  const a = randomBytes(3_000_000, 41);
  await w.commitAsOther({ "/a.bin": a, "/b.bin": randomBytes(3_000_000, 42) });
  await Deno.writeFile(`${w.tmp}/a.expected`, a);
  await using cache = await ChunkCache.open(w.repo, { dir: `${w.tmp}/small`, maxBytes: 5 << 20 });
  // Long kernel cache lifetimes: only the file system's invalidations can change what ls sees.
  const fs = await w.open({ cache, attrTtlMs: 60_000, negativeTtlMs: 60_000 });
  await withMount(fs, async (mnt) => {
    await shOk(`cat ${mnt}/a.bin.tc > /dev/null`);
    await cache.idle();
    assertEquals(await shOk(`ls ${mnt}`), "a.bin\nb.bin.tc\n");
    assert((await sh(`test -e ${mnt}/a.bin.tc`)).code !== 0, "a.bin.tc is gone (negative entry)");
    await shOk(`cat ${mnt}/b.bin.tc > /dev/null`);
    await cache.idle();
    await shOk(`test -e ${mnt}/a.bin.tc`);
    assertEquals(await shOk(`ls ${mnt}`), "a.bin.tc\nb.bin\n");
    await shOk(`cmp ${mnt}/a.bin.tc ${w.tmp}/a.expected`);
  });
});
