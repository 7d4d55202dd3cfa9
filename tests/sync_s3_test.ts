/**
 * Sync acceptance through the real CLI, two devices (own config, identity,
 * state and root) against one repository on a real Ceph RGW.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeDevice, type TestDevice } from "./fixtures/device.ts";
import { randomBytes } from "./fixtures/tree.ts";
import { snapshotTree } from "./fixtures/sync_devices.ts";
import { startCephRgw } from "./services/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function syncDevice(name: string, s3: Parameters<typeof makeDevice>[1]) {
  const d = await makeDevice(name, s3);
  d.env.TCFS_SYNC_ROOTS = `${d.dir}/root=/shared`;
  await Deno.mkdir(`${d.dir}/root`);
  return d;
}

Deno.test("two devices syncing through a real Ceph RGW", async (t) => {
  await using s3 = await startCephRgw();
  await s3.createBucket("sync");
  const url = "s3://sync/repo";
  const a = await syncDevice("a", s3);
  const b = await syncDevice("b", s3);
  const root = (d: TestDevice) => `${d.dir}/root`;
  try {
    await Deno.writeTextFile(`${a.dir}/pass`, "sync test passphrase\n");
    await a.ok(["init", url, "--passphrase-file", `${a.dir}/pass`]);
    await b.ok(["init", url, "--passphrase-file", `${a.dir}/pass`]);

    await t.step(
      "edit/edit: both versions on both devices, listed, resolved everywhere",
      async () => {
        await Deno.writeTextFile(`${root(a)}/report.txt`, "base\n");
        await a.ok(["sync"]);
        await b.ok(["sync"]);
        await Deno.writeTextFile(`${root(a)}/report.txt`, "A's words\n");
        await Deno.writeTextFile(`${root(b)}/report.txt`, "B's words!\n");
        await a.ok(["sync"]);
        const sb = await b.ok<{ conflicts: number }>(["sync"]);
        assertEquals(sb.conflicts, 1);
        await a.ok(["sync"]);
        const ta = await snapshotTree(root(a));
        assertEquals(ta, await snapshotTree(root(b)));
        assertEquals(Object.values(ta).sort(), ["A's words\n", "B's words!\n"]);
        const listed = await a.ok<{ path: string }[]>(["conflicts"]);
        assertEquals(listed.map((c) => c.path), ["report.txt"]);
        const status = await a.run(["status"]);
        assertMatch(status.stdout, /conflict\s+report\.txt/);
        await b.ok(["resolve", `${root(b)}/report.txt`, "--keep", "remote"]);
        await a.ok(["sync"]);
        await b.ok(["sync"]);
        const final = await snapshotTree(root(a));
        assertEquals(final, await snapshotTree(root(b)));
        assertEquals(Object.keys(final), ["report.txt"]);
        assertEquals((await a.ok<unknown[]>(["conflicts"])).length, 0);
      },
    );

    await t.step(
      "unsync, then kill -9 during hydrate: the stub or the whole file, never a part",
      async () => {
        const big = randomBytes(48 * 1024 * 1024, 99);
        await Deno.writeFile(`${root(a)}/big.bin`, big);
        await a.ok(["sync"]);
        const freed = await a.ok<{ files: number }[]>(["unsync", `${root(a)}/big.bin`]);
        assertEquals(freed[0].files, 1);
        const names = () => [...Deno.readDirSync(root(a))].map((e) => e.name).sort();
        assert(names().includes("big.bin.tc") && !names().includes("big.bin"), String(names()));
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--unstable-kv", MAIN, "hydrate", `${root(a)}/big.bin.tc`],
          env: a.env,
          stdout: "null",
          stderr: "null",
        }).spawn();
        // Kill as soon as the download has started writing its temp file.
        for (let i = 0; i < 600 && !names().some((n) => n.startsWith(".tcfs-tmp-")); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        child.kill("SIGKILL");
        await child.status;
        const after = names();
        if (after.includes("big.bin")) {
          assertEquals(await Deno.readFile(`${root(a)}/big.bin`), big);
          assert(!after.includes("big.bin.tc"));
        } else {
          assert(after.includes("big.bin.tc"), `neither stub nor file: ${after}`);
        }
        // The next sync cleans nothing up wrongly, and hydrate completes.
        await a.ok(["sync"]);
        if (!names().includes("big.bin")) await a.ok(["hydrate", `${root(a)}/big.bin.tc`]);
        assertEquals(await Deno.readFile(`${root(a)}/big.bin`), big);
        await Deno.writeTextFile(`${root(a)}/big.bin`, "local change");
        const refused = await a.run(["unsync", `${root(a)}/big.bin`]);
        assertEquals(refused.code, 1);
        assertMatch(refused.stderr, /not synced yet/);
      },
    );

    await t.step("a mass deletion stops with a clear message; --force goes ahead", async () => {
      for (let i = 0; i < 30; i++) await Deno.writeTextFile(`${root(b)}/n${i}.txt`, `${i}`);
      await b.ok(["sync"]);
      for (let i = 0; i < 30; i++) await Deno.remove(`${root(b)}/n${i}.txt`);
      const stopped = await b.run(["sync"]);
      assertEquals(stopped.code, 1);
      assertMatch(stopped.stderr, /would delete 30 of .* --force/);
      await b.ok(["sync", "--force"]);
      const trash = await b.ok<{ path: string }[]>(["trash", "ls"]);
      assert(trash.some((t) => t.path === "/shared/n7.txt"));
      await b.ok(["restore", "/shared/n7.txt"]);
      await b.ok(["sync"]);
      assertEquals(await Deno.readTextFile(`${root(b)}/n7.txt`), "7");
    });

    await t.step(
      "sync --watch picks up a local change by itself and stops cleanly on SIGTERM",
      async () => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--unstable-kv", MAIN, "sync", "--watch"],
          env: { ...a.env, TCFS_SYNC_POLL_SECONDS: "1" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        try {
          await new Promise((r) => setTimeout(r, 1500));
          await Deno.writeTextFile(`${root(a)}/watched.txt`, "seen by the watcher\n");
          let arrived = false;
          for (let i = 0; i < 40 && !arrived; i++) {
            await new Promise((r) => setTimeout(r, 500));
            const listed = await b.run(["--json", "ls", "/shared"]);
            arrived = listed.code === 0 && listed.stdout.includes("watched.txt");
          }
          assert(arrived, "the watcher did not push the new file within 20 s");
        } finally {
          child.kill("SIGTERM");
        }
        const status = await child.status;
        const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
        assertEquals(status.code, 0, stderr);
      },
    );
  } finally {
    await a.remove();
    await b.remove();
  }
});
