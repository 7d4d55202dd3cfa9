/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`) scrapes the metrics
 * server: the target must come up and the stored series must match what the
 * process counted, escaped label values included.
 */

import assert from "node:assert/strict";
import { LOOPBACK } from "../../tests/services/ports.ts";
import { Sandbox } from "../../tests/services/sandbox.ts";
import { apiGet, startPrometheus, type Target } from "../../tests/services/prometheus.ts";
import { FileStore } from "../storage/file.ts";
import { VERSION } from "../version.ts";
import { serveMetrics } from "./http.ts";
import { createTcfsMetrics, instrumentStore } from "./tcfs_metrics.ts";

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const ODD_VALUE = 'back\\slash "quoted"\nsecond line';
/** The samples of an instant query once it returns any, polling while scrapes land. */
async function query(sandbox: Sandbox, api: string, promql: string): Promise<Sample[]> {
  let result: Sample[] = [];
  await sandbox.waitUntil(`a result for ${promql}`, async () => {
    const data = await apiGet<{ result: Sample[] }>(
      `${api}/query?query=${encodeURIComponent(promql)}`,
    );
    result = data.result;
    return result.length > 0;
  }, { timeoutMs: 60_000 });
  return result;
}

Deno.test("a real Prometheus scrapes /metrics: target up, build_info 1, counts and labels intact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-metrics-store-" });
  const metrics = createTcfsMetrics();
  const odd = metrics.registry.gauge<{ value: string }>({
    name: "tcfs_test_escaping_info",
    help: "A label value that needs every escape.",
    labels: { value: [ODD_VALUE] },
  });
  odd.set({ value: ODD_VALUE }, 42);
  const store = instrumentStore(await FileStore.open(dir), metrics);
  for (let i = 0; i < 3; i++) await store.put(`k/${i}`, new Uint8Array(100));
  await store.get("k/0");
  await store.close();

  const server = serveMetrics({ registry: metrics.registry, port: 0 });
  const sandbox = await Sandbox.create("prometheus");
  try {
    const api = await startPrometheus(sandbox, `${LOOPBACK}:${server.port}`);
    let target: Target | undefined;
    // Health is "unknown" until the first scrape, then "up" or "down" with the reason.
    await sandbox.waitUntil("the first scrape of the tcfs target", async () => {
      const data = await apiGet<{ activeTargets: Target[] }>(`${api}/targets`);
      target = data.activeTargets.find((t) => t.scrapeUrl === `${server.url}/metrics`);
      return target !== undefined && target.health !== "unknown";
    }, { timeoutMs: 60_000 });
    assert.equal(target?.health, "up", `scrape failed: ${target?.lastError}`);
    assert.equal(target?.lastError, "");
    assert.equal(target?.labels.job, "tcfs");

    const [build] = await query(sandbox, api, "tcfs_build_info");
    assert.equal(build.value[1], "1");
    assert.equal(build.metric.version, VERSION);

    const [puts] = await query(sandbox, api, 'tcfs_storage_requests_total{op="put",outcome="ok"}');
    assert.equal(puts.value[1], "3");
    const [down] = await query(sandbox, api, 'tcfs_storage_bytes_total{direction="down"}');
    assert.equal(down.value[1], "100");
    const [inf] = await query(
      sandbox,
      api,
      'tcfs_storage_request_seconds_bucket{op="put",le="+Inf"}',
    );
    assert.equal(inf.value[1], "3");
    const [escaped] = await query(sandbox, api, "tcfs_test_escaping_info");
    assert.equal(escaped.metric.value, ODD_VALUE);
    assert.equal(escaped.value[1], "42");
    const [rss] = await query(sandbox, api, "process_resident_memory_bytes");
    assert.ok(Number(rss.value[1]) > 1024 * 1024);
  } finally {
    await sandbox.close(5_000);
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
