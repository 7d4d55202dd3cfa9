import assert from "node:assert/strict";
import {
  ConfigError,
  IntegrityError,
  KeyError,
  NotFoundError,
  NotImplementedError,
  StorageError,
  UsageError,
} from "../errors.ts";
import { FileStore } from "../storage/file.ts";
import { listAll } from "../storage/store.ts";
import { VERSION } from "../version.ts";
import { renderMetricsDocs } from "./docs.ts";
import {
  createTcfsMetrics,
  errorKind,
  grpcCodeName,
  instrumentStore,
  observeGrpc,
  recordError,
  recordStoreOperation,
  STORAGE_SECONDS_BUCKETS,
  VERSION_PATTERN,
} from "./tcfs_metrics.ts";

Deno.test("instrumentStore feeds requests, bytes and latency from real store operations", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-metrics-" });
  try {
    const metrics = createTcfsMetrics();
    const store = instrumentStore(await FileStore.open(dir), metrics);
    for (let i = 0; i < 3; i++) await store.put(`k/${i}`, new Uint8Array(1000 + i));
    assert.equal(await store.putIfAbsent("k/0", new Uint8Array(5)), false);
    assert.equal((await store.get("k/1", { offset: 10, length: 300 })).length, 300);
    await assert.rejects(store.get("missing"), NotFoundError);
    assert.equal(await store.head("missing"), null);
    let listed = 0;
    for await (const _ of listAll(store, "k/", { pageSize: 2 })) listed++;
    assert.equal(listed, 3);
    await store.delete("k/2");
    await store.close();

    const req = (op: Parameters<typeof metrics.storageRequests.value>[0]) =>
      metrics.storageRequests.value(op);
    assert.equal(req({ op: "put", outcome: "ok" }), 3);
    assert.equal(req({ op: "putIfAbsent", outcome: "ok" }), 1);
    assert.equal(req({ op: "get", outcome: "ok" }), 1);
    assert.equal(req({ op: "get", outcome: "error" }), 1);
    assert.equal(req({ op: "head", outcome: "ok" }), 1);
    assert.equal(req({ op: "list", outcome: "ok" }), 2);
    assert.equal(req({ op: "delete", outcome: "ok" }), 1);
    // The putIfAbsent that found the key still sent its body; the failed get moved nothing.
    assert.equal(metrics.storageBytes.value({ direction: "up" }), 1000 + 1001 + 1002 + 5);
    assert.equal(metrics.storageBytes.value({ direction: "down" }), 300);
    const gets = metrics.storageRequestSeconds.snapshot({ op: "get" });
    assert.equal(gets.count, 2);
    assert.equal(gets.buckets.length, STORAGE_SECONDS_BUCKETS.length + 1);
    assert.equal(gets.buckets.at(-1)?.count, 2);
    assert.ok(gets.sum >= 0);
    assert.equal(store.count("put"), 3); // still a CountingStore for request budgets
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed upload counts as an error and moves no bytes", () => {
  const metrics = createTcfsMetrics();
  recordStoreOperation(metrics, { op: "put", ok: false, bytes: 4096, durationMs: 2500 });
  recordStoreOperation(metrics, { op: "get", ok: true, bytes: 10, durationMs: 1 });
  assert.equal(metrics.storageRequests.value({ op: "put", outcome: "error" }), 1);
  assert.equal(metrics.storageBytes.value({ direction: "up" }), 0);
  assert.equal(metrics.storageBytes.value({ direction: "down" }), 10);
  const puts = metrics.storageRequestSeconds.snapshot({ op: "put" });
  assert.equal(puts.sum, 2.5);
  // 2.5 s lands in the 2.5 bucket (bounds are inclusive), not below it.
  assert.deepEqual(
    puts.buckets.filter((b) => b.le >= 1 && b.le <= 5),
    [{ le: 1, count: 0 }, { le: 2.5, count: 1 }, { le: 5, count: 1 }],
  );
});

Deno.test("errors are classified by class, never by message", () => {
  const cases: Array<[unknown, string]> = [
    [new UsageError("bad flag"), "usage"],
    [new ConfigError("x"), "config"],
    [new NotFoundError("x"), "not_found"],
    [new IntegrityError("x"), "integrity"],
    [new KeyError("x"), "key"],
    [new StorageError("x"), "storage"],
    [new NotImplementedError("x"), "not_implemented"],
    [new TypeError("storage failed"), "internal"],
    ["a string", "internal"],
  ];
  for (const [error, kind] of cases) assert.equal(errorKind(error), kind);
  const metrics = createTcfsMetrics();
  assert.equal(recordError(metrics, new StorageError("s3://secret@host down")), "storage");
  recordError(metrics, new Error("boom"));
  assert.equal(metrics.errors.value({ kind: "storage" }), 1);
  assert.equal(metrics.errors.value({ kind: "internal" }), 1);
  assert.ok(!metrics.registry.expose().includes("secret@host"));
});

Deno.test("gRPC calls are labelled by bare method name and status code name", () => {
  const metrics = createTcfsMetrics();
  observeGrpc(metrics, "/tcfs.v1.Daemon/Push", 0, 0.002);
  observeGrpc(metrics, "Push", "OK", 0.004);
  observeGrpc(metrics, "Status", 14, 0.5);
  assert.equal(grpcCodeName(16), "UNAUTHENTICATED");
  assert.equal(grpcCodeName(99), "UNKNOWN");
  const push = metrics.grpcRequestSeconds.snapshot({ method: "Push", code: "OK" });
  assert.equal(push.count, 2);
  assert.equal(
    metrics.grpcRequestSeconds.snapshot({ method: "Status", code: "UNAVAILABLE" }).count,
    1,
  );
  // A path or anything else that is not a method name is refused.
  assert.throws(() => observeGrpc(metrics, "/tcfs/../etc/passwd?", 0, 1), RangeError);
  assert.throws(() => observeGrpc(metrics, "", 0, 1), RangeError);
});

Deno.test("process and build metrics: start time, RSS read at scrape, build_info 1", () => {
  const metrics = createTcfsMetrics();
  assert.match(VERSION, VERSION_PATTERN);
  const text = metrics.registry.expose();
  assert.match(text, new RegExp(`^tcfs_build_info\\{version="${VERSION}"\\} 1$`, "m"));
  const start = Number(text.match(/^process_start_time_seconds (\S+)$/m)?.[1]);
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600, String(start));
  const rss = Number(text.match(/^process_resident_memory_bytes (\S+)$/m)?.[1]);
  assert.ok(rss > 1024 * 1024, `rss ${rss}`);
  // Read at scrape time: a large allocation shows up in the next exposition.
  const before = metrics.residentMemory.value();
  const ballast = new Uint8Array(64 * 1024 * 1024).fill(1);
  metrics.registry.expose();
  assert.ok(metrics.residentMemory.value() >= before + 32 * 1024 * 1024);
  assert.equal(ballast[ballast.length - 1], 1);
});

Deno.test("docs/METRICS.md is the reference generated from the metric declarations", async () => {
  const onDisk = await Deno.readTextFile(new URL("../../docs/METRICS.md", import.meta.url));
  assert.equal(
    onDisk,
    renderMetricsDocs(),
    "docs/METRICS.md is stale: run `deno run -A lib/metrics/docs.ts`",
  );
  for (const m of createTcfsMetrics().registry.describe()) {
    assert.match(onDisk, new RegExp(`^\\| \`${m.name}\` +\\| ${m.type} +\\|`, "m"), m.name);
  }
  // The whole-tree `deno fmt --check` must not want to rewrite the generated file.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", new URL("../../docs/METRICS.md", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(fmt.code, 0, new TextDecoder().decode(fmt.stderr));
});
