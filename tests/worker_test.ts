/**
 * Scale-out acceptance (issue 8) against a real nats-server and a real Ceph
 * RGW, with real `tcfs worker` processes:
 *
 * - 20,000 plain objects are ingested by three workers, one of which is
 *   SIGKILLed mid-way: every object ends up in the repository exactly once
 *   with its bytes, the task stream is empty, nothing is dead-lettered, and
 *   the killed worker's tasks were delivered again;
 * - a task that always fails lands in the dead-letter stream with its error
 *   after the configured number of attempts;
 * - SIGTERM stops the remaining workers cleanly (exit 0).
 */

import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { createTestRepo } from "./fixtures/repo.ts";
import {
  type FleetSpec,
  type FleetWorker,
  putSourceObjects,
  scrapeSum,
  sourceKey,
  sourceObject,
  startWorker,
  TEST_QUEUE_SETTINGS,
} from "./fixtures/worker_fleet.ts";
import { Sandbox, startCephRgw, startNats } from "./services/mod.ts";
import { pull } from "../lib/engine/mod.ts";
import { Repository } from "../lib/repo/mod.ts";
import { openStore, type S3Options } from "../lib/storage/mod.ts";
import {
  enqueueIngest,
  enqueueTask,
  ensureStreams,
  listDeadLetters,
  newTask,
  type QueueSettings,
  queueStatus,
} from "../lib/queue/mod.ts";

const OBJECTS = 20_000;
const BATCH = 250;
const MAX_ATTEMPTS = 3;
const SETTINGS: QueueSettings = { ...TEST_QUEUE_SETTINGS, maxAttempts: MAX_ATTEMPTS };

Deno.test({
  name: "three workers ingest 20,000 objects exactly once despite a SIGKILL; failures dead-letter",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const [s3, nats] = await Promise.all([startCephRgw(), startNats()]);
    const sandbox = await Sandbox.create("workers");
    const nc = await connect({ servers: nats.url });
    const workers: FleetWorker[] = [];
    try {
      await s3.createBucket("repo");
      await s3.createBucket("source");
      const s3opts: S3Options = {
        endpoint: s3.endpoint,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      };
      const source = await openStore("s3://source/in", s3opts);
      const repoStore = await openStore("s3://repo", s3opts);
      const [{ identity }] = await Promise.all([
        createTestRepo(repoStore),
        putSourceObjects(source, OBJECTS),
      ]);
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await ensureStreams(jsm, SETTINGS);
      await ensureStreams(jsm, SETTINGS); // idempotent

      const spec: FleetSpec = {
        sandbox,
        s3,
        nats,
        repoUrl: "s3://repo",
        identity,
        worker: {
          concurrency: 2,
          ack_wait_seconds: SETTINGS.ackWaitMs / 1000,
          max_attempts: MAX_ATTEMPTS,
          retry_delay_seconds: 1,
        },
      };
      workers.push(...await Promise.all(["w0", "w1", "w2"].map((n) => startWorker(spec, n))));

      await t.step("ingest survives a SIGKILLed worker", async () => {
        const queued = await enqueueIngest(js, {
          source,
          sourceUrl: "s3://source/in",
          to: "/ingested",
          batch: BATCH,
        });
        assertEquals(queued.objects, OBJECTS);
        assertEquals(queued.tasks, OBJECTS / BATCH);
        // Enqueueing the same ingest again adds nothing (task ids come from their content).
        const again = await enqueueIngest(js, {
          source,
          sourceUrl: "s3://source/in",
          to: "/ingested",
          batch: BATCH,
        });
        assertEquals(again.duplicates, again.tasks);

        // Kill w0 while it holds tasks, about a third of the way in.
        await sandbox.waitUntil("a third of the tasks done, w0 busy", async () => {
          const s = await queueStatus(jsm);
          const busy = await scrapeSum(workers[0].metricsUrl, "tcfs_tasks_total") > 0;
          return busy && s.tasks <= (OBJECTS / BATCH) * 2 / 3 && s.running > 0;
        }, { timeoutMs: 120_000, watch: workers.map((w) => w.daemon) });
        workers[0].daemon.killSync();
        await workers[0].daemon.exited;

        await sandbox.waitUntil("the task stream to empty", async () => {
          const s = await queueStatus(jsm);
          return s.tasks === 0 && s.running === 0;
        }, { timeoutMs: 150_000, watch: workers.slice(1).map((w) => w.daemon) });

        const status = await queueStatus(jsm);
        assertEquals(status.deadLetters, 0, JSON.stringify(await listDeadLetters(jsm)));
        // The consumer forgets redeliveries once they are acknowledged; the survivors count them.
        let redeliveries = 0;
        for (const w of workers.slice(1)) {
          redeliveries += await scrapeSum(w.metricsUrl, "tcfs_task_redeliveries_total", {
            kind: "ingest",
          });
        }
        assert(redeliveries > 0, "the killed worker's tasks were delivered again");

        // Every object exactly once, with its bytes.
        const repo = await Repository.open(repoStore, { identities: [identity] });
        const ns = await repo.refresh();
        let files = 0;
        for (const e of ns.walk("/ingested")) if (e.kind === "file") files++;
        assertEquals(files, OBJECTS);
        for (let i = 0; i < OBJECTS; i++) {
          const heads = ns.heads(`/ingested/${sourceKey(i)}`);
          assertEquals(heads.length, 1, sourceKey(i));
        }
        assert(ns.devices().length >= 2, "more than one worker committed");
        const local = await Deno.makeTempDir({ prefix: "tcfs-ingested-" });
        try {
          const pulled = await pull(repo, { remote: "/ingested", local, concurrency: 16 });
          assertEquals(pulled.files, OBJECTS);
          for (let i = 0; i < OBJECTS; i++) {
            const got = await Deno.readFile(`${local}/${sourceKey(i)}`);
            assertEquals(got, sourceObject(i), sourceKey(i));
          }
        } finally {
          await Deno.remove(local, { recursive: true });
        }
      });

      await t.step("a task that always fails ends in the dead-letter stream", async () => {
        // Listed, then gone: every attempt fails with the source's not-found.
        const task = await newTask("ingest", {
          source: "s3://source/in",
          to: "/ingested",
          objects: [{ key: "vanished/object.bin", size: 10, mtime: 1 }],
        });
        assert(await enqueueTask(js, task));
        await sandbox.waitUntil("a dead letter", async () => {
          const s = await queueStatus(jsm);
          return s.deadLetters === 1 && s.tasks === 0;
        }, { timeoutMs: 60_000, watch: workers.slice(1).map((w) => w.daemon) });
        const [letter] = await listDeadLetters(jsm);
        assertEquals(letter.task?.id, task.id);
        assertEquals(letter.attempts, MAX_ATTEMPTS);
        assertMatch(letter.error, /vanished\/object\.bin/);
        assertEquals(letter.errorKind, "internal");
        let dead = 0;
        for (const w of workers.slice(1)) {
          dead += await scrapeSum(w.metricsUrl, "tcfs_dead_letters_total", { kind: "ingest" });
        }
        assertEquals(dead, 1);
      });

      await t.step("SIGTERM stops the workers cleanly", async () => {
        for (const w of workers.slice(1)) w.daemon.signal("SIGTERM");
        for (const w of workers.slice(1)) {
          const status = await w.daemon.exited;
          assertEquals(status.code, 0, w.daemon.logTail(20));
        }
      });
      await source.close();
      await repoStore.close();
    } catch (err) {
      for (const w of workers) console.error(`--- ${w.daemon.name}\n${w.daemon.logTail(30)}`);
      console.error(nats.logTail(20));
      throw err;
    } finally {
      await nc.close();
      await sandbox.close();
      await Promise.all([s3.stop(), nats.stop()]);
    }
  },
});
