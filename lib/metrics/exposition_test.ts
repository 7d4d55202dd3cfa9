import assert from "node:assert/strict";
import { escapeHelp, escapeLabelValue, formatNumber } from "./exposition.ts";
import { Registry } from "./registry.ts";
import { createTcfsMetrics, observeGrpc } from "./tcfs_metrics.ts";

/** Run Debian's `promtool check metrics` on `text` (fed on stdin); returns code and output. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: (decoder.decode(stdout) + decoder.decode(stderr)).trim() };
}

/** A registry with every metric kind, labelled and not, and values that need escaping. */
function everyKind(): Registry {
  const registry = new Registry();
  const requests = registry.counter<{ op: "get" | "put"; outcome: "ok" | "error" }>({
    name: "demo_requests_total",
    help: "Requests by operation and outcome.",
    labels: { op: ["get", "put"], outcome: ["ok", "error"] },
  });
  requests.inc({ op: "get", outcome: "ok" });
  requests.inc({ op: "put", outcome: "error" }, 2.5);
  registry.counter({ name: "demo_restarts_total", help: "Restarts." }).inc();
  const odd = registry.gauge<{ value: string }>({
    name: "demo_odd_label_info",
    help: 'Label values with a backslash \\, a quote " and a\nnewline.',
    labels: { value: ["back\\slash", 'quo"te', "new\nline", 'all \\"\n three'] },
  });
  for (const value of ["back\\slash", 'quo"te', "new\nline", 'all \\"\n three']) {
    odd.set({ value }, 1);
  }
  const temperature = registry.gauge({ name: "demo_temperature_celsius", help: "Temperature." });
  temperature.set(-3.5);
  let collected = 0;
  registry.gauge({
    name: "demo_collected",
    help: "Set at scrape time.",
    collect: (g) => g.set(++collected),
  });
  const latency = registry.histogram<{ op: "get" | "put" }>({
    name: "demo_latency_seconds",
    help: "Latency.",
    labels: { op: ["get", "put"] },
    buckets: [0.1, 1],
  });
  latency.observe({ op: "get" }, 0.05);
  latency.observe({ op: "get" }, 1);
  latency.observe({ op: "get" }, 3);
  registry.histogram({ name: "demo_size_bytes", help: "Sizes.", buckets: [1e-7, 1024] })
    .observe(2048);
  return registry;
}

Deno.test("exposition of every metric kind is exactly the 0.0.4 text format", () => {
  const expected = String.raw`# HELP demo_requests_total Requests by operation and outcome.
# TYPE demo_requests_total counter
demo_requests_total{op="get",outcome="ok"} 1
demo_requests_total{op="get",outcome="error"} 0
demo_requests_total{op="put",outcome="ok"} 0
demo_requests_total{op="put",outcome="error"} 2.5
# HELP demo_restarts_total Restarts.
# TYPE demo_restarts_total counter
demo_restarts_total 1
# HELP demo_odd_label_info Label values with a backslash \\, a quote " and a\nnewline.
# TYPE demo_odd_label_info gauge
demo_odd_label_info{value="back\\slash"} 1
demo_odd_label_info{value="quo\"te"} 1
demo_odd_label_info{value="new\nline"} 1
demo_odd_label_info{value="all \\\"\n three"} 1
# HELP demo_temperature_celsius Temperature.
# TYPE demo_temperature_celsius gauge
demo_temperature_celsius -3.5
# HELP demo_collected Set at scrape time.
# TYPE demo_collected gauge
demo_collected 1
# HELP demo_latency_seconds Latency.
# TYPE demo_latency_seconds histogram
demo_latency_seconds_bucket{op="get",le="0.1"} 1
demo_latency_seconds_bucket{op="get",le="1"} 2
demo_latency_seconds_bucket{op="get",le="+Inf"} 3
demo_latency_seconds_sum{op="get"} 4.05
demo_latency_seconds_count{op="get"} 3
demo_latency_seconds_bucket{op="put",le="0.1"} 0
demo_latency_seconds_bucket{op="put",le="1"} 0
demo_latency_seconds_bucket{op="put",le="+Inf"} 0
demo_latency_seconds_sum{op="put"} 0
demo_latency_seconds_count{op="put"} 0
# HELP demo_size_bytes Sizes.
# TYPE demo_size_bytes histogram
demo_size_bytes_bucket{le="1e-7"} 0
demo_size_bytes_bucket{le="1024"} 0
demo_size_bytes_bucket{le="+Inf"} 1
demo_size_bytes_sum 2048
demo_size_bytes_count 1
`;
  const registry = everyKind();
  assert.equal(registry.expose(), expected);
  // The collect callback runs on every scrape.
  assert.match(registry.expose(), /^demo_collected 2$/m);
});

Deno.test("promtool check metrics parses every metric kind with no lint problems", async () => {
  const result = await promtoolCheck(everyKind().expose());
  assert.deepEqual(result, { code: 0, output: "" });
});

Deno.test("promtool flags what the registry refuses, so the name rules are the real ones", async () => {
  // Hand-written exposition breaking each convention the registry enforces.
  const bad = [
    "# HELP demo_requests counter without _total",
    "# TYPE demo_requests counter",
    "demo_requests 1",
    "# HELP demo_queue_total gauge with _total",
    "# TYPE demo_queue_total gauge",
    "demo_queue_total 1",
    "# HELP demoQueue camel case",
    "# TYPE demoQueue gauge",
    "demoQueue 1",
    "",
  ].join("\n");
  const result = await promtoolCheck(bad);
  assert.notEqual(result.code, 0);
  assert.match(result.output, /demo_requests counter metrics should have "_total" suffix/);
  assert.match(result.output, /demo_queue_total non-counter metrics should not have "_total"/);
  assert.match(result.output, /demoQueue metric names should be written in 'snake_case'/);

  const registry = new Registry();
  assert.throws(() => registry.counter({ name: "demo_requests", help: "x" }), /must end in _total/);
  assert.throws(() => registry.gauge({ name: "demo_queue_total", help: "x" }), /only counters/);
  assert.throws(() => registry.gauge({ name: "demoQueue", help: "x" }), /snake_case/);
});

Deno.test("escaping follows the text format for label values and help", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue("plain ünïcode ✓"), "plain ünïcode ✓");
  // A quote needs no escape in HELP; backslash and newline do.
  assert.equal(escapeHelp('say "hi"\\\nbye'), 'say "hi"\\\\\\nbye');
  assert.equal(formatNumber(Infinity), "+Inf");
  assert.equal(formatNumber(-Infinity), "-Inf");
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(0.005), "0.005");
  assert.equal(formatNumber(1e21), "1e+21");
});

Deno.test("promtool check metrics accepts the whole tcfs metric set with no lint problems", async () => {
  const metrics = createTcfsMetrics();
  // Touch the metrics that are not prefilled, so every series shape is checked.
  observeGrpc(metrics, "Status", 0, 0.0004);
  observeGrpc(metrics, "/tcfs.v1.Daemon/Push", 14, 2);
  metrics.hydrationSeconds.observe(0.3);
  metrics.dedupHits.inc();
  const text = metrics.registry.expose();
  assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
  for (const family of metrics.registry.describe()) {
    assert.match(text, new RegExp(`^# TYPE ${family.name} ${family.type}$`, "m"));
  }
});
