import assert from "node:assert/strict";
import fc from "fast-check";
import { Registry } from "./registry.ts";

Deno.test("histogram buckets are cumulative with inclusive upper bounds", () => {
  const h = new Registry().histogram({ name: "demo_seconds", help: "x", buckets: [1, 2, 5] });
  for (const v of [0.5, 1, 1.5, 2, 4.99, 5, 7, -3]) h.observe(v);
  const s = h.snapshot();
  assert.deepEqual(s.buckets, [
    { le: 1, count: 3 },
    { le: 2, count: 5 },
    { le: 5, count: 7 },
    { le: Infinity, count: 8 },
  ]);
  assert.equal(s.count, 8);
  assert.ok(Math.abs(s.sum - 18.99) < 1e-9);
  assert.throws(() => h.observe(NaN), RangeError);
  assert.equal(h.snapshot().count, 8);
});

Deno.test("histogram bucket counts match a direct count for any values and bounds", () => {
  const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true });
  fc.assert(
    fc.property(
      fc.uniqueArray(finite, { minLength: 0, maxLength: 8 }),
      fc.array(fc.oneof(finite, fc.constant(Infinity), fc.constant(-Infinity)), {
        maxLength: 50,
      }),
      (rawBounds, values) => {
        const bounds = [...rawBounds].sort((a, b) => a - b);
        if (bounds.some((b, i) => i > 0 && b === bounds[i - 1])) return; // -0 and 0
        const h = new Registry().histogram({ name: "demo_seconds", help: "x", buckets: bounds });
        for (const v of values) h.observe(v);
        const s = h.snapshot();
        assert.deepEqual(
          s.buckets.map((b) => b.count),
          [...bounds, Infinity].map((le) => values.filter((v) => v <= le).length),
        );
        assert.equal(s.count, values.length);
        // Exposition lines agree with the snapshot.
        const text = new Registry();
        const copy = text.histogram({ name: "demo_seconds", help: "x", buckets: bounds });
        for (const v of values) copy.observe(v);
        const lines = text.expose().split("\n").filter((l) => l.startsWith("demo_seconds_bucket"));
        assert.deepEqual(lines.map((l) => Number(l.split(" ")[1])), s.buckets.map((b) => b.count));
        assert.match(lines.at(-1)!, /le="\+Inf"/);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("names, labels, buckets and duplicates are validated", () => {
  const r = new Registry();
  assert.throws(() => r.gauge({ name: "1bad", help: "x" }), /not a valid Prometheus metric name/);
  assert.throws(() => r.gauge({ name: "has-dash", help: "x" }), /not a valid/);
  assert.throws(() => r.gauge({ name: "rule:name", help: "x" }), /without colons/);
  assert.throws(() => r.gauge({ name: "queue_count", help: "x" }), /must not end in _count/);
  assert.throws(() => r.histogram({ name: "x_bucket", help: "x", buckets: [] }), /_bucket/);
  assert.throws(() => r.gauge({ name: "demo_gauge_ok", help: "  " }), /needs help text/);
  assert.throws(
    () => r.gauge<{ __name: string }>({ name: "demo_a", help: "x", labels: { __name: ["a"] } }),
    /reserved/,
  );
  assert.throws(
    () => r.gauge<{ "a-b": string }>({ name: "demo_a", help: "x", labels: { "a-b": ["a"] } }),
    /not a valid Prometheus label name/,
  );
  assert.throws(
    () => r.gauge<{ opName: string }>({ name: "demo_a", help: "x", labels: { opName: ["a"] } }),
    /lower snake_case/,
  );
  assert.throws(
    () =>
      r.histogram<{ le: string }>({
        name: "demo_h",
        help: "x",
        labels: { le: ["1"] },
        buckets: [],
      }),
    /cannot have a label "le"/,
  );
  assert.throws(
    () => r.gauge<{ m: string }>({ name: "demo_a", help: "x", labels: { m: /^a$/g } }),
    /g or y flag/,
  );
  for (const buckets of [[1, 1], [2, 1], [NaN], [1, -Infinity]]) {
    assert.throws(() => r.histogram({ name: "demo_h", help: "x", buckets }), /strictly increasing/);
  }
  // A trailing +Inf bound is implied and dropped, not doubled.
  assert.deepEqual(r.histogram({ name: "demo_h", help: "x", buckets: [1, Infinity] }).buckets, [1]);
  r.gauge({ name: "demo_once", help: "x" });
  assert.throws(() => r.gauge({ name: "demo_once", help: "y" }), /already registered/);
  assert.throws(
    () => r.histogram({ name: "demo_once", help: "y", buckets: [1] }),
    /already registered/,
  );
});

Deno.test("label values outside their domain are refused without echoing them", () => {
  const r = new Registry();
  const c = r.counter<{ op: "get" | "put" }>({
    name: "demo_ops_total",
    help: "x",
    labels: { op: ["get", "put"] },
  });
  const g = r.gauge<{ method: string }>({
    name: "demo_method",
    help: "x",
    labels: { method: /^[A-Z][a-z]+$/ },
  });
  const secret = "AKIAEXAMPLESECRET/with-a-token";
  for (const act of [() => c.inc({ op: secret as "get" }), () => g.set({ method: secret }, 1)]) {
    assert.throws(act, (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.ok(!e.message.includes(secret), e.message);
      return true;
    });
  }
  assert.throws(() => c.inc({ op: "get", extra: "x" } as { op: "get" }), /has no label extra/);
  assert.throws(() => c.inc({} as { op: "get" }), /needs a string value for label op/);
  assert.throws(() => c.inc({ op: "get" }, -1), /finite amount >= 0/);
  assert.throws(() => c.inc({ op: "get" }, Infinity), /finite amount >= 0/);
  g.set({ method: "Push" }, 3);
  g.inc({ method: "Push" });
  g.dec({ method: "Push" }, 0.5);
  assert.equal(g.value({ method: "Push" }), 3.5);
  assert.ok(!r.expose().includes(secret));
  // Pattern domains are not prefilled; list domains are.
  assert.equal(r.expose().match(/^demo_method\{/gm)?.length, 1);
  assert.equal(r.expose().match(/^demo_ops_total\{/gm)?.length, 2);
});

Deno.test("labels are type-checked against their domains", () => {
  const r = new Registry();
  const c = r.counter<{ op: "get" | "put" }>({
    name: "demo_ops_total",
    help: "x",
    labels: { op: ["get", "put"] },
  });
  const plain = r.counter({ name: "demo_plain_total", help: "x" });
  c.inc({ op: "put" }, 2);
  plain.inc();
  plain.inc(4);
  assert.equal(c.value({ op: "put" }), 2);
  assert.equal(plain.value(), 5);
  // @ts-expect-error: "post" is not in the domain of op
  assert.throws(() => c.inc({ op: "post" }), RangeError);
  // @ts-expect-error: a labelled metric needs its labels
  assert.throws(() => c.inc(3), /needs its labels op/);
  // @ts-expect-error: a domain of the wrong type does not compile
  r.counter<{ op: "get" }>({ name: "demo_typed_total", help: "x", labels: { op: ["put"] } });
});
