import assert from "node:assert/strict";
import { join } from "node:path";
import { chunkIndexAt, type Manifest, toInline } from "../repo/mod.ts";
import { syntheticBytes, syntheticRepo } from "./_testing.ts";
import { ChunkCache } from "./chunk_cache.ts";
import { ChunkReadError } from "./errors.ts";
import { RangeReader } from "./range_reader.ts";

const MiB = 1024 * 1024;
const SEED = 23;

Deno.test("range reader on a file:// repository", async (t) => {
  await using f = await syntheticRepo(24 * MiB, SEED);
  const m = f.manifest;
  assert.ok(m.chunks.length >= 7, `only ${m.chunks.length} chunks`);
  const open = (sub: string) =>
    ChunkCache.open(f.repo, { dir: join(f.tmp, sub), maxBytes: 1024 * MiB });

  await t.step(
    "any range reads the right bytes: inside, across chunks, at and past the end",
    async () => {
      await using cache = await open("all");
      const reader = new RangeReader(cache, m, { path: "/big" });
      const b = m.chunks[3].offset;
      for (
        const [offset, length] of [
          [0, 1],
          [5, 70_000],
          [b - 100, 200],
          [b - 10, 3 * MiB],
          [
            m.size - 7,
            4096,
          ],
          [m.size, 10],
          [m.size + 5, 10],
          [0, 0],
        ]
      ) {
        const want = syntheticBytes(SEED, offset, Math.max(0, Math.min(length, m.size - offset)));
        assert.deepEqual(await reader.read(offset, length), want, `${offset}+${length}`);
      }
      await assert.rejects(reader.read(-1, 5), RangeError);
      reader.close();
    },
  );

  await t.step("a random read fetches only its chunks and reads nothing ahead", async () => {
    await using cache = await open("random");
    const reader = new RangeReader(cache, m, { path: "/big" });
    f.store.reset();
    const at = m.chunks[5].offset + 1000;
    assert.deepEqual(await reader.read(at, 4096), syntheticBytes(SEED, at, 4096));
    await cache.idle();
    assert.equal(f.store.count("get"), 1);
    const edge = m.chunks[4].offset - 2048; // straddles chunks 3 and 4
    assert.deepEqual(await reader.read(edge, 4096), syntheticBytes(SEED, edge, 4096));
    await cache.idle();
    assert.equal(f.store.count("get"), 3);
    assert.equal(cache.has(m.chunks[6].id), false);
  });

  await t.step(
    "a sequential reader gets the next chunks read ahead, at most readAhead",
    async () => {
      await using cache = await open("sequential");
      const reader = new RangeReader(cache, m, { path: "/big", readAhead: 2 });
      f.store.reset();
      await reader.read(0, 128 * 1024);
      await reader.read(128 * 1024, 128 * 1024); // continues the first: read-ahead starts
      await cache.idle();
      assert.ok(cache.has(m.chunks[1].id) && cache.has(m.chunks[2].id));
      assert.equal(cache.has(m.chunks[3].id), false);
      assert.equal(f.store.count("get"), 3);
    },
  );

  await t.step("inline files are served from the manifest", async () => {
    await using cache = await open("inline");
    const bytes = new TextEncoder().encode("hello, inline world");
    const inline: Manifest = {
      v: 1,
      size: bytes.length,
      oid: "0".repeat(64),
      chunks: [],
      inline: toInline(bytes),
    };
    const reader = new RangeReader(cache, inline, { path: "/small" });
    assert.deepEqual(await reader.read(7, 6), bytes.subarray(7, 13));
    assert.equal(chunkIndexAt(m, m.chunks[2].offset + 1), 2);
  });

  await t.step("a missing chunk is a ChunkReadError naming the file and the chunk", async () => {
    await using cache = await open("missing");
    const victim = m.chunks[5];
    await f.store.delete(`data/${victim.id.slice(0, 2)}/${victim.id}`);
    const reader = new RangeReader(cache, m, { path: "/docs/big.iso" });
    const err = await reader.read(victim.offset, 10).then(() => null, (e) => e);
    assert.ok(err instanceof ChunkReadError, String(err));
    assert.equal(err.chunkId, victim.id);
    assert.equal(err.path, "/docs/big.iso");
    assert.match(err.message, /^\/docs\/big\.iso: cannot read chunk [0-9a-f]{64}: .*missing/);
  });
});
