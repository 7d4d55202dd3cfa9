import assert from "node:assert/strict";
import { StorageError } from "../errors.ts";
import { runStoreContract } from "./contract.ts";
import { FileStore } from "./file.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-file-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function treeOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      out.push(e.isDirectory ? `${path}/` : path);
      if (e.isDirectory) await walk(path);
    }
  };
  await walk("");
  return out.sort();
}

Deno.test("file store satisfies the object store contract", async (t) => {
  await withTempDir(async (dir) => {
    let n = 0;
    await runStoreContract(t, () => FileStore.open(`${dir}/store-${n++}`));
  });
});

Deno.test("file store lays keys out so an object and a folder can share a name", async () => {
  await withTempDir(async (dir) => {
    const store = await FileStore.open(dir);
    await store.put("a", new Uint8Array([1]));
    await store.put("a/b", new Uint8Array([2]));
    await store.put("p%q/r", new Uint8Array([3]));
    assert.deepEqual(await treeOf(dir), [
      "%tmp/",
      "a",
      "a%2F/",
      "a%2F/b",
      "p%25q%2F/",
      "p%25q%2F/r",
    ]);
    assert.equal(store.url, `file://${dir}`);
  });
});

Deno.test("file store leaves no temp files and prunes folders emptied by delete", async () => {
  await withTempDir(async (dir) => {
    const store = await FileStore.open(dir);
    await store.put("x/y/z", new Uint8Array(100));
    await store.putIfAbsent("x/y/w", new Uint8Array(100));
    await store.putIfAbsent("x/y/w", new Uint8Array(100));
    assert.deepEqual([...Deno.readDirSync(`${dir}/%tmp`)], []);
    await store.put("x/keep", new Uint8Array(1));
    await store.delete("x/y/z");
    await store.delete("x/y/w");
    assert.deepEqual(await treeOf(dir), ["%tmp/", "x%2F/", "x%2F/keep"]);
  });
});

Deno.test("file store hides files that no key maps to and clears stale temp files on open", async () => {
  await withTempDir(async (dir) => {
    const store = await FileStore.open(dir);
    await store.put("k", new Uint8Array(1));
    const stale = `${dir}/%tmp/stale`;
    const fresh = `${dir}/%tmp/fresh`;
    await Deno.writeFile(stale, new Uint8Array(5));
    await Deno.writeFile(fresh, new Uint8Array(5));
    const old = new Date(Date.now() - 2 * 3_600_000);
    await Deno.utime(stale, old, old);
    await Deno.writeFile(`${dir}/stray%`, new Uint8Array(1)); // not a valid encoding
    const page = await store.listPage("");
    assert.deepEqual(page.objects.map((o) => o.key), ["k"]);

    await FileStore.open(dir);
    assert.deepEqual([...Deno.readDirSync(`${dir}/%tmp`)].map((e) => e.name), ["fresh"]);
  });
});

Deno.test("file store keeps objects across reopen and rejects a relative root", async () => {
  await withTempDir(async (dir) => {
    const first = await FileStore.open(new URL(`file://${dir}/repo`));
    await first.put("chunks/ab/cd", new Uint8Array([9, 9]));
    const second = await FileStore.open(`${dir}/repo/`);
    assert.deepEqual(await second.get("chunks/ab/cd"), new Uint8Array([9, 9]));
    await assert.rejects(FileStore.open("relative/path"), StorageError);
  });
});

Deno.test("file store reports a failing write as StorageError and names the key", async () => {
  await withTempDir(async (dir) => {
    const store = await FileStore.open(dir);
    // A file where the temp folder belongs makes every write fail (even for root).
    await Deno.remove(`${dir}/%tmp`);
    await Deno.writeFile(`${dir}/%tmp`, new Uint8Array(1));
    const err = await store.put("a/b", new Uint8Array(1)).then(() => undefined, (e) => e);
    assert.ok(err instanceof StorageError, String(err));
    assert.match(err.message, /put a\/b in file:\/\//);
    assert.equal(await store.head("a/b"), null);
  });
});
