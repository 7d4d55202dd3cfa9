import assert from "node:assert/strict";
import { NotFoundError } from "../errors.ts";
import { CountingStore, type OperationEvent } from "./counting.ts";
import { FileStore } from "./file.ts";
import { listAll } from "./store.ts";

Deno.test("CountingStore counts calls, errors and bytes per operation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-counting-" });
  try {
    const events: OperationEvent[] = [];
    const store = new CountingStore(await FileStore.open(dir), {
      onOperation: (e) => events.push(e),
    });
    assert.equal(store.url, `file://${dir}`);
    for (let i = 0; i < 5; i++) await store.put(`k/${i}`, new Uint8Array(100));
    assert.equal(await store.putIfAbsent("k/0", new Uint8Array(7)), false);
    assert.equal((await store.get("k/1", { offset: 10, length: 30 })).length, 30);
    await assert.rejects(store.get("missing"), NotFoundError);
    await store.head("k/2");
    let listed = 0;
    for await (const _ of listAll(store, "k/", { pageSize: 2 })) listed++;
    assert.equal(listed, 5);
    await store.delete("k/3");

    const s = store.stats();
    assert.deepEqual(s.put, { requests: 5, errors: 0, bytesIn: 0, bytesOut: 500 });
    assert.deepEqual(s.putIfAbsent, { requests: 1, errors: 0, bytesIn: 0, bytesOut: 7 });
    assert.deepEqual(s.get, { requests: 2, errors: 1, bytesIn: 30, bytesOut: 0 });
    assert.equal(store.count("list"), 3);
    assert.equal(store.count("head"), 1);
    assert.equal(store.count("delete"), 1);
    assert.equal(events.length, 13);
    assert.deepEqual(events.filter((e) => !e.ok).map((e) => e.op), ["get"]);
    assert.ok(events.every((e) => e.durationMs >= 0));

    s.put.requests = 99; // a copy: callers cannot corrupt the counters
    assert.equal(store.count("put"), 5);
    store.reset();
    assert.equal(store.count("put"), 0);
    await store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
