import { Buffer } from "node:buffer";
import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { deriveRepoKeys, generateMasterKey, inspectEnvelope } from "../crypto/mod.ts";
import { IntegrityError, TcfsError } from "../errors.ts";
import { fromHex } from "../hash/mod.ts";
import { CountingStore, FileStore } from "../storage/mod.ts";
import { type ChunkLocation, ChunkWriter } from "./chunk_writer.ts";
import { Codec } from "./codec.ts";
import { EncodePool, IN_THREAD_BELOW } from "./encode_pool.ts";
import { chunkKey, packKey } from "./layout.ts";
import { newRepoConfig } from "./repo_config.ts";

const MIB = 1024 * 1024;

async function codecFor(encrypted: boolean): Promise<Codec> {
  const config = newRepoConfig(encrypted);
  const keys = encrypted ? await deriveRepoKeys(generateMasterKey(), fromHex(config.id)) : null;
  return new Codec(config, keys);
}

/** Half noise, half text-like (so it compresses); the same for the same arguments. */
function sample(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 0x9e3779b9 + 1) >>> 0;
  for (let i = 0; i < size >> 1; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  for (let i = size >> 1; i < size; i++) out[i] = 97 + ((i * 7 + seed) % 13);
  return out;
}

const SIZES = [1000, IN_THREAD_BELOW - 1, IN_THREAD_BELOW, 300_000, 2 * MIB + 17];

Deno.test("workers hash and encode chunks as the codec does, in the codec's format", async () => {
  for (const encrypted of [true, false]) {
    const codec = await codecFor(encrypted);
    const pool = codec.encodePool(2);
    try {
      assertEquals(await pool.start(), 2);
      for (const [i, size] of SIZES.entries()) {
        const plain = sample(size, i);
        const chunk = await pool.hash(plain.slice(), true);
        assertEquals(chunk.id, codec.chunkId(plain));
        assertEquals(chunk.size, size);
        const body = await pool.encode(chunk);
        const reference = await codec.encodeChunk(chunk.id, plain);
        assertEquals(await codec.decodeChunk(chunk.id, body, size), plain);
        assertEquals(inspectEnvelope(body), inspectEnvelope(reference));
        // Without encryption there is no nonce: the bytes must be the same.
        if (!encrypted) assertEquals(body, reference);
      }
    } finally {
      await pool.close();
    }
  }
});

Deno.test("a chunk moves to a worker only when transfer is allowed and it owns its buffer", async () => {
  const codec = await codecFor(true);
  await using pool = codec.encodePool(1);
  const moved = sample(MIB, 1);
  pool.release(await pool.hash(moved, true));
  assertEquals(moved.byteLength, 0);

  const kept = sample(MIB, 2);
  pool.release(await pool.hash(kept));
  assertEquals(kept, sample(MIB, 2));

  // A view of a larger buffer is copied, so its neighbours stay readable.
  const big = sample(2 * MIB, 3);
  const view = big.subarray(0, MIB);
  const chunk = await pool.hash(view, true);
  assertEquals(view.byteLength, MIB);
  assertEquals(chunk.id, codec.chunkId(big.subarray(0, MIB)));
  assertEquals(await codec.decodeChunk(chunk.id, await pool.encode(chunk), MIB), view);

  // Small chunks stay in this thread and are never moved.
  const small = sample(1000, 4);
  pool.release(await pool.hash(small, true));
  assertEquals(small.byteLength, 1000);
});

Deno.test("workers decode and verify chunks as the codec does, and name a corrupt one", async () => {
  for (const encrypted of [true, false]) {
    const codec = await codecFor(encrypted);
    await using pool = codec.encodePool(2);
    for (const [i, size] of SIZES.entries()) {
      const plain = sample(size, 30 + i);
      const id = codec.chunkId(plain);
      const body = await codec.encodeChunk(id, plain);
      assertEquals(await pool.decode(id, body, size), plain);
      assertEquals(await codec.decodeChunk(id, body, size), plain);
      // Not moved without `transfer`: the caller's body stays readable, also when it is a Node
      // Buffer (S3 bodies are), whose slice() is a view rather than a copy.
      assert(body.byteLength > 0);
      const buffer = Buffer.from(body);
      assertEquals(await pool.decode(id, buffer, size), plain);
      assertEquals(buffer.byteLength, body.byteLength);

      const flipped = body.slice();
      flipped[flipped.length >> 1] ^= 1;
      const err = await assertRejects(() => pool.decode(id, flipped, size), IntegrityError);
      assert(err.message.includes(`chunk ${id}`), err.message);
      await assertRejects(() => pool.decode(id, body, size + 1), IntegrityError, `chunk ${id}`);
      // Encrypted, the id is part of what the envelope authenticates; plain, the hash differs.
      const other = codec.chunkId(sample(size, 99));
      await assertRejects(() => pool.decode(other, body, size), IntegrityError, `chunk ${other}`);
    }
  }
});

Deno.test("the first chunk decodes in this thread while the workers start", async () => {
  const codec = await codecFor(true);
  await using pool = codec.encodePool(2);
  const plains = [sample(MIB, 40), sample(MIB, 41)];
  const ids = plains.map((p) => codec.chunkId(p));
  const bodies = await Promise.all(plains.map((p, i) => codec.encodeChunk(ids[i], p)));
  const first = pool.decode(ids[0], bodies[0], MIB);
  const second = pool.decode(ids[1], bodies[1], MIB);
  // Answered before any worker runs: it did not wait for them to start.
  assertEquals(await first, plains[0]);
  assertEquals(pool.workers, 0);
  // One chunk at a time is decoded here: the second one waited for the workers it started.
  assertEquals(await second, plains[1]);
  assertEquals(pool.workers, 2);
});

Deno.test("a hashed chunk is encoded or released once, and a released one is gone", async () => {
  const codec = await codecFor(true);
  await using pool = codec.encodePool(1);
  for (const size of [1000, MIB]) {
    const released = await pool.hash(sample(size, 5));
    pool.release(released);
    assertThrows(() => pool.release(released), TcfsError, "released already");
    await assertRejects(() => pool.encode(released), TcfsError, "released already");
    const encoded = await pool.hash(sample(size, 6));
    await pool.encode(encoded);
    await assertRejects(() => pool.encode(encoded), TcfsError, "encoded or released");
  }
  // A chunk from another pool is refused rather than confused with one of ours.
  await using other = codec.encodePool(0);
  const foreign = await other.hash(sample(1000, 7));
  await assertRejects(() => pool.encode(foreign), TcfsError);
});

Deno.test("closing the pool fails the chunks it still holds and refuses new ones", async () => {
  const codec = await codecFor(true);
  const pool = codec.encodePool(2);
  const held = await pool.hash(sample(MIB, 8));
  const pending = pool.hash(sample(MIB, 9));
  await pool.close();
  await assertRejects(() => pending, TcfsError, "closed");
  await assertRejects(() => pool.encode(held), TcfsError, "closed");
  await assertRejects(() => pool.hash(sample(MIB, 10)), TcfsError, "closed");
  assertEquals(pool.workers, 0);
  await pool.close();
});

Deno.test("when no worker can start, chunks are encoded in the calling thread", async () => {
  // A missing worker module, as in a binary compiled without it.
  const missing = new URL("./no_such_encode_worker.ts", import.meta.url);
  await using pool = new EncodePool({ idKey: null, dataKey: null, level: 3 }, 2, missing);
  assertEquals(await pool.start(), 0);
  const plain = sample(MIB, 11);
  const chunk = await pool.hash(plain, true);
  assertEquals(plain.byteLength, MIB);
  const plainCodec = await codecFor(false);
  assertEquals(chunk.id, plainCodec.chunkId(plain));
  assertEquals(await plainCodec.decodeChunk(chunk.id, await pool.encode(chunk), MIB), plain);
});

Deno.test("the writer stores a chunk repeated while in flight once, and packs small ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-encode-pool-test-" });
  const store = new CountingStore(await FileStore.open(new URL(`file://${dir}`)));
  const codec = await codecFor(true);
  const known = new Map<string, ChunkLocation>();
  const writer = new ChunkWriter(store, codec, {
    known,
    concurrency: 2,
    packThreshold: 256 * 1024,
    packTarget: 8 * MIB,
    encodeWorkers: 2,
  });
  try {
    const a = sample(MIB, 20);
    const b = sample(MIB + 1, 21);
    const small = sample(5000, 22);
    const parts = [a, a, b, small, a, small];
    const refs = [];
    let offset = 0;
    for (const part of parts) {
      refs.push((await writer.enqueue(part.slice(), offset, { transfer: true })).ref);
      offset += part.length;
    }
    const got = await Promise.all(refs);
    await writer.flush();

    assertEquals(got.map((r) => r.offset), [
      0,
      MIB,
      2 * MIB,
      3 * MIB + 1,
      3 * MIB + 5001,
      4 * MIB + 5001,
    ]);
    assertEquals(got.map((r) => r.size), parts.map((p) => p.length));
    assertEquals(got.map((r) => r.id), parts.map((p) => codec.chunkId(p)));
    assertEquals(writer.stats.chunksStored, 3);
    assertEquals(writer.stats.dedupHits, 3);
    // Two chunk objects and one pack.
    assertEquals(store.count("put"), 3);
    assertEquals(got[3].pack, got[5].pack);
    assert(got[0].pack === undefined && got[2].pack === undefined);
    for (const [i, ref] of got.entries()) {
      const body = ref.pack
        ? await store.get(packKey(ref.pack.id), ref.pack)
        : await store.get(chunkKey(ref.id));
      assertEquals(await codec.decodeChunk(ref.id, body, ref.size), parts[i]);
      assertEquals(known.get(ref.id), ref.pack ?? null);
    }
  } finally {
    await writer.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
  await assertRejects(() => writer.add(sample(MIB, 23), 0), TcfsError, "closed");
});

Deno.test("a pool nobody closes lets the program end, after finishing its work", async () => {
  const pool = new URL("./encode_pool.ts", import.meta.url).href;
  const code = `
    import { EncodePool } from ${JSON.stringify(pool)};
    const p = new EncodePool({ idKey: null, dataKey: null, level: 3 }, 2);
    const chunk = await p.hash(new Uint8Array(1 << 20).fill(7));
    // Nothing but the worker's reply is pending here: it must keep the program alive.
    p.encode(chunk).then((body) => console.log("encoded", body.length));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Only a hang makes this fire; the child normally ends in well under a second.
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(guard);
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assert(/^encoded \d+$/m.test(stdout), stdout);
});
