/**
 * Scale-out ingest throughput (issue 8): a source bucket of small plain
 * objects on a real Ceph RGW is ingested into a fresh encrypted repository
 * by 1, 2 and 3 real `tcfs worker` processes on a real nats-server, in one
 * run. Each round times from the first published task to the empty stream
 * (workers are started and ready before), and reads the CPU seconds that
 * the workers, radosgw + OSD and nats-server used meanwhile from
 * `/proc/<pid>/stat`, which shows where the time goes.
 *
 * Run: `deno run -A --unstable-kv --unstable-net bench/ingest.ts [--objects 10000]
 * [--batch 250] [--concurrency 2] [--json]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createTestRepo } from "../tests/fixtures/repo.ts";
import {
  type FleetWorker,
  putSourceObjects,
  startWorker,
  TEST_QUEUE_SETTINGS,
} from "../tests/fixtures/worker_fleet.ts";
import { Sandbox, startCephRgw, startNats } from "../tests/services/mod.ts";
import { enqueueIngest, ensureStreams, queueStatus } from "../lib/queue/mod.ts";
import { openStore, type S3Options } from "../lib/storage/mod.ts";
import { cpuSeconds } from "./cpu.ts";

const args = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    batch: { type: "string", default: "250" },
    concurrency: { type: "string", default: "2" },
    json: { type: "boolean", default: false },
  },
});
const OBJECTS = Number(args.values.objects);
const BATCH = Number(args.values.batch);
const CONCURRENCY = Number(args.values.concurrency);
const say = (s: string) => console.error(s);

/** One round's figures. */
interface Round {
  workers: number;
  seconds: number;
  objectsPerSecond: number;
  mbPerSecond: number;
  /** CPU seconds per wall second, per component (1.0 = one core busy). */
  cores: { workers: number; rgw: number; nats: number };
  load: number;
}

const [s3, nats] = await Promise.all([startCephRgw(), startNats()]);
const sandbox = await Sandbox.create("bench-ingest");
const nc = await connect({ servers: nats.url });
const rounds: Round[] = [];
try {
  const s3opts: S3Options = {
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  };
  await s3.createBucket("source");
  const source = await openStore("s3://source", s3opts);
  const t0 = performance.now();
  const bytes = await putSourceObjects(source, OBJECTS);
  say(
    `source: ${OBJECTS} objects, ${(bytes / 1e6).toFixed(1)} MB, put in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const settings = { ...TEST_QUEUE_SETTINGS, ackWaitMs: 30_000, maxAttempts: 5 };
  await ensureStreams(jsm, settings);

  for (const n of [1, 2, 3]) {
    const bucket = `repo-${n}`;
    await s3.createBucket(bucket);
    const repoStore = await openStore(`s3://${bucket}`, s3opts);
    const { identity } = await createTestRepo(repoStore);
    await repoStore.close();
    const spec = {
      sandbox,
      s3,
      nats,
      repoUrl: `s3://${bucket}`,
      identity,
      worker: { concurrency: CONCURRENCY, ack_wait_seconds: 30 },
    };
    const workers: FleetWorker[] = await Promise.all(
      Array.from({ length: n }, (_, i) => startWorker(spec, `r${n}-w${i}`)),
    );
    const workerPids = workers.map((w) => w.daemon.pid);
    const load = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
    const cpu0 = [cpuSeconds(workerPids), cpuSeconds(s3.pids), cpuSeconds([nats.pid])];
    const start = performance.now();
    await enqueueIngest(js, { source, sourceUrl: "s3://source", to: `/r${n}`, batch: BATCH });
    await sandbox.waitUntil("the stream to empty", async () => {
      const s = await queueStatus(jsm);
      return s.tasks === 0 && s.running === 0;
    }, { timeoutMs: 30 * 60_000, watch: workers.map((w) => w.daemon) });
    const seconds = (performance.now() - start) / 1000;
    const cpu1 = [cpuSeconds(workerPids), cpuSeconds(s3.pids), cpuSeconds([nats.pid])];
    const status = await queueStatus(jsm);
    if (status.deadLetters > 0) throw new Error(`${status.deadLetters} dead letters`);
    rounds.push({
      workers: n,
      seconds,
      objectsPerSecond: OBJECTS / seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      cores: {
        workers: (cpu1[0] - cpu0[0]) / seconds,
        rgw: (cpu1[1] - cpu0[1]) / seconds,
        nats: (cpu1[2] - cpu0[2]) / seconds,
      },
      load,
    });
    const r = rounds.at(-1)!;
    say(
      `${n} worker(s): ${seconds.toFixed(1)} s, ${r.objectsPerSecond.toFixed(0)} objects/s, ` +
        `${r.mbPerSecond.toFixed(2)} MB/s; cores busy: workers ${r.cores.workers.toFixed(2)}, ` +
        `rgw+osd ${r.cores.rgw.toFixed(2)}, nats ${r.cores.nats.toFixed(2)} (load ${load})`,
    );
    for (const w of workers) await w.daemon.stop(20_000);
  }
  await source.close();
} finally {
  await nc.close();
  await sandbox.close();
  await Promise.all([s3.stop(), nats.stop()]);
}

const base = rounds[0].objectsPerSecond;
if (args.values.json) {
  console.log(JSON.stringify({ objects: OBJECTS, batch: BATCH, concurrency: CONCURRENCY, rounds }));
} else {
  console.log(
    `ingest of ${OBJECTS} objects (100-2000 B), batch ${BATCH}, ` +
      `${CONCURRENCY} tasks per worker, ${navigator.hardwareConcurrency} cores`,
  );
  console.log("workers  seconds  objects/s  MB/s   speedup  cores: workers  rgw+osd  nats");
  for (const r of rounds) {
    console.log(
      `${String(r.workers).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}  ` +
        `${r.objectsPerSecond.toFixed(0).padStart(9)}  ${r.mbPerSecond.toFixed(2).padStart(5)}  ` +
        `${(r.objectsPerSecond / base).toFixed(2).padStart(7)}  ` +
        `${r.cores.workers.toFixed(2).padStart(14)}  ${r.cores.rgw.toFixed(2).padStart(7)}  ` +
        `${r.cores.nats.toFixed(2).padStart(4)}`,
    );
  }
}
