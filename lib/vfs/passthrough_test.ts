import { assert, assertEquals } from "../../tests/assert.ts";
import { randomBytes } from "../../tests/fixtures/tree.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { WholeFiles } from "../cache/mod.ts";
import type { BackingFiles } from "../fuse/ops.ts";
import { shOk, withMount } from "../fuse/testing/harness.ts";
import type { TcfsFileSystem } from "./filesystem.ts";
import { VfsWorld } from "./testing/world.ts";

const BIG = randomBytes(6_000_000, 71);

/** BACKING_OPEN needs CAP_SYS_ADMIN: without root the mount offers no passthrough. */
const notRoot = Deno.uid() !== 0;

/** Counts of what reached the file system: READ requests, backing ids opened and closed. */
interface Seen {
  reads: number;
  registered: number[];
  released: number[];
}

/** Count READs of `fs` and the backing ids it opens and closes once mounted. */
function watch(fs: TcfsFileSystem): Seen {
  const seen: Seen = { reads: 0, registered: [], released: [] };
  const read = fs.read.bind(fs);
  fs.read = (...args) => (seen.reads++, read(...args));
  const init = fs.init.bind(fs);
  fs.init = (info) => {
    const real = info.backing;
    const backing: BackingFiles | undefined = real && {
      open: (path) => (seen.registered.push(real.open(path)), seen.registered.at(-1)!),
      close: (id) => (seen.released.push(id), real.close(id)),
    };
    init({ ...info, backing });
  };
  return seen;
}

async function world(): Promise<[VfsWorld, WholeFiles]> {
  const w = await VfsWorld.create(true);
  await w.commitAsOther({ "/big.bin": BIG, "/other.bin": randomBytes(2_000_000, 72) });
  await Deno.writeFile(`${w.tmp}/expected.bin`, BIG);
  return [w, await WholeFiles.open(w.cache)];
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Run `script` in `dir` with `big.bin` open on fd 3 (read-only) throughout. */
function held(dir: string, script: string): Promise<string> {
  return shOk(`exec 3<big.bin\n${script}`, dir);
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test({
  name: "passthrough: a hydrated file is read by the kernel from its whole file, no READ",
  ignore: notRoot,
}, async () => {
  await assertFuseAvailable();
  const [w, whole] = await world();
  await using _w = w;
  const fs = await w.open({ wholeFiles: whole, names: "real" });
  const seen = watch(fs);
  await withMount(fs, async (mnt) => {
    await fs.hydrate("/big.bin");
    const readsBefore = seen.reads;
    // Two opens at once share one backing id; cat and an unaligned dd range give exact bytes.
    await shOk(
      `exec 3<big.bin; cmp big.bin '${w.tmp}/expected.bin'; cmp - '${w.tmp}/expected.bin' <&3`,
      mnt,
    );
    const skip = 4_000_003;
    const got = await shOk(`dd if=big.bin bs=1 skip=${skip} count=32 status=none | xxd -p`, mnt);
    const want = Array.from(BIG.subarray(skip, skip + 32), (b) => b.toString(16).padStart(2, "0"));
    assertEquals(got.replaceAll("\n", ""), want.join(""));
    assertEquals(seen.reads, readsBefore, "no READ of the hydrated file reached the fs");
    assertEquals(seen.registered.length, 2, "one id for the two overlapping opens, one for dd");
    await waitFor(() => seen.released.length === 2, "the ids' release");
    assertEquals(seen.released, seen.registered);
    assertEquals(
      await Deno.readFile(`${whole.dir}/${(await w.readRepo("/big.bin"))!.version.manifestId}`),
      BIG,
    );
    // A file that is not hydrated is read through the file system as before.
    await shOk("cat other.bin > /dev/null", mnt);
    assert(seen.reads > readsBefore, "other.bin went through READ");
  }, { passthrough: true });
});

Deno.test({
  name: "passthrough: unsync while open is safe; writers wait for the readers, then commit",
  ignore: notRoot,
}, async () => {
  await assertFuseAvailable();
  const [w, whole] = await world();
  await using _w = w;
  const fs = await w.open({ wholeFiles: whole, names: "real", commitDelayMs: 100 });
  const seen = watch(fs);
  await withMount(fs, async (mnt) => {
    await fs.hydrate("/big.bin");
    const manifestId = (await w.readRepo("/big.bin"))!.version.manifestId!;
    // Open through passthrough, read a part, unsync underneath, read the rest (in a child:
    // a thread of this process blocked in the mount must not hold up its own server).
    const t = w.tmp;
    const reader = held(
      mnt,
      `dd bs=1000000 count=1 status=none <&3 > '${t}/head'; touch '${t}/opened'
       while [ ! -e '${t}/go' ]; do sleep 0.05; done; cat <&3 > '${t}/rest'`,
    );
    await waitFor(() => exists(`${t}/opened`), "the reader's open");
    const unsynced = await fs.unsync("/big.bin");
    assertEquals(unsynced.files, 1);
    assert(!whole.has(manifestId), "the whole file went with the chunks");
    await Deno.writeTextFile(`${t}/go`, "");
    await reader;
    assertEquals(await Deno.readFile(`${t}/head`), BIG.subarray(0, 1_000_000));
    assertEquals(await Deno.readFile(`${t}/rest`), BIG.subarray(1_000_000));
    assertEquals(seen.registered.length, 1);

    // Hydrated again: while read through passthrough, opens for writing are refused (EBUSY),
    // truncating ones too, and nothing changes; once closed, a write goes the ordinary way.
    await fs.hydrate("/big.bin");
    await shOk(
      `exec 3<big.bin; ! printf X | dd of=big.bin conv=notrunc status=none 2>/dev/null
       ! (: > big.bin) 2>/dev/null; cmp - '${t}/expected.bin' <&3`,
      mnt,
    );
    await shOk(`cmp big.bin '${t}/expected.bin'`, mnt);
    await shOk("printf WRITTEN | dd of=big.bin bs=1 seek=3000000 conv=notrunc status=none", mnt);
    const want = BIG.slice();
    want.set(new TextEncoder().encode("WRITTEN"), 3_000_000);
    await Deno.writeFile(`${w.tmp}/want.bin`, want);
    await shOk(`cmp big.bin '${w.tmp}/want.bin'`, mnt);
    await fs.commitNow();
    assertEquals((await w.readRepo("/big.bin"))!.bytes, want);
    await waitFor(() => seen.released.length === seen.registered.length, "the ids' release");
    // The committed version is hydrated from the written copy: new opens use passthrough again.
    const reads = seen.reads;
    await waitFor(() => fs.pendingChanges === 0, "the commit");
    await shOk(`cmp big.bin '${w.tmp}/want.bin'`, mnt);
    assertEquals(seen.reads, reads, "the committed file is read through passthrough");
  }, { passthrough: true });
});

Deno.test("passthrough off: the same mount serves hydrated files through READ", async () => {
  await assertFuseAvailable();
  const [w, whole] = await world();
  await using _w = w;
  const fs = await w.open({ wholeFiles: whole, names: "real" });
  const seen = watch(fs);
  await withMount(fs, async (mnt, server) => {
    assertEquals(server.backing, undefined);
    await fs.hydrate("/big.bin");
    const reads = seen.reads;
    await shOk(`cmp big.bin '${w.tmp}/expected.bin'`, mnt);
    assert(seen.reads > reads, "reads went through the file system");
    assertEquals(seen.registered, []);
  });
});
