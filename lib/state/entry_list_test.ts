import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { IntegrityError } from "../errors.ts";
import type { EntryState, SyncedEntry } from "./entry_codec.ts";
import { KEY, pathKey } from "./schema.ts";
import { StateStore } from "./state_store.ts";

const ROOT = "/home/u/docs=/docs";
const OTHER = "/home/u/pics=/pics";

/** Enough entries that most of them are listed on the worker (beyond the first 5,000). */
const MANY = 12_000;

function entry(n: number): SyncedEntry {
  const kind = n % 97 === 0 ? "dir" : n % 89 === 0 ? "symlink" : "file";
  return {
    kind,
    size: n * 3,
    mtime: 1764028000000 + n,
    mode: 0o644 + (n % 3),
    ino: 1000 + n,
    ctime: n % 5 === 0 ? 0.5 + n : 1764028000500 + n, // also a time stored as a float
    ...(kind === "file" ? { manifestId: n.toString(16).padStart(64, "0") } : {}),
    ...(kind === "symlink" ? { target: `../target ${n} ✓` } : {}),
    vv: { aaaaaaaaaaaaaaaa: n + 1, "device-2": 7 },
    hydration: n % 7 === 0 ? "stub" : n % 11 === 0 ? "pinned" : "hydrated",
    syncedAt: 1764028800000,
  };
}

function stateOf(e: SyncedEntry): EntryState {
  const { kind, hydration, size, mtime, mode, ino, ctime, target } = e;
  return { kind, hydration, size, mtime, mode, ino, ctime, ...(target ? { target } : {}) };
}

const relOf = (n: number) => `d${n % 13}/sub ${n % 5}/f${n}`;

async function expected(store: StateStore, root: string): Promise<Map<string, EntryState>> {
  const out = new Map<string, EntryState>();
  for await (const [rel, e] of store.listEntries(root)) out.set(rel, stateOf(e));
  return out;
}

Deno.test("entry states equal the full entries, listed here or on a worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-entry-list-test-" });
  const stores = [await StateStore.open(`${dir}/state.kv`), await StateStore.open(":memory:")];
  try {
    for (const store of stores) {
      await store.writeEntries(ROOT, Array.from({ length: MANY }, (_, n) => [relOf(n), entry(n)]));
      await store.writeEntries(OTHER, [["x", entry(1)]]);
      const states = await store.entryStates(ROOT);
      assertEquals(states.size, MANY);
      assertEquals(states, await expected(store, ROOT));
      assertEquals(states.get(relOf(89)), stateOf(entry(89)));
      assertEquals([...await store.entryStates(OTHER)], [["x", stateOf(entry(1))]]);
      assertEquals((await store.entryStates("/no/such=/root")).size, 0);
    }
  } finally {
    for (const store of stores) store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed entry past the first thousands is reported with its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-entry-list-test-" });
  const path = `${dir}/state.kv`;
  const store = await StateStore.open(path);
  try {
    await store.writeEntries(ROOT, Array.from({ length: MANY }, (_, n) => [relOf(n), entry(n)]));
    const kv = await Deno.openKv(path);
    try {
      const id = (await kv.get<number>([KEY.root, ROOT])).value!;
      await kv.set(pathKey(KEY.entry, BigInt(id), "zz/last"), new Uint8Array([0x03, 0]));
    } finally {
      kv.close();
    }
    const err = await assertRejects(() => store.entryStates(ROOT), IntegrityError);
    assertEquals(err.message.includes("malformed entry for zz/last"), true, err.message);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
