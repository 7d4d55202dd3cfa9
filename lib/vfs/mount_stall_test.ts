import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { sh, shOk, withMount } from "../fuse/testing/harness.ts";
import type { KeyMatch } from "./testing/gated_store.ts";
import { VfsWorld } from "./testing/world.ts";

async function until(what: string, check: () => boolean, ms = 20_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Matches the objects holding the chunks of `path` (chunk objects or their packs). */
async function objectsOf(w: VfsWorld, path: string): Promise<{ match: KeyMatch; ids: string[] }> {
  const m = await w.repo.manifestOf((await w.repo.refresh()).get(path)!);
  const names = m.chunks.map((c) => c.pack?.id ?? c.id);
  return { match: (key) => names.some((n) => key.endsWith(n)), ids: m.chunks.map((c) => c.id) };
}

Deno.test("mount: a stalled download holds only its reader; a failed one is EIO naming the chunk", async () => {
  await assertFuseAvailable();
  await using w = await VfsWorld.create();
  const files = { a: randomBytes(3_000_000, 1), b: randomBytes(3_000_000, 2) };
  await w.commitAsOther({ "/a.bin": files.a });
  await w.commitAsOther({ "/b.bin": files.b });
  await w.commitAsOther({ "/c.bin": randomBytes(3_000_000, 3) });
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.writeFile(`${w.tmp}/${name}`, bytes);
  }
  const b = await objectsOf(w, "/b.bin");
  const c = await objectsOf(w, "/c.bin");
  const fs = await w.open();
  await withMount(fs, async (mnt) => {
    await shOk(`cat ${mnt}/a.bin > /dev/null`);
    w.gate.hold(b.match);
    const stalled = sh(`cmp ${mnt}/b.bin.tc ${w.tmp}/b`);
    await until("the held download", () => w.gate.waiting > 0);
    // While b's download cannot finish, the rest of the mount answers.
    assertEquals(await shOk(`ls ${mnt}`), "a.bin\nb.bin.tc\nc.bin.tc\n");
    await shOk(`stat ${mnt}/a.bin ${mnt}/c.bin.tc > /dev/null`);
    await shOk(`cmp ${mnt}/a.bin ${w.tmp}/a`);
    assert(w.gate.waiting > 0, "b's download was still held while the others answered");
    w.gate.release();
    assertEquals((await stalled).code, 0);

    w.gate.fail(c.match);
    const failed = await sh(`cat ${mnt}/c.bin > /dev/null`);
    assert(failed.code !== 0);
    assertMatch(failed.stderr, /Input\/output error/);
    assert(
      w.logLines.some((l) => l.includes("read failed") && c.ids.some((id) => l.includes(id))),
      "the log names the chunk that failed",
    );
    w.gate.fail(null);
    assertEquals(await shOk(`cat ${mnt}/b.bin | wc -c`), "3000000\n");
  });
});
