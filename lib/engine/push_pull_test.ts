import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { assertSameTree, makeTree, randomBytes } from "../../tests/fixtures/tree.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import { IntegrityError } from "../errors.ts";
import { blake3, toHex } from "../hash/mod.ts";
import { Logger } from "../log/mod.ts";
import { Repository } from "../repo/mod.ts";
import { CountingStore, FileStore, listAll } from "../storage/mod.ts";
import { pull } from "./pull.ts";
import { push } from "./push.ts";

const DEVICE = "00000000000000aa";
const log = new Logger({ level: "error", sink: () => {} });

async function withDirs(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-engine-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("push then pull of an awkward tree gives an identical tree", async () => {
  await withDirs(async (dir) => {
    await makeTree(`${dir}/src`, { smallFiles: 200 });
    await Deno.writeFile(`${dir}/src/large.bin`, randomBytes(5_000_000, 3));
    const store = await FileStore.open(new URL(`file://${dir}/repo`));
    const { repo } = await createTestRepo(store);
    const s = await push(repo, {
      sources: [`${dir}/src`],
      to: "/t",
      device: DEVICE,
      concurrency: 4,
      log,
    });
    assertEquals(s.errors, []);
    assert(s.filesPushed >= 200);
    await pull(repo, { remote: "/t", local: `${dir}/out`, concurrency: 4 });
    await assertSameTree(`${dir}/src`, `${dir}/out`);
    // A single file pulled onto an existing directory lands inside it.
    await pull(repo, { remote: "/t/large.bin", local: dir, concurrency: 4 });
    assertEquals(
      await Deno.readFile(`${dir}/large.bin`),
      await Deno.readFile(`${dir}/src/large.bin`),
    );
    await store.close();
  });
});

Deno.test("pushing an unchanged tree again uploads nothing and writes no record", async () => {
  await withDirs(async (dir) => {
    await makeTree(`${dir}/src`, { smallFiles: 50 });
    const store = new CountingStore(await FileStore.open(new URL(`file://${dir}/repo`)));
    const { repo } = await createTestRepo(store);
    await push(repo, { sources: [`${dir}/src`], device: DEVICE, concurrency: 4, log });
    const writes = () => store.count("put") + store.count("putIfAbsent");
    const before = writes();
    const again = await push(repo, {
      sources: [`${dir}/src`],
      device: DEVICE,
      concurrency: 4,
      log,
    });
    const after = writes();
    assertEquals(again.filesPushed, 0);
    assertEquals(again.records, 0);
    assertEquals(after, before);
    await store.close();
  });
});

Deno.test("another device's identity cannot open the repository until it is added", async () => {
  await withDirs(async (dir) => {
    const store = await FileStore.open(new URL(`file://${dir}/repo`));
    const { repo } = await createTestRepo(store);
    const other = await (await import("../crypto/mod.ts")).generateIdentity();
    const err = await assertRejects(() => Repository.open(store, { identities: [other.identity] }));
    assert(err.message.includes("no matching age identity"), err.message);
    await repo.addDevice(other.recipient);
    const opened = await Repository.open(store, { identities: [other.identity] });
    assertEquals(opened.config.id, repo.config.id);
    const recovered = await Repository.open(store, { passphrase: "test passphrase" });
    assertEquals(recovered.config.id, repo.config.id);
    await store.close();
  });
});

Deno.test("a flipped byte in a chunk fails the pull, naming file and chunk, writing nothing", async () => {
  await withDirs(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeFile(`${dir}/src/victim.bin`, randomBytes(3_000_000, 9));
    const store = await FileStore.open(new URL(`file://${dir}/repo`));
    const { repo } = await createTestRepo(store);
    await push(repo, { sources: [`${dir}/src`], to: "/", device: DEVICE, concurrency: 4, log });
    const chunks = [];
    for await (const o of listAll(store, "data/")) chunks.push(o.key);
    assert(chunks.length >= 2);
    const body = await store.get(chunks[0]);
    body[body.length >> 1] ^= 0x01;
    await store.put(chunks[0], body);
    const err = await assertRejects(
      () => pull(repo, { remote: "/victim.bin", local: `${dir}/out.bin`, concurrency: 2 }),
      IntegrityError,
    );
    assert(err.message.includes("/victim.bin"), err.message);
    assert(err.message.includes(chunks[0].slice(-64)), err.message);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(left, ["repo", "src"]);
    await store.close();
  });
});

Deno.test("a pull refuses a record whose path would escape the destination", async () => {
  await withDirs(async (dir) => {
    const store = await FileStore.open(new URL(`file://${dir}/repo`));
    const { repo } = await createTestRepo(store, false);
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeTextFile(`${dir}/src/ok.txt`, "fine\n");
    await push(repo, { sources: [`${dir}/src`], to: "/", device: DEVICE, concurrency: 2, log });
    // A hostile writer with bucket access adds a record naming ../../escaped.
    const evil = "00000000000000ee";
    const key = `log/${evil}/000000000001`;
    const body = await repo.codec.encodeMeta(key, {
      v: 1,
      dev: evil,
      seq: 1,
      t: 1,
      e: [{
        p: "/../../escaped",
        vv: { [evil]: 1 },
        k: "f",
        m: 420,
        t: 1,
        s: 0,
        h: "0".repeat(64),
        f: { v: 1, s: 0, o: "0".repeat(64), c: [], i: "" },
      }],
    });
    await store.put(key, body);
    const err = await assertRejects(
      () => pull(repo, { remote: "/", local: `${dir}/out`, concurrency: 2 }),
      IntegrityError,
    );
    assert(err.message.includes("unsafe") && err.message.includes(".."), err.message);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["repo", "src"]);
    await store.close();
  });
});

Deno.test("whole-file ids follow the repository's oid scheme, and pull checks them", async () => {
  await withDirs(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    const content = randomBytes(5_000_000, 7);
    await Deno.writeFile(`${dir}/src/f.bin`, content);
    const oidOf = async (repo: Repository) => {
      await push(repo, { sources: [`${dir}/src`], to: "/t", device: DEVICE, concurrency: 4, log });
      const m = await repo.manifestOf((await repo.refresh()).get("/t/f.bin")!);
      assert(m.chunks.length > 1, "the file must have several chunks");
      const out = `${dir}/out-${repo.config.id}`;
      await pull(repo, { remote: "/t/f.bin", local: out, concurrency: 4 });
      assertEquals(await Deno.readFile(out), content);
      return { oid: m.oid, fromChunks: repo.codec.chunkListId(m.chunks) };
    };
    const keyedContent = (repo: Repository) => {
      const h = repo.codec.fileHasher();
      h.update(content);
      return toHex(h.digest());
    };

    // Unencrypted: the BLAKE3 of the content, as b3sum prints it.
    const plain = (await createTestRepo(await FileStore.open(new URL(`file://${dir}/p`)), false))
      .repo;
    assertEquals(plain.config.oid, "content");
    assertEquals((await oidOf(plain)).oid, toHex(blake3(content)));

    // Encrypted, new: keyed hash of the chunk list; the content is hashed once (chunk ids).
    const store = await FileStore.open(new URL(`file://${dir}/e`));
    const { repo, identity } = await createTestRepo(store);
    assertEquals(repo.config.oid, "chunks-v1");
    const ids = await oidOf(repo);
    assertEquals(ids.oid, ids.fromChunks);
    assert(ids.oid !== keyedContent(repo), "a chunks-v1 id must not be the content hash");
    // A manifest whose id does not match its chunk list is refused before anything is written.
    const ns = await repo.refresh();
    const good = await repo.manifestOf(ns.get("/t/f.bin")!);
    const bad = await repo.prepareManifest({ ...good, oid: "0".repeat(64) });
    await repo.commit(DEVICE, ns, [{
      path: "/t/bad.bin",
      deleted: false,
      kind: "file",
      mode: 0o644,
      mtime: 1_700_000_000_000,
      size: good.size,
      manifestId: bad.id,
      manifest: bad.manifest,
    }]);
    const err = await assertRejects(
      () => pull(repo, { remote: "/t/bad.bin", local: `${dir}/bad.bin`, concurrency: 4 }),
      IntegrityError,
    );
    assert(err.message.includes("/t/bad.bin"), err.message);
    assert(err.message.includes("disagree"), err.message);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(!left.some((name) => name.includes("bad")), `left behind: ${left.join(", ")}`);

    // Encrypted, made before the parameter existed (no `oid` in its config): content ids still.
    const config = JSON.parse(await Deno.readTextFile(`${dir}/e/config`));
    delete config.oid;
    const oldStore = await FileStore.open(new URL(`file://${dir}/old`));
    await oldStore.put("config", new TextEncoder().encode(JSON.stringify(config)));
    for await (const k of listAll(store, "keys/")) {
      await oldStore.put(k.key, await store.get(k.key));
    }
    const old = await Repository.open(oldStore, { identities: [identity] });
    assertEquals(old.codec.oidFromChunks, false);
    assertEquals((await oidOf(old)).oid, keyedContent(old));
    await store.close();
    await oldStore.close();
  });
});
