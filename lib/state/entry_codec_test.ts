import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { IntegrityError } from "../errors.ts";
import { decodeEntry, encodeEntry, hydrationOf, type SyncedEntry } from "./entry_codec.ts";
import { StateError } from "./schema.ts";

const ID = "0123456789abcdef".repeat(4);
const OID = "fedcba9876543210".repeat(4);
const A = "aaaaaaaaaaaaaaaa";
const B = "0123456789abcdef";

function file(extra: Partial<SyncedEntry> = {}): SyncedEntry {
  return {
    kind: "file",
    size: 3145728,
    mtime: 1764028000123,
    mode: 0o644,
    ino: 9_437_211,
    ctime: 1764028000456,
    manifestId: ID,
    oid: OID,
    vv: { [A]: 17, [B]: 3 },
    hydration: "hydrated",
    syncedAt: 1764028800000,
    ...extra,
  };
}

Deno.test("a typical file entry round-trips in about 110 bytes", () => {
  const e = file();
  const bytes = encodeEntry(e);
  assertEquals(decodeEntry(bytes), e);
  // 1 flags + 22 numbers + 33 + 33 ids + 1 + 2 * (9 + 1) vv
  assert(bytes.length <= 110, `encoded in ${bytes.length} bytes`);
  assertEquals(hydrationOf(bytes), "hydrated");
});

Deno.test("every kind, hydration state and optional field round-trips", () => {
  const cases: SyncedEntry[] = [
    file({ hydration: "stub" }),
    file({ hydration: "pinned", manifestId: undefined, oid: undefined }),
    { ...file(), kind: "dir", size: 0, mode: 0o755, manifestId: undefined, oid: undefined },
    {
      ...file(),
      kind: "symlink",
      target: "../ünïcødé/ターゲット 🎉",
      manifestId: undefined,
      oid: undefined,
    },
    file({ vv: {} }),
  ];
  for (const e of cases) {
    for (const key of Object.keys(e) as (keyof SyncedEntry)[]) {
      if (e[key] === undefined) delete e[key];
    }
    const bytes = encodeEntry(e);
    assertEquals(decodeEntry(bytes), e);
    assertEquals(hydrationOf(bytes), e.hydration);
  }
});

Deno.test("numbers round-trip exactly, whatever they are", () => {
  const odd = [
    0,
    -0,
    1,
    -1,
    2 ** 52 - 1,
    2 ** 52,
    -(2 ** 52),
    2 ** 53 + 2,
    2 ** 63,
    1.5,
    -1764028000000.25,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    NaN,
    Infinity,
  ];
  for (const n of odd) {
    for (const field of ["size", "mtime", "ino", "ctime", "syncedAt", "mode"] as const) {
      const e = file({ [field]: n });
      const back = decodeEntry(encodeEntry(e));
      assert(Object.is(back[field], n), `${field} = ${n} came back as ${back[field]}`);
      assertEquals(back, e);
    }
    assert(Object.is(decodeEntry(encodeEntry(file({ vv: { [A]: n } }))).vv[A], n));
  }
});

Deno.test("ids that are not lowercase hex are kept as text", () => {
  const e = file({
    manifestId: ID.toUpperCase(),
    oid: "blake3:" + OID,
    vv: { "ABCDEF0123456789": 1, "device-1": 2, "": 3, ["__proto__"]: 4 },
  });
  const back = decodeEntry(encodeEntry(e));
  assertEquals(back, e);
  assertEquals(Object.keys(back.vv), ["ABCDEF0123456789", "device-1", "", "__proto__"]);
  assertEquals(Object.getPrototypeOf(back.vv), Object.prototype);
});

Deno.test("long targets change the length prefix size without corrupting the value", () => {
  for (const n of [0, 1, 125, 126, 127, 128, 16381, 16382, 16383, 16384, 60000]) {
    const e = { ...file(), kind: "symlink" as const, target: "x".repeat(n) };
    assertEquals(decodeEntry(encodeEntry(e)), e);
  }
});

Deno.test("an entry beyond the value limit is refused", () => {
  assertThrows(() => encodeEntry(file({ target: "x".repeat(70000) })), StateError, "larger than");
  assertThrows(() => encodeEntry(file({ target: "é".repeat(40000) })), StateError, "larger than");
  // The scratch buffer is not left in a bad state.
  assertEquals(decodeEntry(encodeEntry(file())), file());
});

Deno.test("malformed bytes are an IntegrityError", () => {
  const bytes = encodeEntry(file());
  assertThrows(() => decodeEntry(bytes.subarray(0, bytes.length - 1)), IntegrityError);
  assertThrows(() => decodeEntry(new Uint8Array([...bytes, 0])), IntegrityError, "trailing");
  assertThrows(() => decodeEntry(new Uint8Array([3])), IntegrityError, "kind");
  assertThrows(() => decodeEntry(new Uint8Array([0x0c])), IntegrityError, "hydration");
  assertThrows(() => decodeEntry(new Uint8Array(0)), IntegrityError);
});

Deno.test("a bad kind or hydration state is refused when encoding", () => {
  assertThrows(() => encodeEntry(file({ kind: "fifo" as "file" })), StateError, "kind");
  assertThrows(() => encodeEntry(file({ kind: "toString" as "file" })), StateError, "kind");
  assertThrows(() => encodeEntry(file({ hydration: "gone" as "stub" })), StateError, "hydration");
});
