import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { IntegrityError } from "../errors.ts";
import type { SyncedEntry } from "./entry_codec.ts";
import { KEY, SCHEMA_VERSION, StateError } from "./schema.ts";
import { type ConflictCopy, MAX_CONFLICT_COPIES, StateStore } from "./state_store.ts";

const ROOT = "/home/u/docs=/docs";
const OTHER = "/home/u/pics=/pics";

function entry(n: number, extra: Partial<SyncedEntry> = {}): SyncedEntry {
  return {
    kind: "file",
    size: n,
    mtime: 1764028000000 + n,
    mode: 0o644,
    ino: 1000 + n,
    ctime: 1764028000500 + n,
    manifestId: n.toString(16).padStart(64, "0"),
    oid: (n + 1).toString(16).padStart(64, "0"),
    vv: { aaaaaaaaaaaaaaaa: n + 1 },
    hydration: "hydrated",
    syncedAt: 1764028800000,
    ...extra,
  };
}

async function withStore(fn: (store: StateStore, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/state/state.kv`;
  const store = await StateStore.open(path);
  try {
    await fn(store, path);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function rels(gen: AsyncGenerator<[string, SyncedEntry]>): Promise<string[]> {
  const out: string[] = [];
  for await (const [rel] of gen) out.push(rel);
  return out;
}

Deno.test("entries persist across reopening; the directory is private", async () => {
  await withStore(async (store, path) => {
    assertEquals(store.schemaVersion, SCHEMA_VERSION);
    await store.writeEntries(ROOT, [["a/b", entry(1)], ["c", entry(2, { hydration: "stub" })]]);
    store.close();
    const again = await StateStore.open(path);
    try {
      assertEquals(await again.getEntry(ROOT, "a/b"), entry(1));
      assertEquals(await again.getEntry(ROOT, "c"), entry(2, { hydration: "stub" }));
      assertEquals(await again.getEntry(ROOT, "a"), null);
      assertEquals(await again.getEntry(OTHER, "a/b"), null);
    } finally {
      again.close();
    }
    assertEquals((await Deno.stat(path.slice(0, path.lastIndexOf("/")))).mode! & 0o777, 0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      const mode = await Deno.stat(file).then((s) => s.mode! & 0o777, () => 0o600);
      assertEquals(mode, 0o600, file);
    }
  });
});

Deno.test("getEntries answers in request order across many getMany calls", async () => {
  await withStore(async (store) => {
    const changes: [string, SyncedEntry][] = [];
    for (let i = 0; i < 95; i += 2) changes.push([`d/f${i}`, entry(i)]);
    await store.writeEntries(ROOT, changes);
    const wanted = Array.from({ length: 95 }, (_, i) => `d/f${94 - i}`);
    const got = await store.getEntries(ROOT, wanted);
    assertEquals(got.length, 95);
    got.forEach((e, i) => {
      const n = 94 - i;
      assertEquals(e, n % 2 === 0 ? entry(n) : null, `d/f${n}`);
    });
    assertEquals(await store.getEntries(ROOT, []), []);
    assertEquals(await store.getEntries("unknown", ["d/f0"]), [null]);
  });
});

Deno.test("listEntries walks in key order; a prefix matches whole components only", async () => {
  await withStore(async (store) => {
    const all = ["a", "a b", "a/b", "a/b/c", "a/bc", "a0", "ab", "a.txt", "b", "\uE000", "😀"];
    await store.writeEntries(ROOT, [...all].reverse().map((r, i) => [r, entry(i)]));
    await store.writeEntries(OTHER, [["a/x", entry(0)]]);
    assertEquals(await rels(store.listEntries(ROOT)), [
      "a",
      "a/b",
      "a/b/c",
      "a/bc",
      "a b",
      "a.txt",
      "a0",
      "ab",
      "b",
      "\uE000",
      "😀",
    ]);
    assertEquals(await rels(store.listEntries(ROOT, "a")), ["a", "a/b", "a/b/c", "a/bc"]);
    assertEquals(await rels(store.listEntries(ROOT, "a/b")), ["a/b", "a/b/c"]);
    assertEquals(await rels(store.listEntries(ROOT, "a b")), ["a b"]);
    assertEquals(await rels(store.listEntries(ROOT, "zz")), []);
    assertEquals(await rels(store.listEntries("unknown")), []);
    // A prefix with no entry of its own still lists what is under it.
    await store.writeEntries(ROOT, [["a", null]]);
    assertEquals(await rels(store.listEntries(ROOT, "a")), ["a/b", "a/b/c", "a/bc"]);
    const [first] = await Array.fromAsync(store.listEntries(ROOT, "a/b/c"));
    assertEquals(first, ["a/b/c", entry(all.length - 1 - all.indexOf("a/b/c"))]);
  });
});

Deno.test("the root itself ('') can have an entry, listed first", async () => {
  await withStore(async (store) => {
    await store.writeEntries(ROOT, [["x", entry(1)], ["", entry(0, { kind: "dir" })]]);
    assertEquals(await rels(store.listEntries(ROOT)), ["", "x"]);
    assertEquals((await store.countEntries(ROOT)).total, 2);
  });
});

Deno.test("writes beyond one atomic operation's limits are split, and all land", async () => {
  await withStore(async (store) => {
    const n = 2500;
    await store.writeEntries(ROOT, Array.from({ length: n }, (_, i) => [`f${i}`, entry(i)]));
    assertEquals((await store.countEntries(ROOT)).total, n);
    // Long keys: 300 paths of ~1,500 bytes need several batches by key size alone.
    const long = (i: number) => `${"d".repeat(1490)}/${i}`;
    await store.writeEntries(ROOT, Array.from({ length: 300 }, (_, i) => [long(i), entry(i)]));
    const ends = await store.getEntries(ROOT, [long(0), long(299)]);
    assertEquals(ends.map((e) => e?.size), [0, 299]);
    // Large values: 30 entries of ~60 KB are more than one operation's 819,200 bytes.
    const target = "t".repeat(60_000);
    await store.writeEntries(
      ROOT,
      Array.from({ length: 30 }, (_, i) => [`l${i}`, entry(i, { kind: "symlink", target })]),
    );
    assertEquals((await store.getEntry(ROOT, "l29"))?.target, target);
    await store.writeEntries(ROOT, Array.from({ length: 30 }, (_, i) => [`l${i}`, null]));
    // Deleting them all, and the same path twice in one call: the later change wins.
    await store.writeEntries(ROOT, [
      ...Array.from({ length: n }, (_, i): [string, null] => [`f${i}`, null]),
      ["f7", entry(7777)],
    ]);
    assertEquals(await store.getEntry(ROOT, "f7"), entry(7777));
    assertEquals(await store.getEntry(ROOT, "f8"), null);
    assertEquals((await store.countEntries(ROOT)).total, 301);
  });
});

Deno.test("bad paths and oversized entries are refused; empty writes create nothing", async () => {
  await withStore(async (store, path) => {
    await assertRejects(() => store.writeEntries(ROOT, [["/abs", entry(1)]]), StateError);
    await assertRejects(
      () => store.writeEntries(ROOT, [["x".repeat(3000), entry(1)]]),
      StateError,
      "too long",
    );
    await assertRejects(
      () => store.writeEntries(ROOT, [["l", entry(1, { target: "t".repeat(70000) })]]),
      StateError,
    );
    assertEquals((await store.countEntries(ROOT)).total, 0);
    await store.writeEntries(OTHER, []);
    const kv = await Deno.openKv(path);
    try {
      assertEquals((await kv.get([KEY.root, OTHER])).versionstamp, null);
    } finally {
      kv.close();
    }
  });
});

Deno.test("countEntries counts by hydration state", async () => {
  await withStore(async (store) => {
    const h = ["hydrated", "stub", "stub", "pinned", "stub"] as const;
    await store.writeEntries(ROOT, h.map((hydration, i) => [`f${i}`, entry(i, { hydration })]));
    assertEquals(await store.countEntries(ROOT), {
      total: 5,
      byHydration: { hydrated: 1, stub: 3, pinned: 1 },
    });
    assertEquals(await store.countEntries(OTHER), {
      total: 0,
      byHydration: { hydrated: 0, stub: 0, pinned: 0 },
    });
  });
});

Deno.test("deleteRoot removes one root entirely and leaves the others", async () => {
  await withStore(async (store) => {
    await store.writeEntries(ROOT, [["a", entry(1)], ["a/b", entry(2)]]);
    await store.writeEntries(OTHER, [["a", entry(3)]]);
    await store.putConflict({ root: ROOT, path: "a", copies: [], detectedAt: 1 });
    await store.deleteRoot(ROOT);
    assertEquals(await store.getEntry(ROOT, "a"), null);
    assertEquals(await rels(store.listEntries(ROOT)), []);
    assertEquals(await store.listConflicts(ROOT), []);
    assertEquals(await store.getEntry(OTHER, "a"), entry(3));
    // A root added again starts empty.
    await store.writeEntries(ROOT, [["z", entry(9)]]);
    assertEquals(await rels(store.listEntries(ROOT)), ["z"]);
    await store.deleteRoot("never existed");
  });
});

Deno.test("an interrupted deleteRoot finishes at the next open", async () => {
  await withStore(async (store, path) => {
    await store.writeEntries(ROOT, [["a", entry(1)], ["b/c", entry(2)]]);
    store.close();
    // What a crash right after deleteRoot's first step leaves behind.
    const kv = await Deno.openKv(path);
    const id = (await kv.get<number>([KEY.root, ROOT])).value!;
    await kv.atomic().delete([KEY.root, ROOT]).set([KEY.gc, BigInt(id)], true).commit();
    kv.close();
    const again = await StateStore.open(path);
    again.close();
    const raw = await Deno.openKv(path);
    try {
      const left = await Array.fromAsync(raw.list({ prefix: [] }));
      assertEquals(left.map((e) => e.key[0]).sort(), ["rseq", "schema"]);
    } finally {
      raw.close();
    }
  });
});

Deno.test("two stores on one database: a deleted root is not written to by the other", async () => {
  await withStore(async (a, path) => {
    const b = await StateStore.open(path);
    try {
      await a.writeEntries(ROOT, [["x", entry(1)]]);
      assertEquals(await b.getEntry(ROOT, "x"), entry(1)); // b caches the root's number
      await a.deleteRoot(ROOT);
      assertEquals(await b.getEntry(ROOT, "x"), null);
      await a.writeEntries(ROOT, [["y", entry(2)]]);
      assertEquals(await b.getEntry(ROOT, "y"), entry(2));
      assertEquals(await b.getEntry(ROOT, "x"), null);
      // b writes with the number it has cached, which a's delete invalidated.
      await a.deleteRoot(ROOT);
      await assertRejects(() => b.writeEntries(ROOT, [["z", entry(3)]]), StateError, "removed");
      await b.writeEntries(ROOT, [["z", entry(3)]]); // a fresh attempt creates the root again
      assertEquals(await rels(a.listEntries(ROOT)), ["z"]);
    } finally {
      b.close();
    }
  });
});

Deno.test("conflicts are stored per path, listed in order, replaced and deleted", async () => {
  await withStore(async (store) => {
    const copy = (path: string, time: number): ConflictCopy => ({
      path,
      device: "bbbbbbbbbbbbbbbb",
      manifestId: "0".repeat(64),
      time,
    });
    await store.putConflict({ root: ROOT, path: "d/f", copies: [copy("d/f", 1)], detectedAt: 5 });
    await store.putConflict({ root: ROOT, path: "d e", copies: [], detectedAt: 6 });
    await store.putConflict({ root: OTHER, path: "p", copies: [copy("p.x", 2)], detectedAt: 7 });
    assertEquals((await store.listConflicts(ROOT)).map((c) => c.path), ["d/f", "d e"]);
    assertEquals(await store.listConflicts(OTHER), [
      { root: OTHER, path: "p", copies: [copy("p.x", 2)], detectedAt: 7 },
    ]);
    assertEquals((await store.listConflicts()).map((c) => `${c.root}:${c.path}`), [
      `${ROOT}:d/f`,
      `${ROOT}:d e`,
      `${OTHER}:p`,
    ]);
    await store.putConflict({ root: ROOT, path: "d/f", copies: [], detectedAt: 8 });
    assertEquals((await store.listConflicts(ROOT))[0].detectedAt, 8);
    await store.deleteConflict(ROOT, "d/f");
    await store.deleteConflict("unknown", "d/f");
    assertEquals((await store.listConflicts(ROOT)).map((c) => c.path), ["d e"]);
    // Conflicts are not entries.
    assertEquals((await store.countEntries(ROOT)).total, 0);
  });
});

Deno.test("a conflict keeps only the newest copies that fit", async () => {
  await withStore(async (store) => {
    const copies = Array.from({ length: 300 }, (_, i) => ({
      path: `f.conflict-${i}`,
      device: "cccccccccccccccc",
      time: (i * 7919) % 300, // shuffled times
    }));
    await store.putConflict({ root: ROOT, path: "f", copies, detectedAt: 1 });
    const [kept] = await store.listConflicts(ROOT);
    assertEquals(kept.copies.length, MAX_CONFLICT_COPIES);
    assertEquals(Math.min(...kept.copies.map((c) => c.time)), 300 - MAX_CONFLICT_COPIES);
    // Original order is kept among the survivors.
    assertEquals(kept.copies, copies.filter((c) => c.time >= 300 - MAX_CONFLICT_COPIES));
    // Long paths: fewer copies, still under the value limit.
    const long = copies.map((c) => ({ ...c, path: c.path + "x".repeat(3000) }));
    await store.putConflict({ root: ROOT, path: "g", copies: long, detectedAt: 1 });
    const [, g] = await store.listConflicts(ROOT);
    assert(g.copies.length >= 5 && g.copies.length < 20, `${g.copies.length} copies`);
    assertEquals(Math.max(...g.copies.map((c) => c.time)), 299);
  });
});

Deno.test("metadata values round-trip; null deletes; oversized ones are refused", async () => {
  await withStore(async (store) => {
    assertEquals(await store.getMeta("lastSync"), null);
    await store.setMeta("lastSync", { at: 123, counts: [1, 2] });
    assertEquals(await store.getMeta<{ at: number; counts: number[] }>("lastSync"), {
      at: 123,
      counts: [1, 2],
    });
    await store.setMeta("lastSync", null);
    assertEquals(await store.getMeta("lastSync"), null);
    await assertRejects(() => store.setMeta("big", "x".repeat(70000)), StateError, "metadata");
  });
});

Deno.test("a database from a newer tcfs is refused at open, and left as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kv = await Deno.openKv(`${dir}/state.kv`);
    await kv.set(KEY.schema, SCHEMA_VERSION + 1);
    kv.close();
    await assertRejects(
      () => StateStore.open(`${dir}/state.kv`),
      StateError,
      "state written by a newer tcfs",
    );
    const again = await Deno.openKv(`${dir}/state.kv`);
    assertEquals((await again.get(KEY.schema)).value, SCHEMA_VERSION + 1);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged entry is an IntegrityError naming the path", async () => {
  await withStore(async (store, path) => {
    await store.writeEntries(ROOT, [["bad", entry(1)]]);
    const kv = await Deno.openKv(path);
    const id = (await kv.get<number>([KEY.root, ROOT])).value!;
    await kv.set([KEY.entry, BigInt(id), "bad"], new Uint8Array([0, 1]));
    kv.close();
    await assertRejects(() => store.getEntry(ROOT, "bad"), IntegrityError, "bad");
    await assertRejects(() => Array.fromAsync(store.listEntries(ROOT)), IntegrityError, "bad");
  });
});
