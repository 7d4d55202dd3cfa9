import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { IntegrityError } from "../errors.ts";
import { chunksCovering, fromWire, type Manifest, toWire } from "./manifest.ts";

const ID = (n: number) => n.toString(16).padStart(64, "0");

const m: Manifest = {
  v: 1,
  size: 300,
  oid: ID(99),
  chunks: [
    { id: ID(1), offset: 0, size: 100 },
    { id: ID(2), offset: 100, size: 150 },
    { id: ID(3), offset: 250, size: 50, pack: { id: ID(7), offset: 10, length: 90 } },
  ],
};

Deno.test("manifests survive the wire form", () => {
  assertEquals(fromWire(toWire(m), "test"), m);
});

Deno.test("only the chunks covering a range are selected", () => {
  assertEquals(chunksCovering(m, 0, 1).map((c) => c.id), [ID(1)]);
  assertEquals(chunksCovering(m, 99, 2).map((c) => c.id), [ID(1), ID(2)]);
  assertEquals(chunksCovering(m, 260, 4096).map((c) => c.id), [ID(3)]);
  assertEquals(chunksCovering(m, 300, 10), []);
  assertEquals(chunksCovering(m, 100, 0), []);
});

Deno.test("malformed manifests are refused", () => {
  const w = toWire(m);
  const bad = [
    { ...w, v: 2 },
    { ...w, s: 301 },
    { ...w, o: "xyz" },
    { ...w, c: [[ID(1), 5, 100]] },
    { ...w, c: [[ID(1), 0, 0]] },
    { ...w, c: [["nothex", 0, 300]] },
    { ...w, c: [[ID(1), 0, 300, "p", 0, 1]] },
  ];
  for (const b of bad) {
    assertThrows(() => fromWire(b as never, "test"), IntegrityError);
  }
});
