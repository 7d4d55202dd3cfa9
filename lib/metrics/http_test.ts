import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { isLoopbackHostname, metricsHandler, serveMetrics } from "./http.ts";
import { Registry } from "./registry.ts";
import { createTcfsMetrics } from "./tcfs_metrics.ts";

async function get(
  url: string,
  method = "GET",
): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

Deno.test("serves /metrics, /healthz and /readyz on a free loopback port; /readyz follows the check", async () => {
  const metrics = createTcfsMetrics();
  let backendUp = false;
  await using server = serveMetrics({
    registry: metrics.registry,
    port: 0,
    ready: () =>
      backendUp ? Promise.resolve() : Promise.reject(new Error("s3 endpoint refused\nstack")),
  });
  assert.equal(server.hostname, "127.0.0.1");
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}`);

  metrics.dedupHits.inc(7);
  const scraped = await get(`${server.url}/metrics`);
  assert.equal(scraped.status, 200);
  assert.equal(scraped.type, "text/plain; version=0.0.4; charset=utf-8");
  assert.match(scraped.body, /^tcfs_dedup_hits_total 7$/m);
  // The same exposition as the registry's, apart from RSS, which is read on each scrape.
  const withoutRss = (text: string) => text.replace(/^process_resident_memory_bytes .*$/m, "");
  assert.equal(withoutRss(scraped.body), withoutRss(metrics.registry.expose()));

  assert.deepEqual(await get(`${server.url}/healthz`), {
    status: 200,
    body: "ok\n",
    type: "text/plain; charset=utf-8",
  });
  const notReady = await get(`${server.url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.equal(notReady.body, "not ready: s3 endpoint refused\n");
  backendUp = true;
  assert.equal((await get(`${server.url}/readyz`)).status, 200);
  backendUp = false;
  assert.equal((await get(`${server.url}/readyz`)).status, 503);

  assert.equal((await get(`${server.url}/`)).status, 404);
  assert.equal((await get(`${server.url}/metrics/extra`)).status, 404);
  assert.equal((await get(`${server.url}/favicon.ico`)).status, 404);
  const post = await fetch(`${server.url}/metrics`, { method: "POST", body: "x" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const head = await get(`${server.url}/healthz`, "HEAD");
  assert.deepEqual([head.status, head.body], [200, ""]);

  await server.shutdown();
  await server.shutdown(); // idempotent
  await assert.rejects(fetch(`${server.url}/healthz`));
});

Deno.test("/readyz is 200 without a check, and 503 when the check hangs past its timeout", async () => {
  const registry = new Registry();
  const always = metricsHandler({ registry });
  assert.equal((await always(new Request("http://x/readyz"))).status, 200);

  let aborted = false;
  const hanging = metricsHandler({
    registry,
    readyTimeoutMs: 1,
    ready: (signal) =>
      new Promise<void>((_, reject) =>
        signal.addEventListener("abort", () => {
          aborted = true;
          reject(new Error("aborted"));
        })
      ),
  });
  const res = await hanging(new Request("http://x/readyz"));
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "not ready: readiness check timed out after 1 ms\n");
  assert.ok(aborted, "the check is told to stop");

  const throwing = metricsHandler({
    registry,
    ready: () => {
      throw new Error("x".repeat(1000));
    },
  });
  const long = await (await throwing(new Request("http://x/readyz"))).text();
  assert.ok(long.length < 320, "reasons are capped");
});

Deno.test("a failing scrape-time collector answers 500, not a crash", async () => {
  const registry = new Registry();
  registry.gauge({
    name: "demo_broken",
    help: "x",
    collect: () => {
      throw new Error("sensor gone");
    },
  });
  const res = await metricsHandler({ registry })(new Request("http://x/metrics"));
  assert.equal(res.status, 500);
  assert.equal(await res.text(), "collecting metrics failed: sensor gone\n");
});

Deno.test("non-loopback addresses are refused unless explicitly allowed", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) {
    assert.ok(isLoopbackHostname(host), host);
  }
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "127.0.0.256", "example.com", ""]) {
    assert.ok(!isLoopbackHostname(host), host);
  }
  const registry = new Registry();
  assert.throws(() => serveMetrics({ registry, hostname: "0.0.0.0", port: 0 }), ConfigError);
  assert.throws(() => serveMetrics({ registry, hostname: "::", port: 0 }), /not a loopback/);
  assert.throws(() => serveMetrics({ registry, port: 70000 }), ConfigError);
});

Deno.test("a port already in use is a ConfigError naming the address", async () => {
  const registry = new Registry();
  await using first = serveMetrics({ registry, port: 0 });
  assert.throws(
    () => serveMetrics({ registry, port: first.port }),
    (e: unknown) => e instanceof ConfigError && e.message.includes(`127.0.0.1:${first.port}`),
  );
});
