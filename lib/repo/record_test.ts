import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { IntegrityError } from "../errors.ts";
import { recordFromWire, recordToWire, type WireRecord } from "./record.ts";

const DEV = "0123456789abcdef";
const HEX = "ab".repeat(32);

function wire(path: string, extra: Record<string, unknown> = {}): WireRecord {
  return {
    v: 1,
    dev: DEV,
    seq: 4,
    t: 1,
    e: [{
      p: path,
      vv: { [DEV]: 4 },
      k: "f",
      m: 420,
      t: 5,
      s: 0,
      h: HEX,
      f: { v: 1, s: 0, o: HEX, c: [], i: "" },
      ...extra,
    }],
  } as WireRecord;
}

Deno.test("records round-trip through the wire form", () => {
  const r = recordFromWire(wire("/a b/é.txt"), "t");
  assertEquals(recordFromWire(recordToWire(r), "t"), r);
});

Deno.test("unsafe paths from the bucket are refused, whatever the record says", () => {
  for (
    const p of [
      "/../etc/passwd",
      "/a/../../x",
      "relative",
      "/a//b",
      "/a/./b",
      "/a\0b",
      "/a\\..\\b",
      `/${"x".repeat(256)}`,
    ]
  ) {
    assertThrows(() => recordFromWire(wire(p), "t"), IntegrityError, undefined);
  }
});

Deno.test("a version vector that does not carry the record's own seq is refused", () => {
  assertThrows(
    () => recordFromWire(wire("/a", { vv: { [DEV]: 3 } }), "t"),
    IntegrityError,
    "version vector",
  );
});

Deno.test("a file tombstone may keep the deleted content's manifest (the trash)", () => {
  const w = wire("/gone.txt", { d: 1 });
  const r = recordFromWire(w, "t");
  assertEquals(r.versions[0].deleted, true);
  assertEquals(r.versions[0].manifestId, HEX);
  const bare = wire("/gone.txt", { d: 1, h: undefined, f: undefined });
  assertEquals(recordFromWire(bare, "t").versions[0].manifest, undefined);
});

Deno.test("a conflict copy's mark round-trips; an unsafe or odd one is refused", () => {
  const r = recordFromWire(wire("/r (conflict 89abcdef 2026-01-01 00.00.00 #3)", { c: "/r" }), "t");
  assertEquals(r.versions[0].conflictOf, "/r");
  assertEquals(recordFromWire(recordToWire(r), "t"), r);
  for (const c of ["/../etc/passwd", "relative", 7]) {
    assertThrows(() => recordFromWire(wire("/a", { c }), "t"), IntegrityError, undefined);
  }
});
