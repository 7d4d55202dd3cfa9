import assert from "node:assert/strict";
import { join } from "node:path";
import type { ChunkRef } from "../repo/mod.ts";
import { syntheticBytes, type SyntheticRepo, syntheticRepo } from "./_testing.ts";
import { chunkCacheDir, chunkPath } from "./cache_dir.ts";
import { ChunkCache, type ChunkCacheOptions } from "./chunk_cache.ts";

const MiB = 1024 * 1024;
const SEED = 11;

/** A 24 MiB synthetic file (about 14 chunks) in an encrypted file:// repository. */
async function fixture(): Promise<SyntheticRepo> {
  const f = await syntheticRepo(24 * MiB, SEED);
  assert.ok(f.manifest.chunks.length >= 6, `only ${f.manifest.chunks.length} chunks`);
  return f;
}

function expected(ref: ChunkRef): Uint8Array {
  return syntheticBytes(SEED, ref.offset, ref.size);
}

function openCache(f: SyntheticRepo, opts: Partial<ChunkCacheOptions> = {}): Promise<ChunkCache> {
  return ChunkCache.open(f.repo, { dir: join(f.tmp, "cache"), maxBytes: 1024 * MiB, ...opts });
}

Deno.test("chunk cache on a file:// repository", async (t) => {
  const f = await fixture();
  const [c0, c1, c2, c3, c4] = f.manifest.chunks;
  try {
    await t.step("N concurrent reads of one chunk make one GET and all get its bytes", async () => {
      await using cache = await openCache(f);
      const reads = await Promise.all(Array.from({ length: 20 }, () => cache.read(c0)));
      assert.equal(f.store.count("get"), 1);
      for (const r of reads) assert.deepEqual(r, expected(c0));
      assert.equal(cache.stats().misses, 1);
      await cache.read(c0); // memory tier
      assert.equal(f.store.count("get"), 1);
      assert.equal(cache.stats().hits, 1);
    });

    await t.step("chunks survive a reopen and are served from disk without a GET", async () => {
      f.store.reset();
      await using cache = await openCache(f);
      assert.ok(cache.has(c0.id));
      assert.deepEqual(await cache.read(c0), expected(c0));
      assert.equal(f.store.count("get"), 0);
      assert.equal(cache.stats().bytes, c0.size);
      const mode = (await Deno.stat(chunkPath(cache.dir, c0.id))).mode! & 0o777;
      assert.equal(mode, 0o600);
    });

    await t.step("a corrupted or truncated cache file is dropped and fetched again", async () => {
      const dir = join(f.tmp, "cache");
      const path = chunkPath(dir, c0.id);
      const bytes = await Deno.readFile(path);
      bytes[12345] ^= 0x01; // same length, one bit off: only the hash can tell
      await Deno.writeFile(path, bytes);
      f.store.reset();
      await using cache = await openCache(f, { memoryBytes: 0 });
      assert.deepEqual(await cache.read(c0), expected(c0));
      assert.equal(f.store.count("get"), 1);
      assert.equal(cache.stats().corrupt, 1);
      await cache.close(); // waits for the rewrite
      assert.deepEqual(await Deno.readFile(path), expected(c0));
      await Deno.truncate(path, 100);
      await using again = await openCache(f, { memoryBytes: 0 });
      assert.deepEqual(await again.read(c0), expected(c0));
      assert.equal(again.stats().corrupt, 1);
      assert.equal(f.store.count("get"), 2);
    });

    await t.step("over quota the least recently used chunk goes, never a pinned one", async () => {
      const dir = join(f.tmp, "lru");
      const maxBytes = Math.max(c0.size + c1.size + c2.size, c0.size + c2.size + c3.size);
      const events: string[] = [];
      const opts = { dir, maxBytes, memoryBytes: 0, onEvent: (kind: string) => events.push(kind) };
      const cache = await openCache(f, opts);
      for (const c of [c0, c1, c2]) await cache.read(c);
      await cache.close();
      // The LRU order survives a reopen: c0 is touched, so c1 is the least recently used.
      await using reopened = await openCache(f, opts);
      assert.equal(reopened.stats().entries, 3);
      await reopened.read(c0);
      await reopened.read(c3);
      await reopened.idle();
      assert.deepEqual(held(reopened, [c0, c1, c2, c3]), [c0.id, c2.id, c3.id]);
      assert.ok(reopened.stats().bytes <= maxBytes);

      const pin = reopened.pin([c0.id, c2.id, c3.id, c4.id]);
      assert.equal(reopened.stats().pinnedBytes, c0.size + c2.size + c3.size);
      await reopened.read(c1); // the only unpinned chunk: evicted at once
      await reopened.read(c4); // pinned before it arrived: kept although over the quota
      await reopened.idle();
      assert.deepEqual(held(reopened, [c0, c1, c2, c3, c4]), [c0.id, c2.id, c3.id, c4.id]);
      assert.ok(reopened.stats().bytes > maxBytes);
      pin.release();
      await reopened.idle();
      assert.ok(reopened.stats().bytes <= maxBytes, "released pins are evicted down to the quota");
      assert.ok(reopened.has(c4.id), "the most recently used chunk stays");
      assert.ok(events.includes("evict") && events.includes("store"));
    });

    await t.step(
      "stats count misses, hits and evictions; a tiny quota stores nothing",
      async () => {
        await using cache = await openCache(f, { dir: join(f.tmp, "tiny"), maxBytes: 1 });
        assert.deepEqual(await cache.read(c1), expected(c1));
        await cache.close();
        const s = cache.stats();
        assert.equal(s.entries, 0);
        assert.equal(s.misses, 1);
      },
    );

    await t.step("a read with keep: false leaves nothing behind", async () => {
      await using cache = await openCache(f, { dir: join(f.tmp, "nokeep") });
      assert.deepEqual(await cache.read(c2, { keep: false, priority: "background" }), expected(c2));
      await cache.close();
      assert.equal(cache.stats().entries, 0);
      assert.equal(cache.has(c2.id), false);
    });

    await t.step("put keeps checked bytes without a GET; drop frees chunks at once", async () => {
      await using cache = await openCache(f, { dir: join(f.tmp, "putdrop") });
      const removed: string[] = [];
      cache.watchRemovals((id) => removed.push(id));
      f.store.reset();
      assert.equal(await cache.put(c0.id, expected(c0)), true);
      assert.equal(await cache.put(c1.id, expected(c0).subarray(0, c1.size)), false, "wrong bytes");
      assert.equal(cache.has(c1.id), false);
      assert.deepEqual(await Deno.readFile(chunkPath(cache.dir, c0.id)), expected(c0));
      assert.deepEqual(await cache.read(c0), expected(c0));
      assert.equal(f.store.count("get"), 0);

      // A drop while the fetched chunk is still being written leaves nothing behind.
      const reading = cache.read(c1);
      const pin = cache.pin([c2.id]);
      await cache.read(c2);
      await reading;
      const freed = await cache.drop([c0.id, c1.id, c2.id, c3.id]);
      assert.equal(freed, c0.size + c1.size);
      await cache.idle();
      assert.deepEqual(held(cache, [c0, c1, c2, c3]), [c2.id], "the pinned chunk stays");
      assert.deepEqual(removed.sort(), [c0.id, c1.id].sort());
      await assert.rejects(() => Deno.stat(chunkPath(cache.dir, c0.id)), Deno.errors.NotFound);
      assert.equal(cache.stats().dropped, 2);
      assert.equal(cache.stats().bytes, c2.size);
      pin.release();
    });

    await t.step("an evicted chunk leaves the memory tier too and is reported", async () => {
      const maxBytes = c1.size + c2.size;
      await using cache = await openCache(f, { dir: join(f.tmp, "evicted"), maxBytes });
      const removed: string[] = [];
      const stop = cache.watchRemovals((id) => removed.push(id));
      for (const c of [c0, c1, c2]) await cache.read(c);
      await cache.idle();
      assert.deepEqual(removed, [c0.id]);
      assert.equal(cache.has(c0.id), false, "not served from memory as if it were cached");
      stop();
      await cache.drop([c1.id]);
      assert.deepEqual(removed, [c0.id]);
    });

    await t.step("chunkCacheDir puts repositories apart, beside the state by default", () => {
      const config = { cache: { dir: "" }, state: { dir: "/s" } };
      assert.equal(chunkCacheDir(config, "r1"), "/s/cache/r1");
      assert.equal(chunkCacheDir({ ...config, cache: { dir: "/c" } }, "r1"), "/c/r1");
    });
  } finally {
    await f[Symbol.asyncDispose]();
  }
});

/** Which of `refs` the cache holds, in manifest order. */
function held(cache: ChunkCache, refs: ChunkRef[]): string[] {
  return refs.filter((r) => cache.has(r.id)).map((r) => r.id);
}
