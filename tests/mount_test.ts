/**
 * `tcfs mount` end to end: the real CLI and daemon, a real FUSE mount, the
 * repository on a real Ceph RGW behind a counting, delaying proxy.
 * Stubs that hydrate on open, partial reads of a 1 GiB stub, a held-back
 * hydration that blocks nothing else, kill -9 of the daemon right after a
 * write, a dead mount recovered, and unmount with files open.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeDevice } from "./fixtures/device.ts";
import { startDaemon, type TestDaemon } from "./fixtures/daemon.ts";
import { isMounted } from "../lib/fuse/mount.ts";
import { FaultProxy } from "../lib/storage/fault_proxy.ts";
import { assertFuseAvailable, startCephRgw } from "./services/mod.ts";
import { sh, shOk } from "../lib/fuse/testing/harness.ts";

const MIB = 1024 * 1024;
const MEMFS_CHILD = new URL("../lib/fuse/testing/mount_memfs.ts", import.meta.url).pathname;

/** Wait until `check` holds (10 s at most). */
async function untilTrue(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run `script` in bash and return how long its command took inside bash (ms). */
async function timedInShell(script: string): Promise<number> {
  const out = await shOk(
    `a=$(date +%s%N); ${script} >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 ))`,
  );
  return Number(out.trim()) / 1000;
}

/** The mount's entries, sorted. */
async function ls(dir: string): Promise<string[]> {
  return (await shOk(`ls -A ${dir}`)).split("\n").filter(Boolean).sort();
}

/** Command lines of processes that mention `text` (hung helpers would show here). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for await (const p of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(p.name) || Number(p.name) === Deno.pid) continue;
    const cmd = await Deno.readTextFile(`/proc/${p.name}/cmdline`).catch(() => "");
    if (cmd.includes(text)) found.push(cmd.replaceAll("\0", " "));
  }
  return found;
}

Deno.test("tcfs mount through the daemon on a real Ceph RGW", async (t) => {
  await assertFuseAvailable();
  await using s3 = await startCephRgw();
  await s3.createBucket("mount");
  await using proxy = await FaultProxy.start(s3.endpoint);
  const url = "s3://mount/repo";
  const a = await makeDevice("mount-a", s3);
  const b = await makeDevice("mount-b", s3);
  a.env.TCFS_S3_ENDPOINT = proxy.endpoint;
  // Every stat and lookup reaches the daemon (no kernel attribute cache to hide a stall);
  // written files wait for an explicit commit, so kill -9 tests the journal alone.
  a.env.TCFS_MOUNT_ATTR_TTL_MS = "0";
  a.env.TCFS_MOUNT_COMMIT_DELAY_MS = "600000";
  a.env.TCFS_SYNC_POLL_SECONDS = "1";
  const src = `${a.dir}/src`;
  const mnt = `${a.dir}/mnt`;
  let daemon: TestDaemon | undefined;
  const holders: Deno.ChildProcess[] = [];
  try {
    await Deno.writeTextFile(`${a.dir}/pass`, "mount test passphrase\n");
    await a.ok(["init", url, "--passphrase-file", `${a.dir}/pass`]);
    await b.ok(["init", url, "--passphrase-file", `${a.dir}/pass`]);
    await shOk(
      `set -e; mkdir -p ${src}/docs ${mnt}; printf 'alpha\\n' > ${src}/docs/a.txt
       head -c ${3 * MIB} /dev/urandom > ${src}/photo.bin
       head -c ${2 * MIB + 17} /dev/urandom > ${src}/other.bin
       head -c ${1024 * MIB} /dev/urandom > ${src}/big.bin`,
    );
    await a.ok(["push", src, "--to", "/"]);
    daemon = await startDaemon(a);
    const mounted = await a.ok<{ dir: string; names: string }>(["mount", mnt]);
    assertEquals(mounted, { dir: mnt, names: "stubs", pending_changes: 0 } as unknown);

    await t.step("ls shows stubs; cat of name.tc or name gives the bytes; unsync", async () => {
      assertEquals(await ls(mnt), ["big.bin.tc", "docs.tcf", "other.bin.tc", "photo.bin.tc"]);
      await shOk(`cmp ${mnt}/photo.bin.tc ${src}/photo.bin`);
      await shOk(`cat ${mnt}/other.bin | cmp - ${src}/other.bin`);
      assertEquals(await shOk(`cat ${mnt}/docs/a.txt`), "alpha\n");
      assertEquals(await ls(mnt), ["big.bin.tc", "docs", "other.bin", "photo.bin"]);
      assertEquals(Number(await shOk(`stat -c %s ${mnt}/photo.bin`)), 3 * MIB);
      const freed = await a.ok<{ files: number; bytes: number }[]>([
        "unsync",
        `${mnt}/photo.bin`,
      ]);
      assertEquals([freed[0].files, freed[0].bytes], [1, 3 * MIB]);
      assertEquals(await ls(mnt), ["big.bin.tc", "docs", "other.bin", "photo.bin.tc"]);
      // And back through `tcfs hydrate` of the stub's name.
      await a.ok(["hydrate", `${mnt}/photo.bin.tc`]);
      assertEquals(await ls(mnt), ["big.bin.tc", "docs", "other.bin", "photo.bin"]);
      const status = await a.ok<{ mounts: string[] }>(["daemon", "status"]);
      assertEquals(status.mounts, [mnt]);
      assertEquals(await a.ok<string[]>(["mount"]), [mnt]);
    });

    await t.step("4 KiB at 900 MiB of a 1 GiB stub fetches at most 2 chunk objects", async () => {
      proxy.resetCounts();
      const at = 900 * MIB;
      // The .tc name is served with direct I/O: the kernel asks for exactly these 4 KiB.
      await shOk(
        `cmp <(dd if=${mnt}/big.bin.tc bs=4096 skip=${at / 4096} count=1 status=none) ` +
          `<(dd if=${src}/big.bin bs=4096 skip=${at / 4096} count=1 status=none)`,
      );
      const chunkGets = proxy.requests.filter((r) =>
        r.method === "GET" && /\/(data|packs)\//.test(r.target)
      );
      assert(
        chunkGets.length >= 1 && chunkGets.length <= 2,
        `chunk GETs: ${chunkGets.map((r) => r.target).join(", ")}`,
      );
    });

    await t.step(
      "a hydration held back 5 s blocks no ls, stat or cat of a local file",
      async () => {
        const held = proxy.delay(
          5000,
          (r) => r.method === "GET" && /\/(data|packs)\//.test(r.target),
        );
        const at = 500 * MIB;
        const reader = new Deno.Command("bash", {
          args: ["-c", `dd if=${mnt}/big.bin.tc bs=${MIB} skip=${at / MIB} count=1 status=none`],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const read = reader.output();
        let done = false;
        read.then(() => done = true);
        await untilTrue("the chunk fetch to be held", () => Promise.resolve(held.hits > 0));
        const times: Record<string, number> = {};
        for (
          const [name, cmd] of [
            ["ls", `ls -l ${mnt}`],
            ["stat", `stat ${mnt}/other.bin`],
            ["cat", `cat ${mnt}/other.bin`],
          ]
        ) {
          // Best of three: a loaded machine may stall one run; a blocked mount stalls all.
          const runs = [];
          for (let i = 0; i < 3; i++) runs.push(await timedInShell(cmd));
          times[name] = Math.min(...runs);
        }
        assert(!done, "the held-back read was still waiting while the others ran");
        for (const [name, ms] of Object.entries(times)) {
          assert(ms < 100, `${name} took ${ms.toFixed(1)} ms during a held hydration`);
        }
        const out = await read;
        held.remove();
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        const expected = await shOk(
          `dd if=${src}/big.bin bs=${MIB} skip=${at / MIB} count=1 status=none | sha256sum`,
        );
        assertEquals(
          await shOk(
            `dd if=${mnt}/big.bin.tc bs=${MIB} skip=${at / MIB} count=1 status=none | sha256sum`,
          ),
          expected,
        );
      },
    );

    await t.step("another device's push appears in the mount without a remount", async () => {
      await shOk(`mkdir -p ${b.dir}/up && printf 'from b' > ${b.dir}/up/from-b.txt`);
      await b.ok(["push", `${b.dir}/up`, "--to", "/docs"]);
      await untilTrue(
        "the remote file",
        async () => (await ls(`${mnt}/docs`)).includes("from-b.txt"),
      );
      assertEquals(await shOk(`cat ${mnt}/docs/from-b.txt`), "from b");
    });

    await t.step("kill -9 right after write + close: the file survives and is pushed", async () => {
      await shOk(`head -c ${5 * MIB + 3} /dev/urandom > ${a.dir}/new.bin`);
      await shOk(`cp ${a.dir}/new.bin ${mnt}/new.bin`);
      await daemon!.stop("SIGKILL");
      daemon = undefined;
      // fusermount3 saw its owner die: auto_unmount removed the mount.
      await untilTrue("auto unmount", async () => !(await isMounted(mnt)));
      await untilTrue("no helper left", async () => (await processesMentioning(mnt)).length === 0);
      assertEquals(await ls(mnt), [], "the empty directory is back, no hung mount");
      const before = await b.run(["ls", "/"]);
      assert(!before.stdout.includes("new.bin"), "nothing was committed before the kill");

      daemon = await startDaemon(a);
      // The restarted daemon commits the journal at start, before anything is mounted.
      await untilTrue(
        "the journaled file to be committed",
        async () => (await b.run(["ls", "/"])).stdout.includes("new.bin"),
        60_000,
      );
      await a.ok(["mount", mnt]);
      await shOk(`cmp ${mnt}/new.bin ${a.dir}/new.bin`);
      await b.ok(["pull", "/new.bin", `${b.dir}/new.bin`]);
      await shOk(`cmp ${b.dir}/new.bin ${a.dir}/new.bin`);
    });

    await t.step("a dead mount at the directory is recovered by tcfs mount", async () => {
      const dead = `${a.dir}/dead`;
      await Deno.mkdir(dead);
      // mount(2) directly: after SIGKILL this one stays behind, ENOTCONN.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MEMFS_CHILD, dead, "syscall"],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const said = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!(await said.read()).value?.includes("mounted"));
      said.releaseLock();
      child.kill("SIGKILL");
      await child.status;
      const stale = await sh(`ls ${dead}`);
      assertMatch(stale.stderr, /not connected/);
      await a.ok(["mount", dead]);
      assertEquals(await ls(dead), ["big.bin.tc", "docs.tcf", "new.bin", "other.bin", "photo.bin"]);
      await a.ok(["unmount", dead]);
      assertEquals(await ls(dead), []);
    });

    await t.step(
      "tcfs unmount with a file open: EBUSY and a clear message, unless --force",
      async () => {
        const holder = new Deno.Command("bash", {
          args: ["-c", `exec 3<${mnt}/other.bin; echo open; exec sleep 60`],
          stdout: "piped",
        }).spawn();
        holders.push(holder);
        const said = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
        while (!(await said.read()).value?.includes("open"));
        said.releaseLock();
        const busy = await a.run(["unmount", mnt]);
        assertEquals(busy.code, 1);
        assertMatch(
          busy.stderr,
          /mnt is busy: [1-9]\d* files open \(close them or use --force\)/,
        );
        assert(await isMounted(mnt), "still mounted after the refusal");
        await a.ok(["unmount", "--force", mnt]);
        assertEquals(await a.ok<string[]>(["mount"]), []);
        holder.kill("SIGKILL");
        await holder.status;
        await untilTrue("the detached mount to go", async () => !(await isMounted(mnt)));
      },
    );

    await t.step("SIGTERM unmounts every mount after committing", async () => {
      await a.ok(["mount", mnt]);
      await shOk(`printf 'last words' > ${mnt}/last.txt`);
      const stopped = await daemon!.stop("SIGTERM");
      daemon = undefined;
      assertEquals(stopped.code, 0, stopped.stderr);
      assert(!(await isMounted(mnt)));
      await b.ok(["pull", "/last.txt", `${b.dir}/last.txt`]);
      assertEquals(await Deno.readTextFile(`${b.dir}/last.txt`), "last words");
    });
  } finally {
    for (const h of holders) {
      try {
        h.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await daemon?.stop("SIGKILL");
    for (const dir of [mnt, `${a.dir}/dead`]) {
      if (await isMounted(dir).catch(() => false)) await sh(`umount -l ${dir}`);
    }
    await a.remove().catch(() => {});
    await b.remove().catch(() => {});
  }
});
