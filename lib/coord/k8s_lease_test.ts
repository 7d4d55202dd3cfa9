/**
 * The Kubernetes Lease client against responses in the shape the real API
 * server gives (testdata/k8s: a 404 NotFound Status, 201 Created and 200 OK
 * Lease objects, 409 Conflict and AlreadyExists Statuses, a 403 Forbidden),
 * served by a local HTTP server. No kube-apiserver can run here, so this is
 * as close to one as the tests get: the requests the client makes (method,
 * path, bearer token, resourceVersion preconditions, body) are checked
 * exactly, and the elector runs a whole term over it.
 */

import assert from "node:assert/strict";
import { LeaseError } from "../errors.ts";
import { Logger } from "../log/mod.ts";
import { LeaderElector, type Leadership } from "./elector.ts";
import { inClusterApi, KubernetesLease, microTime } from "./k8s_lease.ts";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/tcfs/leases";
const quiet = new Logger({ level: "error", sink: () => {} });

/** One scripted exchange: the request expected and the recorded response given. */
interface Exchange {
  method: string;
  path: string;
  status: number;
  file: string;
}

/** A request as the server saw it. */
interface Seen {
  method: string;
  path: string;
  auth: string | null;
  body: Record<string, unknown> | null;
}

/** Serve `script` in order; returns the URL, what was asked, and a closer. */
function fakeApiServer(script: Exchange[]) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    seen.push({
      method: req.method,
      path: url.pathname,
      auth: req.headers.get("authorization"),
      body: text ? JSON.parse(text) : null,
    });
    const next = script.shift();
    if (!next || next.method !== req.method || next.path !== url.pathname) {
      return new Response(`unexpected ${req.method} ${url.pathname}`, { status: 500 });
    }
    const body = await Deno.readTextFile(new URL(`./testdata/k8s/${next.file}`, import.meta.url));
    return new Response(body, {
      status: next.status,
      headers: { "content-type": "application/json" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    left: script,
    close: () => server.shutdown(),
  };
}

const api = (server: string) => ({ server, token: () => Promise.resolve("sa-token-123") });

Deno.test("the Kubernetes lease reads, creates, renews and loses races like the API says", async () => {
  const srv = fakeApiServer([
    { method: "GET", path: `${LEASES}/tcfs-coordinator`, status: 404, file: "get_404.json" },
    { method: "POST", path: LEASES, status: 201, file: "post_201.json" },
    { method: "PUT", path: `${LEASES}/tcfs-coordinator`, status: 200, file: "put_200.json" },
    { method: "PUT", path: `${LEASES}/tcfs-coordinator`, status: 409, file: "put_409.json" },
    { method: "POST", path: LEASES, status: 409, file: "post_409.json" },
    { method: "GET", path: `${LEASES}/tcfs-coordinator`, status: 403, file: "get_403.json" },
  ]);
  try {
    const lease = new KubernetesLease(api(srv.url), "tcfs", "tcfs-coordinator");
    assert.equal(await lease.read(), null);

    const holder = "tcfs-coordinator-7f9c4d6b8-x2k4p-1-0a1b2c3d";
    const acquired = Date.parse("2025-03-04T10:15:02.104Z");
    const record = {
      holder,
      token: 1,
      acquiredMs: acquired,
      renewedMs: acquired,
      durationMs: 15_000,
    };
    const created = await lease.write(record, null);
    assert.deepEqual(created, { version: "48213", record });
    const post = srv.seen[1];
    assert.equal(post.auth, "Bearer sa-token-123");
    assert.deepEqual(post.body, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "tcfs-coordinator", namespace: "tcfs" },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 15,
        acquireTime: "2025-03-04T10:15:02.104000Z",
        renewTime: "2025-03-04T10:15:02.104000Z",
        leaseTransitions: 1,
      },
    });

    const renewedMs = Date.parse("2025-03-04T10:15:05.870Z");
    const renewed = await lease.write({ ...record, renewedMs }, "48213");
    assert.equal(renewed?.version, "48240");
    assert.equal(renewed?.record.renewedMs, renewedMs);
    const put = srv.seen[2].body as { metadata: Record<string, unknown> };
    // The update names the version it read and keeps the object's metadata.
    assert.equal(put.metadata.resourceVersion, "48213");
    assert.equal(put.metadata.uid, "5b0c6b8e-8d7e-4a59-9d1c-3f4a2e7c1d20");

    assert.equal(await lease.write({ ...record, renewedMs }, "48213"), null, "409 Conflict");
    assert.equal(await lease.write(record, null), null, "409 AlreadyExists");
    await assert.rejects(() => lease.read(), (err: Error) => {
      assert.ok(err instanceof LeaseError);
      assert.match(err.message, /Forbidden: .*cannot get resource "leases"/);
      assert.match(err.message, /needs get, create and update on leases/);
      return true;
    });
    assert.equal(srv.left.length, 0);
  } finally {
    await srv.close();
  }
});

Deno.test("an elector wins a term over the Kubernetes lease and releases it on stop", async () => {
  const srv = fakeApiServer([
    { method: "GET", path: `${LEASES}/tcfs-coordinator`, status: 404, file: "get_404.json" },
    { method: "POST", path: LEASES, status: 201, file: "post_201.json" },
    { method: "PUT", path: `${LEASES}/tcfs-coordinator`, status: 200, file: "put_200.json" },
  ]);
  try {
    const elector = new LeaderElector({
      store: new KubernetesLease(api(srv.url), "tcfs", "tcfs-coordinator"),
      identity: "tcfs-coordinator-7f9c4d6b8-x2k4p-1-0a1b2c3d",
      durationMs: 15_000,
      log: quiet,
    });
    const elected = new Promise<Leadership>((resolve) => elector.start(resolve));
    const term = await elected;
    assert.equal(term.token, 1);
    await elector.stop();
    assert.ok(term.signal.aborted);
    const release = srv.seen[2].body as {
      metadata: { resourceVersion: string };
      spec: { holderIdentity: string; leaseTransitions: number };
    };
    assert.equal(release.metadata.resourceVersion, "48213");
    assert.equal(release.spec.holderIdentity, "");
    assert.equal(release.spec.leaseTransitions, 1, "the token survives a release");
  } finally {
    await srv.close();
  }
});

Deno.test("in-cluster API access comes from the service account and the service env", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-sa-" });
  try {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    await assert.rejects(() => inClusterApi(env({}), dir), /not running in a Kubernetes pod/);
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=kubernetes",
        "-days",
        "1",
        "-keyout",
        `${dir}/ca.key`,
        "-out",
        `${dir}/ca.crt`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(made.success, "openssl made a CA certificate");
    const vars = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
    await assert.rejects(() => inClusterApi(env(vars), dir), /service account's namespace/);
    await Deno.writeTextFile(`${dir}/namespace`, "tcfs");
    await Deno.writeTextFile(`${dir}/token`, "eyJhbGciOi.first\n");
    const access = await inClusterApi(env(vars), dir);
    assert.equal(access.server, "https://10.96.0.1:443");
    assert.equal(access.namespace, "tcfs");
    assert.equal(await access.token(), "eyJhbGciOi.first");
    // The kubelet rotates the token: it is read afresh each time.
    await Deno.writeTextFile(`${dir}/token`, "eyJhbGciOi.second\n");
    assert.equal(await access.token(), "eyJhbGciOi.second");
    access.client?.close();
    const v6 = await inClusterApi(env({ ...vars, KUBERNETES_SERVICE_HOST: "fd00::1" }), dir);
    assert.equal(v6.server, "https://[fd00::1]:443");
    v6.client?.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MicroTime has six fractional digits", () => {
  assert.equal(microTime(Date.parse("2025-01-02T03:04:05.678Z")), "2025-01-02T03:04:05.678000Z");
});
