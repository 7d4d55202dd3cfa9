import assert from "node:assert/strict";
import { join } from "node:path";
import { IntegrityError } from "../errors.ts";
import { type Manifest, toInline } from "../repo/mod.ts";
import { syntheticBytes, syntheticRepo } from "./_testing.ts";
import { ChunkCache } from "./chunk_cache.ts";
import { ChunkReadError } from "./errors.ts";
import { Hydration } from "./hydration.ts";

const MiB = 1024 * 1024;
const SEED = 31;

Deno.test("hydration into a sparse local file", async (t) => {
  await using f = await syntheticRepo(24 * MiB, SEED);
  const m = f.manifest;
  assert.ok(m.chunks.length >= 7, `only ${m.chunks.length} chunks`);
  const n = new Set(m.chunks.map((c) => c.id)).size;
  await using cache = await ChunkCache.open(f.repo, {
    dir: join(f.tmp, "cache"),
    maxBytes: 1024 * MiB,
  });
  const file = (name: string) => join(f.tmp, name);

  await t.step(
    "fill writes the whole file in order, verified, without filling the cache",
    async () => {
      f.store.reset();
      const progress: number[] = [];
      await using h = await Hydration.open(cache, m, {
        path: "/big",
        file: file("full"),
        onProgress: (present) => progress.push(present),
      });
      assert.equal((await Deno.stat(h.file)).size, m.size);
      assert.equal(h.complete, false);
      await h.fill();
      assert.equal(h.complete, true);
      assert.equal(h.bytesPresent, m.size);
      assert.deepEqual(await Deno.readFile(h.file), syntheticBytes(SEED, 0, m.size));
      assert.equal(f.store.count("get"), n);
      assert.equal(progress.at(-1), m.size);
      await cache.idle();
      assert.equal(
        cache.stats().entries,
        0,
        "a full fill does not duplicate the file into the cache",
      );
    },
  );

  await t.step(
    "waitFor fetches only the covering chunks; they are kept for the next open",
    async () => {
      f.store.reset();
      const at = m.chunks[5].offset + 5000;
      {
        await using h = await Hydration.open(cache, m, { path: "/big", file: file("random") });
        assert.equal(h.isAvailable(at, 4096), false);
        assert.deepEqual(await h.read(at, 4096), syntheticBytes(SEED, at, 4096));
        assert.equal(h.isAvailable(at, 4096), true);
        assert.equal(h.isAvailable(0, 1), false);
        assert.equal(f.store.count("get"), 1);
        assert.equal(h.bytesPresent, m.chunks[5].size);
      }
      await cache.idle();
      f.store.reset();
      await using again = await Hydration.open(cache, m, { path: "/big", file: file("again") });
      await again.waitFor(at, 4096);
      assert.equal(f.store.count("get"), 0, "served from the chunk cache");
      await again.fill();
      assert.equal(f.store.count("get"), n - 1);
      assert.deepEqual(await Deno.readFile(again.file), syntheticBytes(SEED, 0, m.size));
    },
  );

  await t.step("a read jumps the queue of a running fill", async () => {
    // One fetch slot: the fill holds it and queues the rest of its window behind it.
    await using slow = await ChunkCache.open(f.repo, {
      dir: join(f.tmp, "one-slot"),
      maxBytes: 1024 * MiB,
      fetchConcurrency: 1,
    });
    await using h = await Hydration.open(slow, m, { path: "/big", file: file("jump"), window: 4 });
    const filling = h.fill();
    const last = m.chunks.at(-1)!;
    await h.waitFor(last.offset, 1);
    const present = m.chunks.filter((c) => h.isAvailable(c.offset, c.size));
    // Only the chunk that was already being fetched got in first; the fill's queued ones wait.
    assert.deepEqual(present.map((c) => c.offset), [0, last.offset]);
    await filling;
    assert.equal(h.complete, true);
  });

  await t.step("inline and empty files are complete at once", async () => {
    const bytes = new TextEncoder().encode("tiny");
    const oid = (b: Uint8Array) => {
      const h = f.repo.codec.fileHasher();
      h.update(b);
      return Array.from(h.digest(), (x) => x.toString(16).padStart(2, "0")).join("");
    };
    const inline: Manifest = {
      v: 1,
      size: 4,
      oid: oid(bytes),
      chunks: [],
      inline: toInline(bytes),
    };
    await using h = await Hydration.open(cache, inline, { path: "/tiny", file: file("tiny") });
    assert.equal(h.complete, true);
    assert.deepEqual(await Deno.readFile(h.file), bytes);
    const empty: Manifest = { v: 1, size: 0, oid: oid(new Uint8Array()), chunks: [], inline: "" };
    await using e = await Hydration.open(cache, empty, { path: "/empty", file: file("empty") });
    assert.equal(e.complete, true);
  });

  await t.step("a file that does not match its oid never completes", async () => {
    const wrong: Manifest = { ...m, oid: "0".repeat(64) };
    await using h = await Hydration.open(cache, wrong, { path: "/big", file: file("wrong") });
    await assert.rejects(h.fill(), IntegrityError);
    assert.equal(h.complete, false);
  });

  await t.step(
    "a missing chunk fails its readers and the fill with the chunk and path",
    async () => {
      const victim = m.chunks[4];
      await f.store.delete(`data/${victim.id.slice(0, 2)}/${victim.id}`);
      await using fresh = await ChunkCache.open(f.repo, {
        dir: join(f.tmp, "c2"),
        maxBytes: MiB * 64,
      });
      await using h = await Hydration.open(fresh, m, { path: "/docs/big", file: file("broken") });
      const err = await h.waitFor(victim.offset + 1, 1).then(() => null, (e) => e);
      assert.ok(err instanceof ChunkReadError, String(err));
      assert.equal(err.chunkId, victim.id);
      assert.equal(err.path, "/docs/big");
      await h.waitFor(0, 10); // other chunks still read
      const fill = await h.fill().then(() => null, (e) => e);
      assert.ok(fill instanceof ChunkReadError && fill.chunkId === victim.id, String(fill));
      assert.equal(h.complete, false);
    },
  );
});
