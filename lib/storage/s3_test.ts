import assert from "node:assert/strict";
import { ConfigError, NotFoundError, StorageError } from "../errors.ts";
import { type S3Service, startCephRgw } from "../../tests/services/mod.ts";
import { runStoreContract } from "./contract.ts";
import { FaultProxy, type ProxiedRequest } from "./fault_proxy.ts";
import { RetriesExhaustedError } from "./retry.ts";
import { type S3Options, S3Store } from "./s3.ts";
import { openStore, parseS3Url } from "./url.ts";

const BUCKET = "tcfs-storage";
const text = new TextEncoder();

function options(s3: S3Service, endpoint = s3.endpoint, extra: S3Options = {}): S3Options {
  return {
    endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    ...extra,
  };
}

function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => assert.fail("expected a rejection"), (err) => err);
}

const isPut = (r: ProxiedRequest) => r.method === "PUT";
const accessKeyOf = (r: ProxiedRequest) =>
  /Credential=([^/]+)\//.exec(r.headers.authorization)?.[1];

Deno.test("parseS3Url splits bucket and prefix and rejects malformed URLs", () => {
  assert.deepEqual(parseS3Url("s3://bucket"), { bucket: "bucket", prefix: "" });
  assert.deepEqual(parseS3Url("s3://bucket/"), { bucket: "bucket", prefix: "" });
  assert.deepEqual(parseS3Url("s3://my.bucket/a/b/"), { bucket: "my.bucket", prefix: "a/b/" });
  for (const bad of ["s3://", "s3:///x", "s3://bucket/a/../b", "s3://b?x=1", "http://bucket/x"]) {
    assert.throws(() => parseS3Url(bad), ConfigError, bad);
  }
  const store = new S3Store(parseS3Url("s3://bucket/a/b"), {
    accessKeyId: "k",
    secretAccessKey: "s",
  });
  assert.equal(store.url, "s3://bucket/a/b");
  assert.throws(() => new S3Store(parseS3Url("s3://bucket"), { accessKeyId: "k" }), ConfigError);
});

Deno.test("S3 store against a real Ceph RGW", async (t) => {
  await using s3 = await startCephRgw();
  await s3.createBucket(BUCKET);
  let n = 0;

  await t.step("contract", async (t) => {
    await runStoreContract(
      t,
      () =>
        Promise.resolve(new S3Store({ bucket: BUCKET, prefix: `contract-${n++}/` }, options(s3))),
    );
  });

  await t.step("prefixes isolate stores; openStore opens s3:// URLs", async () => {
    const a = await openStore(`s3://${BUCKET}/iso/a`, options(s3));
    const b = await openStore(`s3://${BUCKET}/iso/b`, options(s3));
    try {
      await a.put("k/1", text.encode("a"));
      await b.put("k/1", text.encode("b"));
      await b.put("k/2", text.encode("b"));
      assert.deepEqual((await a.listPage("")).objects.map((o) => o.key), ["k/1"]);
      assert.deepEqual((await b.listPage("", { delimiter: "/" })).prefixes, ["k/"]);
      assert.deepEqual(await a.get("k/1"), text.encode("a"));
      assert.equal(a.url, `s3://${BUCKET}/iso/a`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  await t.step("a missing bucket is a StorageError that says so", async () => {
    const store = new S3Store({ bucket: "no-such-bucket", prefix: "" }, options(s3));
    try {
      const err = await caught(store.put("k", text.encode("x")));
      assert.ok(err instanceof StorageError, String(err));
      assert.match(err.message, /bucket no-such-bucket does not exist/);
    } finally {
      await store.close();
    }
  });

  await using proxy = await FaultProxy.start(s3.endpoint);

  await t.step("fault proxy forwards signed requests unchanged", async () => {
    const store = new S3Store({ bucket: BUCKET, prefix: "proxied/" }, options(s3, proxy.endpoint));
    try {
      proxy.resetCounts();
      const big = new Uint8Array(3 * 1024 * 1024).fill(7); // large enough for Expect: 100-continue
      await store.put("big", big);
      assert.deepEqual(await store.get("big"), big);
      assert.equal((await store.head("big"))?.size, big.length);
      assert.deepEqual(proxy.counts(), { PUT: 1, GET: 1, HEAD: 1 });
    } finally {
      await store.close();
    }
  });

  await t.step("503 SlowDown twice, then the put succeeds on the third request", async () => {
    const retries: string[] = [];
    const store = new S3Store(
      { bucket: BUCKET, prefix: "retry/" },
      options(s3, proxy.endpoint, { onRetry: (err) => retries.push((err as Error).name) }),
    );
    try {
      proxy.resetCounts();
      const rule = proxy.slowDown(2, isPut);
      await store.put("k", text.encode("after throttling"));
      assert.equal(rule.hits, 2);
      assert.equal(proxy.count("PUT"), 3);
      assert.deepEqual(retries, ["SlowDown", "SlowDown"]);
      assert.deepEqual(await store.get("k"), text.encode("after throttling"));
    } finally {
      await store.close();
      proxy.clearRules();
    }
  });

  await t.step("persistent 503 gives up after maxAttempts with a clear error", async () => {
    const store = new S3Store(
      { bucket: BUCKET, prefix: "retry/" },
      options(s3, proxy.endpoint, { maxAttempts: 3 }),
    );
    try {
      proxy.resetCounts();
      proxy.respond(503, "ServiceUnavailable", undefined, isPut);
      const err = await caught(store.put("gone", text.encode("x")));
      assert.ok(err instanceof RetriesExhaustedError, String(err));
      assert.equal(err.attempts, 3);
      assert.equal(err.lastCode, "ServiceUnavailable");
      assert.match(
        err.message,
        /^PUT s3:\/\/tcfs-storage\/retry\/gone failed after 3 attempts \(last error: ServiceUnavailable, HTTP 503\)/,
      );
      assert.equal(proxy.count("PUT"), 3);
    } finally {
      await store.close();
      proxy.clearRules();
    }
  });

  await t.step("403 is not retried", async () => {
    const store = new S3Store({ bucket: BUCKET, prefix: "retry/" }, options(s3, proxy.endpoint));
    try {
      proxy.resetCounts();
      proxy.respond(403, "AccessDenied", undefined, (r) => r.method === "GET");
      const err = await caught(store.get("k"));
      assert.ok(
        err instanceof StorageError && !(err instanceof RetriesExhaustedError),
        String(err),
      );
      assert.match(err.message, /refused \(AccessDenied\): check the S3 credentials/);
      assert.equal(proxy.count("GET"), 1);
    } finally {
      await store.close();
      proxy.clearRules();
    }
  });

  await t.step(
    "a wrong secret key: one request, an error about credentials without the secret",
    async () => {
      const secret = "wrongSecretKey/DoNotLeak+0123456789abcdef";
      const store = new S3Store(
        { bucket: BUCKET, prefix: "retry/" },
        options(s3, proxy.endpoint, { secretAccessKey: secret }),
      );
      try {
        proxy.resetCounts();
        const err = await caught(store.put("k", text.encode("x")));
        assert.ok(err instanceof StorageError, String(err));
        assert.match(err.message, /SignatureDoesNotMatch.*check the S3 credentials/);
        assert.equal(proxy.count(), 1);
        for (const shown of [err.message, String(err), err.stack ?? "", JSON.stringify(err)]) {
          assert.ok(!shown.includes(secret), `the secret leaked into: ${shown}`);
        }
      } finally {
        await store.close();
      }
    },
  );

  await t.step("dropped connections are retried, before the request and mid-response", async () => {
    const store = new S3Store({ bucket: BUCKET, prefix: "reset/" }, options(s3, proxy.endpoint));
    try {
      const body = new Uint8Array(200_000).map((_, i) => i % 251);
      proxy.resetCounts();
      proxy.reset(1, isPut);
      await store.put("k", body);
      assert.equal(proxy.count("PUT"), 2);
      proxy.reset(1, (r) => r.method === "GET", 1000);
      assert.deepEqual(await store.get("k"), body);
      assert.equal(proxy.count("GET"), 2);
    } finally {
      await store.close();
      proxy.clearRules();
    }
  });

  await t.step(
    "putIfAbsent whose response was lost still reports its own write as a win",
    async () => {
      const store = new S3Store(
        { bucket: BUCKET, prefix: "ambiguous/" },
        options(s3, proxy.endpoint),
      );
      try {
        proxy.resetCounts();
        // RGW stores the object, then the connection drops before the client sees the 200.
        // This is the store's first request, so on a fresh connection: Deno's HTTP
        // client does not re-send it by itself and our retry sees the failure.
        proxy.reset(1, isPut, 5);
        assert.equal(await store.putIfAbsent("mine", text.encode("ours")), true);
        assert.equal(proxy.count("PUT"), 2);
        assert.equal(proxy.requests[1].status, 412);
        assert.equal(await store.putIfAbsent("mine", text.encode("ours")), false);
        proxy.reset(1, isPut, 5);
        await store.put("theirs", text.encode("theirs"));
        proxy.reset(1, isPut);
        assert.equal(await store.putIfAbsent("theirs", text.encode("ours")), false);
      } finally {
        await store.close();
        proxy.clearRules();
      }
    },
  );

  await t.step(
    "setCredentials: in-flight requests finish on the old key, new ones use the new",
    async () => {
      const info = JSON.parse(await s3.admin(["user", "info", "--access-key", s3.accessKeyId]));
      const uid: string = info.user_id;
      const newKey = "TCFSROTATEDKEY000001";
      const newSecret = "rotatedSecretKey000000000000000000000000";
      await s3.admin([
        "key",
        "create",
        "--uid",
        uid,
        "--key-type",
        "s3",
        "--access-key",
        newKey,
        "--secret",
        newSecret,
      ]);
      const store = new S3Store({ bucket: BUCKET, prefix: "rotate/" }, options(s3, proxy.endpoint));
      try {
        await store.put("k", text.encode("v"));
        proxy.resetCounts();
        const gate = Promise.withResolvers<void>();
        const held = proxy.delay(gate.promise, (r) => r.method === "GET", 1);
        const inFlight = store.get("k");
        while (proxy.count("GET") === 0) await new Promise((r) => setTimeout(r, 5));
        store.setCredentials({ accessKeyId: newKey, secretAccessKey: newSecret });
        assert.equal(await store.head("k") !== null, true);
        gate.resolve();
        assert.deepEqual(await inFlight, text.encode("v"));
        assert.equal(held.hits, 1);
        assert.deepEqual(proxy.requests.map((r) => [r.method, accessKeyOf(r)]), [
          ["GET", s3.accessKeyId],
          ["HEAD", newKey],
        ]);
      } finally {
        await store.close();
        await s3.admin(["key", "rm", "--uid", uid, "--key-type", "s3", "--access-key", newKey]);
      }
    },
  );

  await t.step(
    "abort stops a held request and is not retried; closed stores refuse work",
    async () => {
      const store = new S3Store({ bucket: BUCKET, prefix: "abort/" }, options(s3, proxy.endpoint));
      const gate = Promise.withResolvers<void>();
      try {
        proxy.resetCounts();
        proxy.delay(gate.promise, (r) => r.method === "GET");
        const controller = new AbortController();
        const pending = caught(store.get("k", undefined, controller.signal));
        while (proxy.count("GET") === 0) await new Promise((r) => setTimeout(r, 5));
        controller.abort();
        const err = await pending;
        assert.equal((err as Error).name, "AbortError");
        assert.equal(proxy.count("GET"), 1);
      } finally {
        gate.resolve();
        proxy.clearRules();
        await store.close();
      }
      await assert.rejects(store.get("k"), StorageError);
      await assert.rejects(store.get("k"), (e) => !(e instanceof NotFoundError));
    },
  );

  await t.step(
    "credentials from the environment (AWS_ACCESS_KEY_ID ...) when none are given",
    async () => {
      const saved = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].map((k) =>
        [k, Deno.env.get(k)] as const
      );
      Deno.env.set("AWS_ACCESS_KEY_ID", s3.accessKeyId);
      Deno.env.set("AWS_SECRET_ACCESS_KEY", s3.secretAccessKey);
      const store = await openStore(`s3://${BUCKET}/env`, {
        endpoint: s3.endpoint,
        region: s3.region,
      });
      try {
        await store.put("k", text.encode("from env"));
        assert.deepEqual(await store.get("k"), text.encode("from env"));
      } finally {
        await store.close();
        for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    },
  );
});
