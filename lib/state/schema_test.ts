import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { decodeEntry, encodeEntry, type SyncedEntry } from "./entry_codec.ts";
import {
  compareRel,
  isStorableRel,
  KEY,
  migrate,
  type Migration,
  MIGRATIONS,
  pathKey,
  readSchemaVersion,
  relOfKey,
  relParts,
  SCHEMA_VERSION,
  StateError,
} from "./schema.ts";

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters around every boundary compareRel cares about: '/', space, '0', ASCII
// letters, 2- and 3-byte UTF-8, the private-use area above the surrogates, astral.
const ALPHABET = [
  "a",
  "b",
  " ",
  "-",
  ".",
  "0",
  "~",
  "é",
  "ÿ",
  "Ā",
  "中",
  "\uE000",
  "\uFFFD",
  "😀",
  "𝄞",
];

function randomRel(next: () => number): string {
  const parts: string[] = [];
  const depth = 1 + Math.floor(next() * 3);
  for (let d = 0; d < depth; d++) {
    let name = "";
    const len = 1 + Math.floor(next() * 3);
    for (let i = 0; i < len; i++) name += ALPHABET[Math.floor(next() * ALPHABET.length)];
    parts.push(name === "." || name === ".." ? name + "a" : name);
  }
  return parts.join("/");
}

Deno.test("compareRel orders paths exactly as Deno KV orders their keys", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const next = rng(7);
    const rels = new Set<string>(["a", "a b", "a/b", "a0", "ab", "a/b/c", "a/ b", "a-", "a.b"]);
    while (rels.size < 600) rels.add(randomRel(next));
    const op = kv.atomic();
    for (const rel of rels) op.set(pathKey(KEY.entry, 1n, rel), 0);
    await op.commit();
    const fromKv: string[] = [];
    for await (const e of kv.list({ prefix: [KEY.entry, 1n] })) fromKv.push(relOfKey(e.key));
    assertEquals([...rels].sort(compareRel), fromKv);
    // JavaScript's default sort disagrees on these (UTF-16 vs code point order, '/' handling).
    assert([...rels].sort().join("\n") !== fromKv.join("\n"));
  } finally {
    kv.close();
  }
});

Deno.test("compareRel puts a directory right before what is under it", () => {
  assertEquals(
    ["a0", "a/b", "a b", "a", "a/b/c", "a/c", "ab", "a.", "\uE000", "😀"].sort(compareRel),
    ["a", "a/b", "a/b/c", "a/c", "a b", "a.", "a0", "ab", "\uE000", "😀"],
  );
  assertEquals(compareRel("x", "x"), 0);
  assert(compareRel("", "a") < 0);
});

Deno.test("relative paths must be normalised", () => {
  assertEquals(relParts(""), []);
  assertEquals(relParts("a/b c/d"), ["a", "b c", "d"]);
  for (const bad of ["/a", "a/", "a//b", "./a", "a/../b", "a\0b", "."]) {
    assertThrows(() => relParts(bad), StateError, "invalid relative path");
    assert(!isStorableRel(bad));
  }
});

Deno.test("paths too long for a Deno KV key are reported, not truncated", () => {
  assert(isStorableRel("x".repeat(2030)));
  assert(!isStorableRel("x".repeat(2040)));
  assert(!isStorableRel("é".repeat(1020))); // 2,040 bytes of UTF-8
  // Deep paths pay two bytes per component.
  assert(isStorableRel(Array(500).fill("ab").join("/")));
  assert(!isStorableRel(Array(600).fill("ab").join("/")));
  assertThrows(() => pathKey(KEY.entry, 1n, "x".repeat(3000)), StateError, "too long");
});

Deno.test("a new database is migrated to the current schema", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    assertEquals(await readSchemaVersion(kv), 0);
    assertEquals(await migrate(kv, "test"), SCHEMA_VERSION);
    assertEquals(await readSchemaVersion(kv), SCHEMA_VERSION);
    assertEquals(SCHEMA_VERSION, MIGRATIONS.length);
    // Running again is a no-op.
    assertEquals(await migrate(kv, "test"), SCHEMA_VERSION);
  } finally {
    kv.close();
  }
});

Deno.test("data without a schema version is not taken for a tcfs state database", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["something", "else"], 1);
    await assertRejects(() => migrate(kv, "foreign.kv"), StateError, "not a tcfs state database");
    assertEquals(await readSchemaVersion(kv), 0);
  } finally {
    kv.close();
  }
});

Deno.test("a database from a newer tcfs is refused", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(KEY.schema, SCHEMA_VERSION + 1);
    await assertRejects(() => migrate(kv, "new.kv"), StateError, "state written by a newer tcfs");
  } finally {
    kv.close();
  }
});

// A version 2 that this tcfs does not have yet, the shape a real one would take:
// every entry gains a pin (stubs of files under "keep/" become pinned), and a meta
// key is renamed. Written in batches and idempotent, as Migration requires.
function v2(failAfter = Infinity): Migration {
  return {
    from: 1,
    description: "pin everything under keep/",
    async run(kv) {
      let done = 0;
      for await (const e of kv.list<Uint8Array>({ prefix: [KEY.entry] })) {
        const entry = decodeEntry(e.value);
        if (e.key[2] !== "keep" || entry.hydration === "pinned") continue;
        if (done++ === failAfter) throw new Error("interrupted");
        await kv.set(e.key, encodeEntry({ ...entry, hydration: "pinned" }));
      }
      const old = await kv.get([KEY.meta, "lastSync"]);
      if (old.versionstamp !== null) {
        await kv.atomic().set([KEY.meta, "last-sync"], old.value).delete(old.key).commit();
      }
    },
  };
}

function entry(hydration: SyncedEntry["hydration"]): SyncedEntry {
  return {
    kind: "file",
    size: 1,
    mtime: 1,
    mode: 0o644,
    ino: 1,
    ctime: 1,
    vv: {},
    hydration,
    syncedAt: 1,
  };
}

Deno.test("a version 1 database built by hand is migrated, even after an interruption", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // A version 1 database as tcfs 1 writes it.
    await kv.atomic()
      .set(KEY.schema, 1)
      .set(KEY.rootSeq, 1)
      .set([KEY.root, "/home/u/docs=/docs"], 1)
      .set(pathKey(KEY.entry, 1n, "keep/a"), encodeEntry(entry("hydrated")))
      .set(pathKey(KEY.entry, 1n, "keep/b"), encodeEntry(entry("stub")))
      .set(pathKey(KEY.entry, 1n, "other"), encodeEntry(entry("stub")))
      .set([KEY.meta, "lastSync"], 1234)
      .commit();
    const migrations = [...MIGRATIONS, v2(1)];
    await assertRejects(() => migrate(kv, "v1.kv", migrations), StateError, "interrupted");
    assertEquals(await readSchemaVersion(kv), 1);

    assertEquals(await migrate(kv, "v1.kv", [...MIGRATIONS, v2()]), 2);
    assertEquals(await readSchemaVersion(kv), 2);
    const hydration = async (rel: string) =>
      decodeEntry((await kv.get<Uint8Array>(pathKey(KEY.entry, 1n, rel))).value!).hydration;
    assertEquals(await hydration("keep/a"), "pinned");
    assertEquals(await hydration("keep/b"), "pinned");
    assertEquals(await hydration("other"), "stub");
    assertEquals((await kv.get([KEY.meta, "last-sync"])).value, 1234);
    assertEquals((await kv.get([KEY.meta, "lastSync"])).versionstamp, null);

    // This tcfs (schema 1) now refuses the database.
    await assertRejects(() => migrate(kv, "v1.kv"), StateError, "newer tcfs");
  } finally {
    kv.close();
  }
});

Deno.test("migrations must be listed in order", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const wrong = { ...v2(), from: 5 };
    await assertRejects(() => migrate(kv, "x", [...MIGRATIONS, wrong]), TypeError, "upgrades");
  } finally {
    kv.close();
  }
});
