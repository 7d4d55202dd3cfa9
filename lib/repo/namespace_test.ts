import { assert, assertEquals } from "../../tests/assert.ts";
import { Namespace } from "./namespace.ts";
import type { CommitRecord, PathVersion } from "./record.ts";
import { compareVectors, type VersionVector } from "./version_vector.ts";

const A = "aaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbb";

function version(
  path: string,
  device: string,
  seq: number,
  vv: VersionVector,
  extra: Partial<PathVersion> = {},
): PathVersion {
  return {
    path,
    vv: { ...vv, [device]: seq },
    deleted: false,
    kind: "file",
    mode: 0o644,
    mtime: 1000 * seq,
    size: seq,
    device,
    seq,
    time: 1000 * seq,
    ...extra,
  };
}

function record(device: string, seq: number, versions: PathVersion[]): CommitRecord {
  return { device, seq, time: 1000 * seq, versions };
}

Deno.test("version vectors order versions and detect concurrency", () => {
  assertEquals(compareVectors({ [A]: 1 }, { [A]: 2 }), "before");
  assertEquals(compareVectors({ [A]: 2, [B]: 1 }, { [A]: 2 }), "after");
  assertEquals(compareVectors({ [A]: 2 }, { [B]: 1 }), "concurrent");
  assertEquals(compareVectors({ [A]: 2 }, { [A]: 2 }), "equal");
});

Deno.test("a later version from a device that saw the earlier one supersedes it", () => {
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/f", A, 1, {})]));
  ns.apply(record(B, 1, [version("/f", B, 1, { [A]: 1 })]));
  assertEquals(ns.heads("/f").length, 1);
  assertEquals(ns.get("/f")?.device, B);
});

Deno.test("concurrent versions are both kept, whatever order the records arrive in", () => {
  const r1 = record(A, 1, [version("/f", A, 1, {})]);
  const r2 = record(B, 1, [version("/f", B, 1, {})]);
  for (const order of [[r1, r2], [r2, r1]]) {
    const ns = new Namespace();
    for (const r of order) ns.apply(r);
    assertEquals(ns.heads("/f").map((h) => h.device).sort(), [A, B]);
    // The displayed winner is deterministic.
    assertEquals(ns.get("/f")?.device, B);
  }
});

Deno.test("a version that saw both conflicting ones resolves the conflict", () => {
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/f", A, 1, {})]));
  ns.apply(record(B, 1, [version("/f", B, 1, {})]));
  ns.apply(record(A, 2, [version("/f", A, 2, ns.seen("/f"))]));
  assertEquals(ns.heads("/f").length, 1);
  assertEquals(ns.get("/f")?.seq, 2);
});

Deno.test("an edit concurrent with a delete wins the display; the tombstone stays a head", () => {
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/f", A, 1, {})]));
  ns.apply(record(A, 2, [version("/f", A, 2, { [A]: 1 }, { deleted: true })]));
  ns.apply(record(B, 1, [version("/f", B, 1, { [A]: 1 })]));
  assertEquals(ns.heads("/f").length, 2);
  assertEquals(ns.get("/f")?.device, B);
});

Deno.test("deleted paths disappear from listings; implied directories appear", () => {
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/d/x", A, 1, {}), version("/d/e/y", A, 1, {})]));
  assertEquals(ns.list("/").map((e) => [e.name, e.kind]), [["d", "dir"]]);
  assertEquals(ns.list("/d").map((e) => e.name), ["e", "x"]);
  ns.apply(record(A, 2, [version("/d/e/y", A, 2, { [A]: 1 }, { deleted: true })]));
  assertEquals(ns.list("/d").map((e) => e.name), ["x"]);
  assert(!ns.isDir("/d/e"));
  assertEquals([...ns.walk("/")].map((e) => e.path), ["/d", "/d/x"]);
});

Deno.test("applying the same record twice changes nothing; cursors track the highest seq", () => {
  const ns = new Namespace();
  const r = record(A, 3, [version("/f", A, 3, {})]);
  ns.apply(r);
  ns.apply(r);
  assertEquals(ns.heads("/f").length, 1);
  assertEquals(ns.cursor(A), 3);
  assertEquals(ns.cursor(B), 0);
});

/** A deterministic pseudo-random generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Records from three devices that each see only some of the others' records,
 * so there are supersessions, conflicts, tombstones and implied directories.
 */
function randomRecords(seed: number, count: number): CommitRecord[] {
  const next = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const devices = [A, B, "cccccccccccccccc"];
  // Leaves f0..f39 under two levels of directories (some of which versions make explicit).
  const paths = Array.from({ length: 40 }, (_, i) => {
    const dirs = [pick(["x", "y", "z z"]), pick(["p", "q"])].slice(0, 1 + (i % 2));
    return `/${dirs.join("/")}/f${i}`;
  });
  paths.push("/x", "/y/q");
  const views = new Map(devices.map((d) => [d, new Namespace()]));
  const seqs = new Map(devices.map((d) => [d, 0]));
  const records: CommitRecord[] = [];
  const hex = (n: number) => n.toString(16).padStart(64, "0");
  for (let r = 0; r < count; r++) {
    const device = pick(devices);
    const seq = seqs.get(device)! + 1;
    seqs.set(device, seq);
    const view = views.get(device)!;
    const versions = Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
      const path = pick(paths);
      const kind = pick(["file", "file", "dir", "symlink", "gone"] as const);
      const extra: Partial<PathVersion> = kind === "gone"
        ? { deleted: true }
        : kind === "dir"
        ? { kind: "dir", size: 0 }
        : kind === "symlink"
        ? { kind: "symlink", target: `../t${r}` }
        : {
          manifestId: hex(r),
          manifest: pick([
            {
              v: 1 as const,
              size: seq,
              oid: hex(r + 1),
              chunks: [],
              inline: btoa("x".repeat(seq)),
            },
            {
              v: 1 as const,
              size: seq,
              oid: hex(r + 2),
              chunks: [{
                id: hex(r + 3),
                offset: 0,
                size: seq,
                pack: { id: hex(9), offset: r, length: 9 },
              }],
            },
            { ref: hex(r) },
          ]),
        };
      return version(path, device, seq, view.seen(path), extra);
    });
    const rec = record(device, seq, versions);
    records.push(rec);
    view.apply(rec);
    // Gossip: each other device receives every record so far with some probability.
    for (const other of devices) {
      if (other !== device && next() < 0.4) { for (const x of records) views.get(other)!.apply(x); }
    }
  }
  return records;
}

/** Everything a namespace answers, for comparing two of them. */
function observe(ns: Namespace): unknown {
  const paths = ns.exportState().heads.map((h) => h[0].path).sort();
  const dirs = ["/", ...paths];
  return {
    heads: paths.map((p) => [p, ns.heads(p)]),
    get: paths.map((p) => ns.get(p)),
    seen: paths.map((p) => ns.seen(p)),
    isDir: dirs.map((p) => ns.isDir(p)),
    list: dirs.map((p) => ns.list(p)),
    walk: [...ns.walk("/")],
    cursors: ns.devices().sort().map((d) => [d, ns.cursor(d)]),
  };
}

Deno.test("a namespace restored from its exported state answers exactly like the original", () => {
  for (const seed of [1, 2, 3]) {
    const records = randomRecords(seed, 120);
    const ns = new Namespace();
    for (const r of records) ns.apply(r);
    assert(ns.exportState().heads.some((h) => h.length > 1), "the records make conflicts");
    assert([...ns.walk("/")].length > 10, "the tree is not trivial");
    const restored = Namespace.fromState(ns.exportState());
    assertEquals(observe(restored), observe(ns));
    assertEquals(restored.exportState(), ns.exportState());
    // Both keep behaving alike when more records arrive (including ones already applied).
    const more = randomRecords(seed + 100, 60);
    for (const r of [...more, ...records.slice(0, 10)]) {
      ns.apply(r);
      restored.apply(r);
    }
    assertEquals(observe(restored), observe(ns));
  }
});

Deno.test("exportState is a snapshot: later records do not change it", () => {
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/f", A, 1, {})]));
  const state = ns.exportState();
  ns.apply(record(B, 1, [version("/f", B, 1, {})]));
  assertEquals(state.heads.map((h) => h.length), [1]);
  assertEquals(state.cursors, { [A]: 1 });
  assertEquals(Namespace.fromState(state).cursor(B), 0);
});

Deno.test("concurrent versions with the same content are one head, not a conflict", () => {
  const hex = (c: string) => c.repeat(64);
  const inline = { v: 1 as const, size: 5, oid: hex("1"), chunks: [], inline: btoa("hello") };
  const packed = (pack: string) => ({
    v: 1 as const,
    size: 5,
    oid: hex("2"),
    chunks: [{ id: hex("3"), offset: 0, size: 5, pack: { id: hex(pack), offset: 0, length: 40 } }],
  });
  const cases: [string, Partial<PathVersion>, Partial<PathVersion>][] = [
    ["same manifest", { manifestId: hex("a"), manifest: inline }, {
      manifestId: hex("a"),
      manifest: inline,
    }],
    // Two writers packed the same bytes into packs of their own: manifests differ, oids agree.
    ["same bytes, other packs", { manifestId: hex("b"), manifest: packed("8") }, {
      manifestId: hex("c"),
      manifest: packed("9"),
    }],
  ];
  for (const [name, a, b] of cases) {
    const r1 = record(A, 1, [version("/f", A, 1, {}, { size: 5, ...a })]);
    const r2 = record(B, 1, [version("/f", B, 1, {}, { size: 5, ...b })]);
    for (const order of [[r1, r2], [r2, r1]]) {
      const ns = new Namespace();
      for (const r of order) ns.apply(r);
      assertEquals(ns.heads("/f").length, 1, name);
      assertEquals(ns.heads("/f")[0], ns.get("/f"), name);
      // Both are still known: the next write supersedes both.
      assertEquals(ns.seen("/f"), { [A]: 1, [B]: 1 }, name);
    }
  }
  // Different bytes stay a conflict, even at the same size.
  const ns = new Namespace();
  ns.apply(record(A, 1, [version("/g", A, 1, {}, { manifestId: hex("d"), manifest: inline })]));
  ns.apply(record(B, 1, [version("/g", B, 1, {}, {
    manifestId: hex("e"),
    manifest: { ...inline, oid: hex("4"), inline: btoa("world") },
  })]));
  assertEquals(ns.heads("/g").length, 2);
});
