import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import {
  makeSyncDevices,
  snapshotTree,
  type SyncDevice,
} from "../../tests/fixtures/sync_devices.ts";
import { TcfsError } from "../errors.ts";
import { FileStore, type ObjectStore, openStore } from "../storage/mod.ts";
import { startCephRgw } from "../../tests/services/mod.ts";
import { hydrate, listTrash, resolveConflict, restoreFromTrash, unsync } from "./mod.ts";

type Scenario = (devices: SyncDevice[], dir: string) => Promise<void>;
const SCENARIOS: { name: string; devices: number; fn: Scenario }[] = [];

/** Register a scenario; each runs on the file backend and on a real Ceph RGW (below). */
function scenario(name: string, devices: number, fn: Scenario): void {
  SCENARIOS.push({ name, devices, fn });
}

async function withDevices(store: ObjectStore, n: number, fn: Scenario) {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-sync-test-" });
  const { identity } = await createTestRepo(store);
  const devices = await makeSyncDevices(dir, store, [identity], n);
  try {
    await fn(devices, dir);
  } finally {
    for (const d of devices) d.state.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const write = (d: SyncDevice, rel: string, text: string) =>
  Deno.mkdir(d.path(rel).slice(0, d.path(rel).lastIndexOf("/")), { recursive: true })
    .then(() => Deno.writeTextFile(d.path(rel), text));
const read = (d: SyncDevice, rel: string) => Deno.readTextFile(d.path(rel));

/** Sync every device twice over, so each has seen everything. */
async function settle(devices: SyncDevice[]) {
  for (let round = 0; round < 2; round++) for (const d of devices) await d.sync();
}

scenario(
  "files, dirs and symlinks created on one device arrive on the other",
  2,
  async ([a, b]) => {
    await write(a, "docs/hello.txt", "hello\n");
    await Deno.mkdir(a.path("empty"));
    await Deno.symlink("docs/hello.txt", a.path("link"));
    const up = await a.sync();
    assertEquals(up.uploaded, 4);
    const down = await b.sync();
    assert(down.downloaded >= 2, JSON.stringify(down));
    assertEquals(await snapshotTree(b.root.local), await snapshotTree(a.root.local));
    const again = await a.sync();
    assertEquals([again.uploaded, again.downloaded], [0, 0]);
  },
);

scenario("edit/edit keeps both versions on both devices; resolve converges", 2, async ([a, b]) => {
  await write(a, "f.txt", "base\n");
  await settle([a, b]);
  await write(a, "f.txt", "edit on A\n");
  await write(b, "f.txt", "edit on B!\n");
  await a.sync();
  const sb = await b.sync();
  assertEquals(sb.conflicts, 1);
  await settle([a, b]);
  const ta = await snapshotTree(a.root.local);
  const tb = await snapshotTree(b.root.local);
  assertEquals(ta, tb);
  const contents = Object.values(ta).sort();
  assertEquals(contents, ["edit on A\n", "edit on B!\n"]);
  assertEquals((await a.state.listConflicts()).length, 1);
  await resolveConflict(await a.stubs(), a.id, "f.txt", "local");
  await settle([a, b]);
  assertEquals(await snapshotTree(b.root.local), await snapshotTree(a.root.local));
  assertEquals(Object.keys(await snapshotTree(b.root.local)), ["f.txt"]);
  assertEquals((await b.state.listConflicts()).length, 0);
});

scenario(
  "edit beats a concurrent delete; delete/delete is restorable from the trash",
  2,
  async ([a, b]) => {
    await write(a, "kept.txt", "v1\n");
    await write(a, "gone.txt", "bye\n");
    await settle([a, b]);
    await write(a, "kept.txt", "v2 edited\n");
    await Deno.remove(b.path("kept.txt"));
    await Deno.remove(a.path("gone.txt"));
    await Deno.remove(b.path("gone.txt"));
    await settle([a, b]);
    assertEquals(await read(a, "kept.txt"), "v2 edited\n");
    assertEquals(await read(b, "kept.txt"), "v2 edited\n");
    for (const d of [a, b]) assert(!(await snapshotTree(d.root.local))["gone.txt"]);
    const ctx = await a.stubs();
    assertEquals(listTrash(ctx.ns, "/shared", 30).map((t) => t.path), ["/shared/gone.txt"]);
    await restoreFromTrash(a.repo, ctx.ns, a.id, "/shared/gone.txt", 30);
    await settle([a, b]);
    assertEquals(await read(b, "gone.txt"), "bye\n");
  },
);

scenario("rename on one device and edit on the other lose no content", 2, async ([a, b]) => {
  await write(a, "old.txt", "original\n");
  await settle([a, b]);
  await Deno.rename(a.path("old.txt"), a.path("new.txt"));
  const ra = await a.sync();
  assertEquals(ra.renamed, 1);
  await write(b, "old.txt", "edited on B\n");
  await settle([a, b]);
  const t = await snapshotTree(a.root.local);
  assertEquals(t, await snapshotTree(b.root.local));
  assertEquals(t["new.txt"], "original\n");
  assertEquals(t["old.txt"], "edited on B\n");
});

scenario(
  "unsync then hydrate gives identical bytes; unsync refuses unsynced changes",
  1,
  async ([a]) => {
    const bytes = crypto.getRandomValues(new Uint8Array(65536));
    await Deno.writeFile(a.path("data.bin"), bytes);
    await a.sync();
    await unsync(await a.stubs(), "data.bin");
    assert(!(await snapshotTree(a.root.local))["data.bin"]);
    assert(
      (await Deno.readTextFile(a.path("data.bin.tc"))).startsWith(
        "version https://tummycrypt.io/tcfs/v1\n",
      ),
    );
    const quiet = await a.sync();
    assertEquals([quiet.uploaded, quiet.deletedRemote], [0, 0]);
    await hydrate(await a.stubs(), "data.bin.tc");
    assertEquals(await Deno.readFile(a.path("data.bin")), bytes);
    await Deno.writeTextFile(a.path("data.bin"), "changed, not synced");
    await assertRejects(
      async () => unsync(await a.stubs(), "data.bin"),
      TcfsError,
      "not synced yet",
    );
  },
);

scenario(
  "new remote files arrive as stubs with --stubs, directories as .tcf",
  2,
  async ([a, b]) => {
    await write(a, "top.txt", "top\n");
    await write(a, "dir/inner.txt", "inner\n");
    await settle([a]);
    const s = await b.sync({ stubs: true });
    assert(s.stubs >= 2, JSON.stringify(s));
    const names = Object.keys(await snapshotTree(b.root.local));
    assertEquals(names, ["dir.tcf", "top.txt.tc"]);
    await hydrate(await b.stubs(), "dir.tcf");
    await hydrate(await b.stubs(), "dir");
    assertEquals(await read(b, "dir/inner.txt"), "inner\n");
    const again = await b.sync({ stubs: true });
    assertEquals([again.uploaded, again.deletedRemote, again.errors.length], [0, 0, 0]);
  },
);

scenario(
  "a mass deletion stops unless forced; ignore rules are honoured and counted",
  2,
  async ([a, b]) => {
    for (let i = 0; i < 20; i++) await write(a, `f${i}.txt`, `${i}\n`);
    await write(a, ".tcfsignore", "*.log\nbuild/\n");
    await write(a, "debug.log", "noise\n");
    await write(a, "build/out.o", "obj\n");
    const first = await a.sync();
    assertEquals(first.ignored, 2);
    await b.sync();
    assert(!(await snapshotTree(b.root.local))["debug.log"]);
    for (let i = 0; i < 20; i++) await Deno.remove(a.path(`f${i}.txt`));
    await assertRejects(() => a.sync(), TcfsError, "--force");
    await b.sync();
    assertEquals((await snapshotTree(b.root.local))["f3.txt"], "3\n");
    await a.sync({ force: true });
    await b.sync({ force: true });
    assert(!(await snapshotTree(b.root.local))["f3.txt"]);
  },
);

scenario(
  "a git repository in the middle of an operation is left alone and reported",
  2,
  async ([a, b]) => {
    const repo = a.path("project");
    await Deno.mkdir(repo);
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", repo, ...args], stdout: "null", stderr: "null" })
        .output();
    await git("init", "-q");
    await Deno.writeTextFile(`${repo}/code.txt`, "v1\n");
    await Deno.writeTextFile(`${repo}/.git/index.lock`, "");
    const busy = await a.sync();
    assertEquals(busy.deferred.map((d) => d.path), ["project"]);
    await b.sync();
    assert(!(await snapshotTree(b.root.local))["project/code.txt"]);
    await Deno.remove(`${repo}/.git/index.lock`);
    const free = await a.sync();
    assertEquals(free.deferred, []);
    await b.sync();
    assertEquals(await read(b, "project/code.txt"), "v1\n");
  },
);

for (const { name, devices, fn } of SCENARIOS) {
  Deno.test(`${name} (file backend)`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "tcfs-sync-repo-" });
    const store = await FileStore.open(new URL(`file://${dir}`));
    try {
      await withDevices(store, devices, fn);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("every sync scenario against a real Ceph RGW", async (t) => {
  await using s3 = await startCephRgw();
  await s3.createBucket("sync");
  let i = 0;
  for (const { name, devices, fn } of SCENARIOS) {
    await t.step(name, async () => {
      const store = await openStore(`s3://sync/scenario-${i++}`, {
        endpoint: s3.endpoint,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      });
      try {
        await withDevices(store, devices, fn);
      } finally {
        await store.close();
      }
    });
  }
});
