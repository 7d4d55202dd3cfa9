import assert from "node:assert/strict";
import { FaultProxy } from "./fault_proxy.ts";

/** An upstream that echoes what it received, so tests can see what the proxy forwarded. */
async function withUpstream(
  fn: (proxy: FaultProxy, upstream: { hits: number }) => Promise<void>,
): Promise<void> {
  const upstream = { hits: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    upstream.hits++;
    const url = new URL(req.url);
    if (url.pathname === "/stream") {
      // No length: Deno.serve answers with chunked transfer encoding.
      const parts = ["one,", "two,", "three"].map((s) => new TextEncoder().encode(s));
      return new Response(ReadableStream.from(parts));
    }
    const body = new Uint8Array(await req.arrayBuffer());
    return new Response(body, {
      headers: {
        "x-seen-host": req.headers.get("host") ?? "",
        "x-seen-method": req.method,
        "content-length": String(req.method === "HEAD" ? 4321 : body.length),
      },
    });
  });
  const proxy = await FaultProxy.start(`http://127.0.0.1:${server.addr.port}`);
  try {
    await fn(proxy, upstream);
  } finally {
    await proxy.close();
    await server.shutdown();
  }
}

Deno.test("fault proxy forwards requests unchanged, Host included, and counts them", async () => {
  await withUpstream(async (proxy) => {
    const proxyHost = new URL(proxy.endpoint).host;
    const body = new Uint8Array(300_000).map((_, i) => i % 256);
    const put = await fetch(`${proxy.endpoint}/bucket/key?x=1`, { method: "PUT", body });
    assert.equal(put.headers.get("x-seen-host"), proxyHost);
    assert.deepEqual(new Uint8Array(await put.arrayBuffer()), body);

    const chunkedUp = await fetch(`${proxy.endpoint}/echo`, {
      method: "POST",
      body: ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]),
    });
    assert.deepEqual(new Uint8Array(await chunkedUp.arrayBuffer()), new Uint8Array([1, 2, 3]));

    const chunkedDown = await fetch(`${proxy.endpoint}/stream`);
    assert.equal(await chunkedDown.text(), "one,two,three");

    const head = await fetch(`${proxy.endpoint}/h`, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), "4321");
    await head.body?.cancel();

    assert.deepEqual(proxy.counts(), { PUT: 1, POST: 1, GET: 1, HEAD: 1 });
    assert.equal(proxy.requests[0].target, "/bucket/key?x=1");
    assert.equal(proxy.requests[0].headers.host, proxyHost);
    assert.deepEqual(proxy.requests.map((r) => r.status), [200, 200, 200, 200]);
    proxy.resetCounts();
    assert.equal(proxy.count(), 0);
  });
});

Deno.test("fault proxy answers 503 SlowDown the given number of times", async () => {
  await withUpstream(async (proxy, upstream) => {
    const rule = proxy.slowDown(2, (r) => r.method === "PUT");
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.endpoint}/k`, { method: "PUT", body: "data" });
      statuses.push(res.status);
      const text = await res.text();
      if (res.status === 503) assert.match(text, /<Code>SlowDown<\/Code>/);
    }
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.equal(rule.hits, 2);
    assert.equal(upstream.hits, 1);
    assert.equal(await fetch(`${proxy.endpoint}/k`).then((r) => r.text()), "");
    assert.equal(proxy.count("PUT"), 3);
  });
});

Deno.test("fault proxy drops connections before forwarding or mid-response", async () => {
  await withUpstream(async (proxy, upstream) => {
    proxy.reset(1);
    await assert.rejects(fetch(`${proxy.endpoint}/a`).then((r) => r.text()));
    assert.equal(upstream.hits, 0);
    assert.equal(
      await fetch(`${proxy.endpoint}/a`, { method: "POST", body: "ok" }).then((r) => r.text()),
      "ok",
    );

    proxy.reset(1, undefined, 200);
    const big = "x".repeat(100_000);
    await assert.rejects(
      fetch(`${proxy.endpoint}/b`, { method: "POST", body: big }).then((r) => r.text()),
    );
    assert.equal(upstream.hits, 2);
    assert.equal(proxy.requests[2].fault, "reset");
  });
});

Deno.test("fault proxy holds matching requests until released; close() does not hang", async () => {
  await withUpstream(async (proxy, upstream) => {
    const gate = Promise.withResolvers<void>();
    const rule = proxy.delay(gate.promise, (r) => r.target === "/slow", 1);
    const slow = fetch(`${proxy.endpoint}/slow`, { method: "POST", body: "late" });
    assert.equal(
      await fetch(`${proxy.endpoint}/fast`, { method: "POST", body: "x" }).then((r) => r.text()),
      "x",
    );
    while (rule.hits === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal(upstream.hits, 1, "the held request must not reach the upstream yet");
    gate.resolve();
    assert.equal(await slow.then((r) => r.text()), "late");
    assert.equal(upstream.hits, 2);

    proxy.delay(new Promise(() => {}));
    const stuck = fetch(`${proxy.endpoint}/never`).then((r) => r.text()).catch((e) => e);
    while (proxy.count("GET") === 0) await new Promise((r) => setTimeout(r, 1));
    await proxy.close();
    assert.ok((await stuck) instanceof Error);
  });
});
