import assert from "node:assert/strict";
import { join } from "node:path";
import { type S3Service, startCephRgw } from "../../tests/services/mod.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import { Repository } from "../repo/mod.ts";
import { FaultProxy } from "../storage/fault_proxy.ts";
import { CountingStore, S3Store } from "../storage/mod.ts";
import { storeSynthetic, syntheticBytes } from "./_testing.ts";
import { ChunkCache } from "./chunk_cache.ts";
import { Hydration } from "./hydration.ts";
import { RangeReader } from "./range_reader.ts";

const MiB = 1024 * 1024;
const BUCKET = "tcfs-cache";
const BIG = 41;
const SMALL = 43;

function s3Store(s3: S3Service, endpoint: string): S3Store {
  return new S3Store({ bucket: BUCKET, prefix: "repo/" }, {
    endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
}

Deno.test("chunk cache against a real Ceph RGW", async (t) => {
  await using s3 = await startCephRgw();
  await s3.createBucket(BUCKET);
  const direct = new CountingStore(s3Store(s3, s3.endpoint));
  const { repo, identity } = await createTestRepo(direct);
  const started = performance.now();
  const big = await storeSynthetic(repo, 1024 * MiB, BIG);
  const pushSeconds = (performance.now() - started) / 1000;
  console.log(`stored a 1 GiB file as ${big.chunks.length} chunks in ${pushSeconds.toFixed(1)} s`);
  const small = await storeSynthetic(repo, 16 * MiB, SMALL);
  const tmp = await Deno.makeTempDir({ prefix: "tcfs-cache-rgw-" });
  const openCache = (sub: string, r = repo, fetchConcurrency = 8) =>
    ChunkCache.open(r, { dir: join(tmp, sub), maxBytes: 256 * MiB, fetchConcurrency });
  const at = 900 * MiB;

  try {
    await t.step(
      "4 KiB at offset 900 MiB of a 1 GiB file fetches at most 2 chunk objects",
      async () => {
        await using cache = await openCache("range");
        const reader = new RangeReader(cache, big, { path: "/big.bin" });
        direct.reset();
        assert.deepEqual(await reader.read(at, 4096), syntheticBytes(BIG, at, 4096));
        await cache.idle();
        assert.ok(direct.count("get") <= 2, `${direct.count("get")} GETs`);
        assert.ok(direct.count("get") >= 1);
      },
    );

    await t.step(
      "so does a hydration's waitFor there; nothing else of the file is fetched",
      async () => {
        await using cache = await openCache("hydrate");
        await using h = await Hydration.open(cache, big, {
          path: "/big.bin",
          file: join(tmp, "big"),
        });
        direct.reset();
        assert.deepEqual(await h.read(at, 4096), syntheticBytes(BIG, at, 4096));
        await cache.idle();
        assert.ok(direct.count("get") <= 2, `${direct.count("get")} GETs`);
        assert.equal(h.isAvailable(0, 1), false);
        assert.ok(h.bytesPresent <= 2 * 16 * MiB);
        const info = await Deno.stat(h.file);
        assert.equal(info.size, 1024 * MiB);
        assert.ok(info.blocks! * 512 <= 64 * MiB, "the local file is sparse");
      },
    );

    await t.step(
      "a chunk held back by a proxy blocks neither other files nor other chunks",
      async () => {
        await using proxy = await FaultProxy.start(s3.endpoint);
        const proxied = await Repository.open(s3Store(s3, proxy.endpoint), {
          identities: [identity],
        });
        // Two fetch slots only: a held fetch must not take them all.
        await using cache = await openCache("held", proxied, 2);
        const held = big.chunks[100];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => release = resolve);
        const rule = proxy.delay(gate, (r) => r.method === "GET" && r.target.includes(held.id));

        const bigReader = new RangeReader(cache, big, { path: "/big.bin" });
        let heldDone = false;
        const waiting = Array.from(
          { length: 10 },
          () =>
            bigReader.read(held.offset + 10, 4096).then((b) => {
              heldDone = true;
              return b;
            }),
        );
        const impatient = new AbortController();
        const abandoned = bigReader.read(held.offset, 100, impatient.signal);
        while (rule.hits === 0) {
          await new Promise((r) => setTimeout(r, 10));
        }

        // Another file, and another chunk of the same file, read in full meanwhile.
        const other = new RangeReader(cache, small, { path: "/small.bin" });
        assert.deepEqual(await other.read(0, small.size), syntheticBytes(SMALL, 0, small.size));
        const near = big.chunks[101].offset;
        assert.deepEqual(await bigReader.read(near, 4096), syntheticBytes(BIG, near, 4096));
        assert.equal(heldDone, false, "the held chunk is still held");

        impatient.abort(new Error("interrupted"));
        await assert.rejects(abandoned, /interrupted/);
        assert.equal(heldDone, false);

        release();
        const want = syntheticBytes(BIG, held.offset + 10, 4096);
        for (const b of await Promise.all(waiting)) assert.deepEqual(b, want);
        const gets = proxy.requests.filter((r) => r.method === "GET" && r.target.includes(held.id));
        assert.equal(gets.length, 1, "eleven readers of one chunk: one GET");
        await proxied.store.close();
      },
    );
  } finally {
    await direct.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
