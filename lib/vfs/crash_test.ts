import { assert, assertEquals } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { isMounted, unmountPath } from "../fuse/mount.ts";
import { shOk } from "../fuse/testing/harness.ts";
import { VfsWorld } from "./testing/world.ts";

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("mount: kill -9 right after write+close loses nothing; the next start commits it", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  await w.commitAsOther({ "/keep.txt": "keep\n" });
  const mnt = `${w.tmp}/mnt`;
  await Deno.mkdir(mnt);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-kv",
      "--unstable-net",
      new URL("./testing/mount_child.ts", import.meta.url).pathname,
      w.tmp,
      mnt,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("mounted")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the mounting child exited early");
      said += value;
    }
    reader.releaseLock();
    await shOk(
      `set -e; cd ${mnt}; head -c 3000000 /dev/urandom > ${w.tmp}/data
       cp ${w.tmp}/data new.bin; mkdir sub; printf 'small' > sub/s.txt; mv keep.txt kept.txt`,
    );
    child.kill("SIGKILL");
    await child.status;
    // fusermount3's auto_unmount removes the mount once its owner is gone.
    await waitFor("auto unmount", async () => !(await isMounted(mnt)));
  } finally {
    child.stdout.cancel().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    if (await isMounted(mnt).catch(() => false)) await unmountPath(mnt, { lazy: true });
  }
  assertEquals(await w.readRepo("/new.bin"), null, "nothing was committed before the kill");
  const fs = await w.open();
  assert(await fs.recover() >= 4);
  assertEquals((await w.readRepo("/new.bin"))?.bytes, await Deno.readFile(`${w.tmp}/data`));
  assertEquals(new TextDecoder().decode((await w.readRepo("/sub/s.txt"))!.bytes!), "small");
  assertEquals(new TextDecoder().decode((await w.readRepo("/kept.txt"))!.bytes!), "keep\n");
  assertEquals(await w.readRepo("/keep.txt"), null);
});
