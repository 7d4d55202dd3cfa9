/**
 * Real tools on a `tcfs mount` served by the daemon, with the repository on
 * a real Ceph RGW: git, tar with 5,000 files, rsync and sqlite3; then what
 * they wrote is read back by another device from the bucket.
 */

import { assertEquals, assertMatch } from "./assert.ts";
import { makeDevice } from "./fixtures/device.ts";
import { startDaemon, type TestDaemon } from "./fixtures/daemon.ts";
import { isMounted } from "../lib/fuse/mount.ts";
import { sh, shOk } from "../lib/fuse/testing/harness.ts";
import { assertFuseAvailable, startCephRgw } from "./services/mod.ts";

const GIT = "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main";

Deno.test("git, tar, rsync and sqlite3 on a daemon's mount of a Ceph RGW repository", async (t) => {
  await assertFuseAvailable();
  await using s3 = await startCephRgw();
  await s3.createBucket("tools");
  const a = await makeDevice("tools-a", s3);
  const b = await makeDevice("tools-b", s3);
  a.env.TCFS_MOUNT_COMMIT_DELAY_MS = "300";
  const mnt = `${a.dir}/mnt`;
  const work = `${a.dir}/work`;
  let daemon: TestDaemon | undefined;
  try {
    await Deno.writeTextFile(`${a.dir}/pass`, "tools test passphrase\n");
    await a.ok(["init", "s3://tools/repo", "--passphrase-file", `${a.dir}/pass`]);
    await b.ok(["init", "s3://tools/repo", "--passphrase-file", `${a.dir}/pass`]);
    // 5,000 small files in 50 directories, with odd modes and mtimes for tar to compare.
    await shOk(
      `set -e; mkdir -p ${mnt} ${work}/src; cd ${work}/src
       for d in $(seq 0 49); do mkdir d$d; done
       for i in $(seq 0 4999); do printf 'file %s\\n' $i > d$((i % 50))/f$i.txt; done
       chmod 600 d1/f1.txt; touch -d @1600000000 d2/f2.txt
       tar -cf ${work}/a.tar .`,
    );
    daemon = await startDaemon(a);
    await a.ok(["mount", mnt]);

    await t.step("git clone into the mount, then status and log", async () => {
      await shOk(
        `set -e; cp -a ${work}/src ${work}/git; cd ${work}/git && ${GIT} init -q && ${GIT} add -A && ${GIT} commit -qm one
         echo more >> d1/f1.txt && ${GIT} commit -qam two`,
      );
      await shOk(`${GIT} clone -q ${work}/git ${mnt}/clone`);
      assertEquals(await shOk(`cd ${mnt}/clone && ${GIT} status --porcelain`), "");
      assertMatch(await shOk(`cd ${mnt}/clone && ${GIT} log --oneline`), /two\n.*one\n$/);
    });

    await t.step("tar -x of 5,000 files, then tar -c back: identical content", async () => {
      await shOk(`mkdir ${mnt}/x && tar -xf ${work}/a.tar -C ${mnt}/x`);
      // tar -d compares content, mode and mtime of every member with the mount.
      await shOk(`tar -df ${work}/a.tar -C ${mnt}/x`);
      await shOk(`tar -cf ${work}/b.tar -C ${mnt}/x . && mkdir ${work}/back`);
      await shOk(`tar -xf ${work}/b.tar -C ${work}/back && diff -r ${work}/src ${work}/back`);
      assertEquals(Number(await shOk(`find ${mnt}/x -type f | wc -l`)), 5000);
    });

    await t.step("rsync -a in and out", async () => {
      await shOk(`rsync -a ${work}/src/ ${mnt}/r/ && rsync -a ${mnt}/r/ ${work}/out/`);
      await shOk(`diff -r ${work}/src ${work}/out`);
      assertEquals(await shOk(`rsync -ai ${work}/src/ ${mnt}/r/`), "", "nothing to copy again");
    });

    await t.step("sqlite3 transactions and integrity_check", async () => {
      const db = `${mnt}/t.db`;
      await shOk(`sqlite3 ${db} "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"`);
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
    });

    await t.step("after unmount, another device reads it all from the bucket", async () => {
      await a.ok(["unmount", mnt]);
      await b.ok(["pull", "/", `${b.dir}/copy`]);
      await shOk(`diff -r ${work}/src ${b.dir}/copy/x && diff -r ${work}/src ${b.dir}/copy/r`);
      assertEquals(
        await shOk(`sqlite3 ${b.dir}/copy/t.db "PRAGMA integrity_check; SELECT count(*) FROM t;"`),
        "ok\n20000\n",
      );
      assertEquals(await shOk(`cd ${b.dir}/copy/clone && ${GIT} status --porcelain`), "");
    });
  } finally {
    await daemon?.stop("SIGKILL");
    if (await isMounted(mnt).catch(() => false)) await sh(`umount -l ${mnt}`);
    await a.remove().catch(() => {});
    await b.remove().catch(() => {});
  }
});
