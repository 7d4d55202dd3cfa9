/**
 * The behaviour every {@linkcode ObjectStore} must show, written once and run
 * against each backend (`file_test.ts`, `s3_test.ts`) so they cannot drift
 * apart. Test-only: not exported from `mod.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NotFoundError, StorageError } from "../errors.ts";
import { mapLimit } from "./limit.ts";
import { compareKeys, listAll, type ListPage, type ObjectStore } from "./store.ts";

/** Makes a fresh, empty store for one contract step. */
export type StoreFactory = () => Promise<ObjectStore>;

const text = new TextEncoder();

/** Run the contract as steps of `t`, each on a new store from `open`. */
export async function runStoreContract(t: Deno.TestContext, open: StoreFactory): Promise<void> {
  for (const [name, body] of Object.entries(CASES)) {
    await t.step(name, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  }
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function listEverything(
  store: ObjectStore,
  prefix: string,
  delimiter?: string,
  pageSize?: number,
) {
  const pages: ListPage[] = [];
  let token: string | undefined;
  do {
    const page = await store.listPage(prefix, { delimiter, pageSize, token });
    pages.push(page);
    token = page.nextToken;
  } while (token !== undefined);
  return {
    pages,
    keys: pages.flatMap((p) => p.objects.map((o) => o.key)),
    prefixes: pages.flatMap((p) => p.prefixes),
  };
}

const CASES: Record<string, (store: ObjectStore) => Promise<void>> = {
  "put then get returns the same bytes; put overwrites": async (store) => {
    const body = bytes(70_000);
    await store.put("a/b/c.bin", body);
    assert.deepEqual(await store.get("a/b/c.bin"), body);
    await store.put("a/b/c.bin", text.encode("second"));
    assert.deepEqual(await store.get("a/b/c.bin"), text.encode("second"));
    await store.put("empty", new Uint8Array(0));
    assert.equal((await store.get("empty")).byteLength, 0);
    assert.equal((await store.head("empty"))?.size, 0);
  },

  "get of a range reads only that range; short at the end": async (store) => {
    const body = bytes(10_000, 7);
    await store.put("r", body);
    assert.deepEqual(await store.get("r", { offset: 0, length: 1 }), body.slice(0, 1));
    assert.deepEqual(await store.get("r", { offset: 1234, length: 4321 }), body.slice(1234, 5555));
    assert.deepEqual(await store.get("r", { offset: 9_000, length: 5_000 }), body.slice(9_000));
    assert.equal((await store.get("r", { offset: 10_000, length: 10 })).byteLength, 0);
    assert.equal((await store.get("r", { offset: 20_000, length: 10 })).byteLength, 0);
    assert.equal((await store.get("r", { offset: 5, length: 0 })).byteLength, 0);
    await assert.rejects(store.get("absent", { offset: 0, length: 10 }), NotFoundError);
    await assert.rejects(store.get("absent", { offset: 0, length: 0 }), NotFoundError);
    await assert.rejects(store.get("r", { offset: -1, length: 1 }), StorageError);
  },

  "head describes an object; null when absent; etag follows content": async (store) => {
    assert.equal(await store.head("h"), null);
    await store.put("h", bytes(123));
    const first = await store.head("h");
    assert.equal(first?.key, "h");
    assert.equal(first?.size, 123);
    assert.ok(first?.lastModified instanceof Date);
    assert.ok(Math.abs(first.lastModified.getTime() - Date.now()) < 3_600_000);
    assert.ok(typeof first.etag === "string" && first.etag.length > 0 && !first.etag.includes('"'));
    await store.put("h", bytes(123, 99));
    assert.notEqual((await store.head("h"))?.etag, first.etag);
  },

  "get of an absent key is NotFoundError; delete is idempotent": async (store) => {
    await assert.rejects(store.get("nope/x"), NotFoundError);
    await store.delete("nope/x");
    await store.put("d/x", bytes(10));
    await store.delete("d/x");
    assert.equal(await store.head("d/x"), null);
    await assert.rejects(store.get("d/x"), NotFoundError);
    await store.delete("d/x");
    assert.deepEqual((await store.listPage("")).objects, []);
  },

  "putIfAbsent writes once and never overwrites": async (store) => {
    assert.equal(await store.putIfAbsent("once", text.encode("first")), true);
    assert.equal(await store.putIfAbsent("once", text.encode("second")), false);
    assert.deepEqual(await store.get("once"), text.encode("first"));
    await store.delete("once");
    assert.equal(await store.putIfAbsent("once", text.encode("third")), true);
    assert.deepEqual(await store.get("once"), text.encode("third"));
  },

  "concurrent putIfAbsent of one key: exactly one wins": async (store) => {
    for (let round = 0; round < 3; round++) {
      const key = `race/${round}`;
      const bodies = Array.from({ length: 8 }, (_, i) => bytes(4096, round * 100 + i + 1));
      const won = await Promise.all(bodies.map((b) => store.putIfAbsent(key, b)));
      assert.equal(won.filter((w) => w).length, 1, `round ${round}: ${won}`);
      assert.deepEqual(await store.get(key), bodies[won.indexOf(true)]);
    }
  },

  "list is in key order with delimiter rollup; a key may also be a prefix": async (store) => {
    const keys = [
      "a",
      "a/b",
      "a/b/c",
      "a/bc",
      "a-z",
      "a0",
      "b/1",
      "b/2/3",
      "dir with space/é %25.txt",
      "x\u{1F600}",
      "x\uFFFD",
      "x\u00FF",
    ];
    await mapLimit([...keys].reverse(), 4, (k) => store.put(k, text.encode(k)));
    const sorted = [...keys].sort(compareKeys);
    assert.deepEqual((await listEverything(store, "")).keys, sorted);
    for (const k of keys) assert.deepEqual(await store.get(k), text.encode(k));

    const top = await store.listPage("", { delimiter: "/" });
    assert.deepEqual(top.objects.map((o) => o.key), [
      "a",
      "a-z",
      "a0",
      "x\u00FF",
      "x\uFFFD",
      "x\u{1F600}",
    ]);
    assert.deepEqual(top.prefixes, ["a/", "b/", "dir with space/"]);
    assert.equal(top.objects[0].size, 1);

    const underA = await store.listPage("a/", { delimiter: "/" });
    assert.deepEqual(underA.objects.map((o) => o.key), ["a/b", "a/bc"]);
    assert.deepEqual(underA.prefixes, ["a/b/"]);

    assert.deepEqual((await listEverything(store, "a/b")).keys, ["a/b", "a/b/c", "a/bc"]);
    assert.deepEqual((await listEverything(store, "b/")).keys, ["b/1", "b/2/3"]);
    assert.deepEqual((await listEverything(store, "zzz")).keys, []);
    assert.deepEqual((await listEverything(store, "b/", "/")).prefixes, ["b/2/"]);

    const after = await store.listPage("", { startAfter: "a/bc" });
    assert.deepEqual(
      after.objects.map((o) => o.key),
      sorted.filter((k) => compareKeys(k, "a/bc") > 0),
    );
  },

  "2,500 keys page by 1000 and list in order": async (store) => {
    const keys = Array.from({ length: 2500 }, (_, i) => `p/${String(i).padStart(5, "0")}`);
    await mapLimit(keys, 16, (k) => store.put(k, new Uint8Array([1, 2, 3])));
    const { pages, keys: listed } = await listEverything(store, "p/", undefined, 1000);
    assert.deepEqual(pages.map((p) => p.objects.length), [1000, 1000, 500]);
    assert.deepEqual(listed, keys);
    assert.ok(pages.every((p) => p.objects.every((o) => o.size === 3)));
    const streamed: string[] = [];
    for await (const o of listAll(store, "p/", { pageSize: 700 })) streamed.push(o.key);
    assert.deepEqual(streamed, keys);
  },

  "common prefixes page without repeats": async (store) => {
    const keys: string[] = [];
    for (let d = 0; d < 12; d++) {
      for (let f = 0; f < 3; f++) keys.push(`t/d${String(d).padStart(2, "0")}/f${f}`);
      keys.push(`t/k${String(d).padStart(2, "0")}`);
    }
    await mapLimit(keys, 8, (k) => store.put(k, new Uint8Array(1)));
    const { pages, keys: objects, prefixes } = await listEverything(store, "t/", "/", 5);
    assert.ok(pages.length >= 5, `expected at least 5 pages, got ${pages.length}`);
    assert.ok(pages.every((p) => p.objects.length + p.prefixes.length <= 5));
    assert.deepEqual(
      prefixes,
      Array.from({ length: 12 }, (_, d) => `t/d${String(d).padStart(2, "0")}/`),
    );
    assert.deepEqual(
      objects,
      Array.from({ length: 12 }, (_, d) => `t/k${String(d).padStart(2, "0")}`),
    );
  },

  "unsafe keys are rejected before any request": async (store) => {
    for (const key of ["", "/a", "a/", "a//b", "a/../b", "..", "./a", "a\0b"]) {
      await assert.rejects(store.put(key, new Uint8Array(1)), StorageError, JSON.stringify(key));
      await assert.rejects(store.get(key), StorageError);
      await assert.rejects(store.head(key), StorageError);
      await assert.rejects(store.delete(key), StorageError);
    }
    await assert.rejects(store.listPage("../"), StorageError);
    await assert.rejects(store.listPage("", { pageSize: 0 }), StorageError);
  },
};
