/**
 * Property: whatever random creates, edits, deletes, renames, resolves and
 * syncs two or three devices do, some of them offline for a while (syncing
 * with a frozen copy of the repository, so their commits are concurrent with
 * everyone else's), syncing every device until nothing changes
 * any more leaves every device with the same tree and the same open
 * conflicts, no sync ever fails, and no content is lost: every content that
 * a device wrote and that no device replaced or deleted while holding it is
 * present in the tree or restorable from the trash.
 *
 * The seed is random on every run; a failure prints it (and the shrink path)
 * for replay with TCFS_PROPERTY_SEED and TCFS_PROPERTY_PATH. TCFS_PROPERTY_RUNS
 * sets the number of histories (default 100; see docs/testing.md).
 */

import fc from "fast-check";
import { assert, assertEquals } from "../../tests/assert.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import {
  makeSyncDevices,
  snapshotTree,
  type SyncDevice,
} from "../../tests/fixtures/sync_devices.ts";
import { TcfsError } from "../errors.ts";
import { FileStore } from "../storage/mod.ts";
import { inlineBytes, Repository } from "../repo/mod.ts";
import { Logger } from "../log/mod.ts";
import { type Keep, listTrash, resolveConflict, syncRoot, type SyncSummary } from "./mod.ts";

const NAMES = ["a.txt", "b.txt", "d/c.txt", "d/e.txt"];
/** Targets past NAMES pick among the files a device has (conflict copies included). */
const TARGETS = NAMES.length + 3;
const KEEP: Keep[] = ["local", "remote", "both"];
/** Rounds of syncing every device after which the devices must be quiet. */
const MAX_SETTLE_ROUNDS = 6;

type Op =
  | { kind: "write"; dev: number; target: number }
  | { kind: "delete"; dev: number; target: number }
  | { kind: "rename"; dev: number; target: number; to: number }
  | { kind: "resolve"; dev: number; keep: number }
  | { kind: "offline"; dev: number }
  | { kind: "online"; dev: number }
  | { kind: "sync"; dev: number };

const op = (devices: number): fc.Arbitrary<Op> => {
  const dev = fc.integer({ min: 0, max: devices - 1 });
  const target = fc.integer({ min: 0, max: TARGETS - 1 });
  const to = fc.integer({ min: 0, max: NAMES.length - 1 });
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant("write" as const), dev, target }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant("delete" as const), dev, target }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant("rename" as const), dev, target, to }), weight: 2 },
    {
      arbitrary: fc.record({
        kind: fc.constant("resolve" as const),
        dev,
        keep: fc.integer({ min: 0, max: 2 }),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant("offline" as const), dev }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant("online" as const), dev }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant("sync" as const), dev }), weight: 4 },
  );
};

const scenario = fc.integer({ min: 2, max: 3 }).chain((n) =>
  fc.tuple(
    fc.constant(n),
    fc.array(op(n), { minLength: 4, maxLength: 30 }),
    fc.integer({ min: 0, max: n - 1 }),
    fc.integer({ min: 0, max: KEEP.length - 1 }),
  )
);

/** Sync options of a device while it is offline (as the fixture's devices use). */
const OFFLINE_SYNC = {
  concurrency: 4,
  stubs: false,
  ignore: [],
  maxDeletePercent: 50,
  force: false,
  log: new Logger({ level: "error", sink: () => {} }),
};

/**
 * Copy the file store directory `from` into `to`: everything (`fresh`), or
 * only the objects `to` lacks (replicating what an offline device wrote; objects
 * are immutable, so nothing else can differ).
 */
async function copyTree(from: string, to: string, fresh: boolean): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.name.startsWith("%tmp")) continue;
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`, fresh);
    else if (fresh || !(await Deno.stat(`${to}/${e.name}`).catch(() => null))) {
      await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  }
}

const changed = (s: SyncSummary) =>
  s.uploaded + s.downloaded + s.stubs + s.deletedLocal + s.deletedRemote + s.renamed > 0;

/** Files (not directories) in a tree snapshot, sorted. */
const filesOf = (tree: Record<string, string>) =>
  Object.keys(tree).filter((k) => tree[k] !== "<dir>").sort();

async function runHistory(
  n: number,
  ops: Op[],
  finalDev: number,
  finalKeep: number,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-sync-prop-" });
  const store = await FileStore.open(new URL(`file://${dir}/repo`));
  const { identity } = await createTestRepo(store);
  const devices = await makeSyncDevices(dir, store, [identity], n);
  // Devices cut off from the others: they sync with a frozen copy of the repository.
  const offline = new Map<SyncDevice, Repository>();
  try {
    // Contents written and not since replaced or deleted by a device that held them.
    const live = new Set<string>();
    const read = (d: SyncDevice, rel: string) => Deno.readTextFile(d.path(rel)).catch(() => null);
    const sync = async (d: SyncDevice) => {
      const repo = offline.get(d);
      const s = repo
        ? await syncRoot(repo, { ...OFFLINE_SYNC, root: d.root, device: d.id, state: d.state })
        : await d.sync();
      assertEquals(s.errors, [], `sync of ${d.id} failed`);
      return s;
    };
    const copyOf = (d: SyncDevice) => `${dir}/offline-${d.id}`;
    const goOnline = async (d: SyncDevice) => {
      const repo = offline.get(d);
      if (!repo) return;
      offline.delete(d);
      await copyTree(copyOf(d), `${dir}/repo`, false);
      await repo.store.close();
      await Deno.remove(copyOf(d), { recursive: true });
    };
    const targetOf = async (d: SyncDevice, target: number) =>
      target < NAMES.length
        ? NAMES[target]
        : filesOf(await snapshotTree(d.root.local))[target - NAMES.length];
    let step = 0;
    for (const o of ops) {
      step++;
      const d = devices[o.dev];
      if (o.kind === "sync") {
        await sync(d);
        continue;
      }
      if (o.kind === "offline" && !offline.has(d)) {
        await copyTree(`${dir}/repo`, copyOf(d), true);
        const store = await FileStore.open(new URL(`file://${copyOf(d)}`));
        offline.set(d, await Repository.open(store, { identities: [identity] }));
        continue;
      }
      if (o.kind === "online") {
        await goOnline(d);
        continue;
      }
      if (o.kind === "offline") continue;
      if (o.kind === "resolve") {
        if (offline.has(d)) continue;
        const [conflict] = await d.state.listConflicts();
        if (!conflict) continue;
        const before = await read(d, conflict.path);
        try {
          await resolveConflict(await d.stubs(), d.id, conflict.path, KEEP[o.keep]);
        } catch (err) {
          if (err instanceof TcfsError) continue; // refused: something not synced yet
          throw err;
        }
        if (KEEP[o.keep] === "remote" && before !== null) live.delete(before);
        continue;
      }
      const rel = await targetOf(d, o.target);
      if (rel === undefined) continue;
      const before = await read(d, rel);
      const parent = (p: string) => d.path(p).slice(0, d.path(p).lastIndexOf("/"));
      if (o.kind === "write") {
        if (before !== null) live.delete(before);
        const content = `dev${o.dev} step${step}\n`;
        await Deno.mkdir(parent(rel), { recursive: true });
        await Deno.writeTextFile(d.path(rel), content);
        live.add(content);
      } else if (o.kind === "delete" && before !== null) {
        live.delete(before);
        await Deno.remove(d.path(rel));
      } else if (o.kind === "rename" && before !== null && NAMES[o.to] !== rel) {
        const to = NAMES[o.to];
        const replaced = await read(d, to);
        if (replaced !== null) live.delete(replaced);
        await Deno.mkdir(parent(to), { recursive: true });
        await Deno.rename(d.path(rel), d.path(to));
      }
    }
    for (const d of devices) await goOnline(d);
    await settleAndCheck(devices, live, sync);
    // Then settle every open conflict from one device, and settle again.
    const d = devices[finalDev % n];
    for (const conflict of await d.state.listConflicts()) {
      const before = await read(d, conflict.path);
      await resolveConflict(await d.stubs(), d.id, conflict.path, KEEP[finalKeep]);
      if (KEEP[finalKeep] === "remote" && before !== null) live.delete(before);
    }
    await settleAndCheck(devices, live, sync);
    for (const e of devices) assertEquals(await e.state.listConflicts(), [], "conflicts left");
  } finally {
    for (const d of devices) d.state.close();
    for (const repo of offline.values()) await repo.store.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Sync every device until a whole round changes nothing, then check that the
 * trees and the conflict lists are equal and that every content in `live` is
 * present or in the trash.
 */
async function settleAndCheck(
  devices: SyncDevice[],
  live: Set<string>,
  sync: (d: SyncDevice) => Promise<SyncSummary>,
): Promise<void> {
  let quiet = false;
  for (let round = 0; round < MAX_SETTLE_ROUNDS && !quiet; round++) {
    quiet = true;
    for (const d of devices) if (changed(await sync(d))) quiet = false;
  }
  assert(quiet, `devices still changing after ${MAX_SETTLE_ROUNDS} rounds of syncs`);
  const trees = await Promise.all(devices.map((d) => snapshotTree(d.root.local)));
  for (const t of trees.slice(1)) assertEquals(t, trees[0], "devices differ after settling");
  const conflicts = await Promise.all(
    devices.map(async (d) =>
      (await d.state.listConflicts()).map((c) => [c.path, c.copies.map((x) => x.path).sort()])
    ),
  );
  for (const c of conflicts.slice(1)) assertEquals(c, conflicts[0], "conflict lists differ");
  for (const [, copies] of conflicts[0]) {
    for (const copy of copies) assert(trees[0][copy as string], `conflict copy ${copy} missing`);
  }
  const present = new Set(Object.values(trees[0]));
  const ctx = await devices[0].stubs();
  const trashed = new Set<string>();
  for (const item of listTrash(ctx.ns, "/shared", 30)) {
    const tomb = ctx.ns.heads(item.path).find((h) => h.deleted && h.manifest);
    const m = tomb && await ctx.repo.manifestOf(tomb);
    if (m) trashed.add(new TextDecoder().decode(inlineBytes(m)));
  }
  for (const content of live) {
    assert(present.has(content) || trashed.has(content), `lost ${JSON.stringify(content)}`);
  }
}

Deno.test("random multi-device histories converge and lose nothing", async () => {
  const seed = Deno.env.get("TCFS_PROPERTY_SEED");
  const path = Deno.env.get("TCFS_PROPERTY_PATH");
  await fc.assert(
    fc.asyncProperty(scenario, (args) => runHistory(...args)),
    {
      numRuns: Number(Deno.env.get("TCFS_PROPERTY_RUNS") ?? 100),
      ...(seed ? { seed: Number(seed) } : {}),
      ...(path ? { path } : {}),
    },
  );
});
