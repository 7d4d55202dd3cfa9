import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { shOk, withMount } from "../fuse/testing/harness.ts";
import { VfsWorld } from "./testing/world.ts";

/** A tree of `n` small files in 50 directories, written directly (fast). */
async function smallTree(root: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const dir = `${root}/d${i % 50}`;
    if (i < 50) await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/f${i}.txt`, `file ${i}\n`.repeat(1 + (i % 7)));
  }
}

Deno.test("mount: tar -x of 5,000 files, tar -c back, rsync -a in and out", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  await smallTree(`${w.tmp}/src`, 5000);
  await shOk(`tar -cf ${w.tmp}/a.tar -C ${w.tmp}/src .`);
  const fs = await w.open({ commitDelayMs: 200 });
  await withMount(fs, async (mnt) => {
    await shOk(`mkdir ${mnt}/x && tar -xf ${w.tmp}/a.tar -C ${mnt}/x`);
    // tar -d compares content, mode and mtime of every member with the mount.
    await shOk(`tar -df ${w.tmp}/a.tar -C ${mnt}/x`);
    await shOk(`tar -cf ${w.tmp}/b.tar -C ${mnt}/x . && mkdir ${w.tmp}/back`);
    await shOk(`tar -xf ${w.tmp}/b.tar -C ${w.tmp}/back && diff -r ${w.tmp}/src ${w.tmp}/back`);
    await shOk(`rsync -a ${w.tmp}/src/ ${mnt}/r/ && rsync -a ${mnt}/r/ ${w.tmp}/out/`);
    await shOk(`diff -r ${w.tmp}/src ${w.tmp}/out`);
    assertEquals(await shOk(`rsync -ai ${w.tmp}/src/ ${mnt}/r/`), "", "nothing to copy again");
    await fs.commitNow();
  });
  const ns = await w.repo.refresh();
  const files = (dir: string) => [...ns.walk(dir)].filter((e) => e.kind === "file").length;
  assertEquals(files("/x"), 5000);
  assertEquals(files("/r"), 5000);
  assertEquals(
    new TextDecoder().decode((await w.readRepo("/r/d3/f53.txt"))!.bytes!),
    "file 53\n".repeat(5),
  );
});

Deno.test("mount: sqlite3 transactions and integrity_check, rollback journal and WAL", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  const fs = await w.open({ commitDelayMs: 200 });
  await withMount(fs, async (mnt) => {
    for (const mode of ["delete", "wal"]) {
      const db = `${mnt}/${mode}.db`;
      await shOk(
        `sqlite3 ${db} "PRAGMA journal_mode=${mode}; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"`,
      );
      await shOk(
        `sqlite3 ${db} "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<20000) INSERT INTO t SELECT i, hex(randomblob(40)) FROM n; COMMIT;"`,
      );
      await shOk(
        `sqlite3 ${db} "BEGIN; DELETE FROM t WHERE k % 3 = 0; ROLLBACK; BEGIN; UPDATE t SET v = 'x' WHERE k < 100; COMMIT;"`,
      );
      assertEquals(
        await shOk(`sqlite3 ${db} "PRAGMA integrity_check; SELECT count(*) FROM t;"`),
        "ok\n20000\n",
      );
    }
    await shOk(`sqlite3 ${mnt}/wal.db "PRAGMA wal_checkpoint(TRUNCATE);"`);
    await fs.commitNow();
    await Deno.writeFile(`${w.tmp}/copy.db`, (await w.readRepo("/delete.db"))!.bytes!);
    assertEquals(
      await shOk(`sqlite3 ${w.tmp}/copy.db "PRAGMA integrity_check; SELECT count(*) FROM t;"`),
      "ok\n20000\n",
    );
  });
});

Deno.test("mount: git clone into the mount, then status and log", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  const git = "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main";
  await smallTree(`${w.tmp}/src`, 300);
  await shOk(
    `cd ${w.tmp}/src && ${git} init -q && ${git} add -A && ${git} commit -qm one && echo more >> d1/f1.txt && ${git} commit -qam two`,
  );
  const fs = await w.open({ commitDelayMs: 200 });
  await withMount(fs, async (mnt) => {
    await shOk(`${git} clone -q ${w.tmp}/src ${mnt}/clone`);
    assertEquals(await shOk(`cd ${mnt}/clone && ${git} status --porcelain`), "");
    assertMatch(await shOk(`cd ${mnt}/clone && ${git} log --oneline`), /two\n.*one\n$/);
    await shOk(
      `cd ${mnt}/clone && echo change >> d2/f2.txt && ${git} commit -qam three && ${git} gc -q`,
    );
    assertEquals(
      await shOk(`cd ${mnt}/clone && ${git} status --porcelain && ${git} fsck --no-progress 2>&1`),
      "",
    );
    await fs.commitNow();
  });
});
