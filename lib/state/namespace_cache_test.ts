import { assert, assertEquals } from "../../tests/assert.ts";
import { Namespace } from "../repo/namespace.ts";
import type { CommitRecord, PathVersion } from "../repo/record.ts";
import { NamespaceCache } from "./namespace_cache.ts";

const A = "aaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbb";
const hex = (n: number) => n.toString(16).padStart(64, "0");

/** A namespace with every kind of version: files with each manifest form, conflicts, tombstones. */
function sample(n: number): Namespace {
  const ns = new Namespace();
  const versions = (device: string, seq: number): PathVersion[] =>
    Array.from({ length: n }, (_, i): PathVersion => {
      // Each device's content differs, so concurrent writes are real conflicts (identical
      // content written concurrently merges into one head).
      const id = (k: number) => hex(k + (device === A ? 0 : 50_000));
      const base: PathVersion = {
        path: `/d${i % 10}/sub ${i % 3}/é-${i}`,
        vv: { [device]: seq },
        deleted: false,
        kind: "file",
        mode: 0o644,
        mtime: 1764028000000 + i,
        size: 5,
        device,
        seq,
        time: 1764028800000 + seq,
      };
      switch (i % 6) {
        case 0:
          return { ...base, manifestId: id(i), manifest: { ref: id(i) } };
        case 1:
          return {
            ...base,
            manifestId: id(i),
            manifest: { v: 1, size: 5, oid: id(i + 1), chunks: [], inline: btoa("hello") },
            conflictOf: "/marked as a conflict copy of this",
          };
        case 2:
          return {
            ...base,
            manifestId: id(i),
            manifest: {
              v: 1,
              size: 5,
              oid: id(i + 1),
              chunks: [
                { id: id(i + 2), offset: 0, size: 2 },
                { id: id(i + 3), offset: 2, size: 3, pack: { id: hex(7), offset: i, length: 40 } },
              ],
            },
          };
        case 3:
          return { ...base, kind: "symlink", size: 6, target: "../tgt" };
        case 4:
          return { ...base, kind: "dir", size: 0, mode: 0o755 };
        default:
          return { ...base, deleted: true };
      }
    });
  const records: CommitRecord[] = [
    { device: A, seq: 1, time: 1, versions: versions(A, 1) },
    // B wrote every third path without having seen A's record: conflicts.
    { device: B, seq: 4, time: 2, versions: versions(B, 4).filter((_, i) => i % 3 === 0) },
  ];
  for (const r of records) ns.apply(r);
  return ns;
}

function observe(ns: Namespace): unknown {
  return {
    state: ns.exportState(),
    walk: [...ns.walk("/")],
    cursors: [ns.cursor(A), ns.cursor(B)],
    seen: ns.seen("/d0/sub 0/é-0"),
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a saved namespace loads back identical", async () => {
  await withDir(async (dir) => {
    const ns = sample(300);
    assert(ns.heads("/d0/sub 0/é-0").length === 2, "sample has conflicts");
    const cache = new NamespaceCache(`${dir}/repo/namespace.cache`);
    assertEquals(await cache.load(), null);
    await cache.save(ns);
    const back = await cache.load();
    assert(back);
    assertEquals(observe(back), observe(ns));
    // A cache instance on the same file sees the same.
    assertEquals(
      observe((await new NamespaceCache(`${dir}/repo/namespace.cache`).load())!),
      observe(ns),
    );
  });
});

Deno.test("an empty namespace and more than one line's worth of paths round-trip", async () => {
  await withDir(async (dir) => {
    const cache = new NamespaceCache(`${dir}/ns.cache`);
    await cache.save(new Namespace());
    assertEquals((await cache.load())?.exportState(), { heads: [], cursors: {} });
    const big = sample(2500);
    await cache.save(big);
    assertEquals(observe((await cache.load())!), observe(big));
  });
});

Deno.test("the cache is private: file 0600 in a directory 0700, no temporary files left", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/a/b/namespace.cache`;
    await new NamespaceCache(path).save(sample(10));
    await new NamespaceCache(path).save(sample(20)); // replacing keeps the mode
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/a/b`)).mode! & 0o777, 0o700);
    assertEquals((await Array.fromAsync(Deno.readDir(`${dir}/a/b`))).map((e) => e.name), [
      "namespace.cache",
    ]);
  });
});

Deno.test("a damaged, truncated or foreign cache file loads as null", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/namespace.cache`;
    const cache = new NamespaceCache(path);
    await cache.save(sample(50));
    const good = await Deno.readFile(path);
    const variants: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["truncated", good.subarray(0, good.length - 1)],
      ["header only", good.subarray(0, 16)],
      [
        "foreign",
        new TextEncoder().encode("not a cache at all, but long enough to have a trailer"),
      ],
    ];
    for (const at of [0, 4, 9, 20, good.length >> 1, good.length - 1]) {
      const bad = good.slice();
      bad[at] ^= 0x01;
      variants.push([`bit flip at ${at}`, bad]);
    }
    for (const [what, bytes] of variants) {
      await Deno.writeFile(path, bytes);
      assertEquals(await cache.load(), null, what);
    }
    await Deno.writeFile(path, good);
    assert(await cache.load(), "the intact file still loads");
    await Deno.chmod(path, 0o000);
    if (Deno.uid() !== 0) assertEquals(await cache.load(), null, "unreadable");
  });
});
