/**
 * Conflicts that never lose data: fixed scenarios for cases the property
 * test found, and for writers that never saw each other's records (a device
 * working against a stale copy of the repository, then replicated back, as
 * after a network partition).
 */

import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import {
  makeSyncDevices,
  snapshotTree,
  type SyncDevice,
} from "../../tests/fixtures/sync_devices.ts";
import { TcfsError } from "../errors.ts";
import { Logger } from "../log/mod.ts";
import { inlineBytes, Repository } from "../repo/mod.ts";
import { FileStore } from "../storage/mod.ts";
import { listTrash, resolveConflict, syncRoot } from "./mod.ts";

interface World {
  devices: SyncDevice[];
  /** Directory of the repository (file backend). */
  repoDir: string;
  identity: string;
  dir: string;
}

async function withWorld(n: number, fn: (w: World) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-conflict-test-" });
  const repoDir = `${dir}/repo`;
  const store = await FileStore.open(new URL(`file://${repoDir}`));
  const { identity } = await createTestRepo(store);
  const devices = await makeSyncDevices(dir, store, [identity], n);
  try {
    await fn({ devices, repoDir, identity, dir });
  } finally {
    for (const d of devices) d.state.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const write = (d: SyncDevice, rel: string, text: string) => Deno.writeTextFile(d.path(rel), text);

async function settle(devices: SyncDevice[]): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (const d of devices) assertEquals((await d.sync()).errors, []);
  }
}

/**
 * `a` and `b` agree on f.txt, then each writes its own text to it; `a`
 * syncs first, and `b`'s sync (returned) meets `a`'s edit.
 */
async function concurrentEdits(a: SyncDevice, b: SyncDevice, textA: string, textB: string) {
  await write(a, "f.txt", "base\n");
  await settle([a, b]);
  await write(a, "f.txt", textA);
  await write(b, "f.txt", textB);
  await a.sync();
  return await b.sync();
}

/** The contents every device holds (after settling all are equal; checked). */
async function settledContents(devices: SyncDevice[]): Promise<Record<string, string>> {
  await settle(devices);
  const trees = await Promise.all(devices.map((d) => snapshotTree(d.root.local)));
  for (const t of trees.slice(1)) assertEquals(t, trees[0]);
  return trees[0];
}

async function trashContents(d: SyncDevice): Promise<string[]> {
  const ctx = await d.stubs();
  const out: string[] = [];
  for (const item of listTrash(ctx.ns, "/shared", 30)) {
    const tomb = ctx.ns.heads(item.path).find((h) => h.deleted && h.manifest)!;
    out.push(new TextDecoder().decode(inlineBytes(await ctx.repo.manifestOf(tomb))));
  }
  return out.sort();
}

/**
 * Run `fn` on device `d` against a copy of the repository taken now, then
 * replicate what it wrote back: its records are concurrent with everything
 * the others commit meanwhile.
 */
async function offline(w: World, d: SyncDevice, fn: (sync: () => Promise<void>) => Promise<void>) {
  const copyDir = `${w.dir}/offline-copy`;
  await Deno.remove(copyDir, { recursive: true }).catch(() => {});
  const cp = (args: string[]) => new Deno.Command("cp", { args }).output();
  assert((await cp(["-r", w.repoDir, copyDir])).success);
  const store = await FileStore.open(new URL(`file://${copyDir}`));
  const repo = await Repository.open(store, { identities: [w.identity] });
  const sync = async () => {
    const s = await syncRoot(repo, {
      root: d.root,
      device: d.id,
      state: d.state,
      concurrency: 2,
      stubs: false,
      ignore: [],
      maxDeletePercent: 50,
      force: false,
      log: new Logger({ level: "error", sink: () => {} }),
    });
    assertEquals(s.errors, []);
  };
  try {
    await fn(sync);
  } finally {
    await store.close();
  }
  return async () => assert((await cp(["-rn", `${copyDir}/.`, w.repoDir])).success);
}

Deno.test("editing the main file of an open conflict keeps the copy as a file", async () => {
  await withWorld(2, async ({ devices: [a, b] }) => {
    assertEquals((await concurrentEdits(a, b, "A1\n", "B1\n")).conflicts, 1);
    await a.sync();
    // A has not resolved; it edits the main file, superseding what it showed there.
    const shown = await Deno.readTextFile(a.path("f.txt"));
    await write(a, "f.txt", "A2\n");
    const t = await settledContents([a, b]);
    assertEquals(Object.values(t).sort(), ["A1\n", "A2\n", "B1\n"].filter((x) => x !== shown));
    assertEquals(t["f.txt"], "A2\n");
    for (const d of [a, b]) assertEquals((await d.state.listConflicts()).length, 1);
    // Settling it deletes the copy through a tombstone: its content is in the trash.
    await resolveConflict(await b.stubs(), b.id, "f.txt", "local");
    const after = await settledContents([a, b]);
    assertEquals(Object.keys(after), ["f.txt"]);
    assertEquals(await trashContents(a), ["A1\n", "B1\n"].filter((x) => x !== shown));
    for (const d of [a, b]) assertEquals(await d.state.listConflicts(), []);
  });
});

Deno.test("a rename onto a name another device created keeps both files", async () => {
  await withWorld(2, async ({ devices: [a, b] }) => {
    await write(b, "a.txt", "B's a\n");
    await write(a, "b.txt", "A's b\n");
    await b.sync();
    await a.sync();
    // B has not seen A's b.txt: to B this is a rename onto a free name.
    await Deno.rename(b.path("a.txt"), b.path("b.txt"));
    const t = await settledContents([a, b]);
    assertEquals(Object.values(t).sort(), ["A's b\n", "B's a\n"]);
    assertEquals(t["b.txt"], "B's a\n");
  });
});

Deno.test("writers that never saw each other are split into copies by the next sync", async () => {
  await withWorld(3, async (w) => {
    const [a, b, c] = w.devices;
    await write(a, "f.txt", "base\n");
    await settle([a, b, c]);
    const replicate = await offline(w, b, async (sync) => {
      await write(b, "f.txt", "B offline\n");
      await sync();
    });
    await write(a, "f.txt", "A online\n");
    await a.sync();
    await replicate();
    // C is the first to see both versions; it keeps the newer at the path and commits a copy.
    const sc = await c.sync();
    assertEquals(sc.conflicts, 1);
    const t = await settledContents([c, a, b]);
    assertEquals(Object.values(t).sort(), ["A online\n", "B offline\n"]);
    assertEquals(Object.keys(t).length, 2);
    const lists = await Promise.all(
      [a, b, c].map(async (d) => (await d.state.listConflicts()).map((x) => x.copies[0].path)),
    );
    assertEquals(lists[1], lists[0]);
    assertEquals(lists[2], lists[0]);
    assertEquals(t[lists[0][0]] !== undefined, true);
    await resolveConflict(await a.stubs(), a.id, "f.txt", "both");
    const after = await settledContents([a, b, c]);
    assertEquals(after, t);
    for (const d of [a, b, c]) assertEquals(await d.state.listConflicts(), []);
  });
});

Deno.test("a delete and a concurrent edit by writers that never met: the edit survives", async () => {
  await withWorld(2, async (w) => {
    const [a, b] = w.devices;
    await write(a, "f.txt", "base\n");
    await settle([a, b]);
    const replicate = await offline(w, b, async (sync) => {
      await write(b, "f.txt", "edited offline\n");
      await sync();
    });
    await Deno.remove(a.path("f.txt"));
    await a.sync();
    await replicate();
    const t = await settledContents([a, b]);
    assertEquals(t, { "f.txt": "edited offline\n" });
  });
});

Deno.test("resolve: remote takes the copy's content; unsynced copies are never deleted", async () => {
  await withWorld(2, async ({ devices: [a, b] }) => {
    await concurrentEdits(a, b, "from A\n", "from B\n");
    await settle([a, b]);
    const [conflict] = await b.state.listConflicts();
    assertEquals(await Deno.readTextFile(b.path("f.txt")), "from B\n");
    // A change to the copy not yet synced would be lost by deleting it: refused.
    await write(b, conflict.copies[0].path, "edited copy\n");
    await assertRejects(
      async () => resolveConflict(await b.stubs(), b.id, "f.txt", "remote"),
      TcfsError,
      "run 'tcfs sync' first",
    );
    await write(b, conflict.copies[0].path, "from A\n");
    await b.sync();
    await resolveConflict(await b.stubs(), b.id, "f.txt", "remote");
    const t = await settledContents([a, b]);
    assertEquals(t, { "f.txt": "from A\n" });
    assertEquals(await trashContents(a), ["from A\n"]);
  });
});

Deno.test("a conflict whose main file was deleted stays listed; resolve keeps the deletion", async () => {
  await withWorld(2, async ({ devices: [a, b] }) => {
    await write(b, "f.txt", "B's\n");
    await b.sync();
    await write(a, "f.txt", "A's\n");
    await a.sync(); // A's new file meets B's: A's stays, B's becomes a copy
    await Deno.remove(a.path("f.txt"));
    const t = await settledContents([a, b]);
    assertEquals(Object.values(t), ["B's\n"]);
    for (const d of [a, b]) assertEquals((await d.state.listConflicts()).length, 1);
    await resolveConflict(await a.stubs(), a.id, "f.txt", "local");
    assertEquals(await settledContents([a, b]), {});
    assertEquals(await trashContents(b), ["A's\n", "B's\n"]);
    for (const d of [a, b]) assertEquals(await d.state.listConflicts(), []);
  });
});
