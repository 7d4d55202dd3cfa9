import { connect, headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { TEST_QUEUE_SETTINGS } from "../../tests/fixtures/worker_fleet.ts";
import { startNats } from "../../tests/services/mod.ts";
import { Logger } from "../log/mod.ts";
import { createTcfsMetrics } from "../metrics/mod.ts";
import { enqueueTask } from "./enqueue.ts";
import { listDeadLetters, queueStatus } from "./status.ts";
import {
  DEAD_LETTER_STREAM,
  ensureStreams,
  STATE_STREAM,
  TASKS_STREAM,
  WORKER_CONSUMER,
} from "./streams.ts";
import { FencedOutError } from "../errors.ts";
import {
  decodeTask,
  encodeTask,
  MalformedTaskError,
  newTask,
  PermanentTaskError,
  type TaskHandlers,
} from "./task.ts";
import { runWorker, type WorkerOptions } from "./worker.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

async function withQueue(
  fn: (q: Awaited<ReturnType<typeof open>>) => Promise<void>,
): Promise<void> {
  await using nats = await startNats();
  const q = await open(nats.url);
  try {
    await fn(q);
  } finally {
    await q.nc.close();
  }
}

async function open(url: string) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, TEST_QUEUE_SETTINGS);
  return { nc, jsm, js: jetstream(nc) };
}

/** Run a worker until `until` holds, then stop it; returns its summary. */
async function workUntil(
  opts: Omit<WorkerOptions, "signal" | "log" | "worker">,
  until: () => Promise<boolean>,
) {
  const stop = new AbortController();
  const running = runWorker({ ...opts, signal: stop.signal, log: quiet, worker: "test" });
  for (let i = 0; i < 300 && !(await until()); i++) await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  return await running;
}

Deno.test("task envelopes round-trip; ids follow content; malformed ones are refused", async () => {
  const payload = { source: "s3://b/p", to: "/x", objects: [{ key: "a", size: 1, mtime: 2 }] };
  const a = await newTask("ingest", payload);
  const b = await newTask("ingest", structuredClone(payload));
  assertEquals(a.id, b.id);
  assert(a.id !== (await newTask("ingest", { ...payload, to: "/y" })).id);
  assertEquals(decodeTask(encodeTask(a)), a);
  const bad = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  for (
    const body of [
      new Uint8Array([0xff]),
      bad({ ...a, v: 2 }),
      bad({ ...a, kind: "mine-bitcoin" }),
      bad({ ...a, payload: { ...payload, objects: [{ key: "", size: 1, mtime: 1 }] } }),
      bad({ ...a, kind: "prefetch", payload: { paths: [] } }),
    ]
  ) {
    try {
      decodeTask(body);
      assert(false, "accepted a malformed task");
    } catch (err) {
      assert(err instanceof MalformedTaskError, String(err));
    }
  }
});

Deno.test("ensureStreams creates every stream on nats-server 2.9 and updates settings", async () => {
  await withQueue(async ({ jsm }) => {
    const tasks = await jsm.streams.info(TASKS_STREAM);
    assertEquals(tasks.config.retention, RetentionPolicy.Workqueue);
    assertEquals(tasks.config.subjects, ["tasks.>"]);
    assertEquals((await jsm.streams.info(DEAD_LETTER_STREAM)).config.retention, "limits");
    assertEquals((await jsm.streams.info(STATE_STREAM)).config.subjects, ["STATE.>"]);
    let consumer = await jsm.consumers.info(TASKS_STREAM, WORKER_CONSUMER);
    assertEquals(consumer.config.max_deliver, TEST_QUEUE_SETTINGS.maxAttempts + 1);
    // Running it again with new settings updates in place.
    await ensureStreams(jsm, { ...TEST_QUEUE_SETTINGS, ackWaitMs: 9_000, stateMaxAgeMs: 7200_000 });
    consumer = await jsm.consumers.info(TASKS_STREAM, WORKER_CONSUMER);
    assertEquals(consumer.config.ack_wait, 9_000_000_000);
    assertEquals((await jsm.streams.info(STATE_STREAM)).config.max_age, 7200_000_000_000);
  });
});

Deno.test("failing tasks are retried, then dead-lettered with their error; bad ones at once", async () => {
  await withQueue(async ({ js, jsm, nc }) => {
    const metrics = createTcfsMetrics();
    let runs = 0;
    const handlers: TaskHandlers = {
      gc: () => {
        runs++;
        return Promise.reject(new Error("disk on fire"));
      },
    };
    const task = await newTask("gc", { graceSeconds: 1 });
    assert(await enqueueTask(js, task));
    assert(!(await enqueueTask(js, task)), "the same task again is a duplicate");
    nc.publish("tasks.gc", "not json");
    const summary = await workUntil(
      { js, handlers, concurrency: 2, maxAttempts: 3, ackWaitMs: 5_000, retryDelayMs: 20, metrics },
      async () => (await queueStatus(jsm)).deadLetters === 2,
    );
    assertEquals(runs, 3);
    assertEquals(summary.failed, 3);
    assertEquals(summary.deadLettered, 2);
    const letters = await listDeadLetters(jsm);
    const letter = letters.find((l) => l.task?.id === task.id)!;
    assertEquals(letter.attempts, 3);
    assertEquals(letter.error, "disk on fire");
    const malformed = letters.find((l) => l.task === null)!;
    assertEquals(malformed.raw, "not json");
    assertMatch(malformed.error, /not valid UTF-8 JSON/);
    assertEquals((await queueStatus(jsm)).tasks, 0);
    assertEquals(metrics.deadLetters.value({ kind: "gc" }), 1);
    assertEquals(metrics.taskRedeliveries.value({ kind: "gc" }), 2);
    assertEquals(metrics.tasks.value({ kind: "gc", outcome: "error" }), 3);
  });
});

Deno.test("fenced-out tasks are dropped unretried; permanent failures dead-letter at once", async () => {
  await withQueue(async ({ js, jsm }) => {
    const metrics = createTcfsMetrics();
    const seen: string[] = [];
    const handlers: TaskHandlers = {
      compact: (_task, ctx) => {
        seen.push(`compact ${ctx.headers?.get("Tcfs-Fence-Token")}`);
        return Promise.reject(new FencedOutError("token 1 is stale"));
      },
      scrub: () => {
        seen.push("scrub");
        return Promise.reject(new PermanentTaskError("scrub found 1 damaged object(s)"));
      },
    };
    const compact = await newTask("compact", {});
    const h = headers();
    h.set("Tcfs-Fence-Token", "1");
    await js.publish("tasks.compact", encodeTask(compact), { msgID: compact.id, headers: h });
    assert(await enqueueTask(js, await newTask("scrub", {})));
    const summary = await workUntil(
      { js, handlers, concurrency: 2, maxAttempts: 3, ackWaitMs: 5_000, retryDelayMs: 20, metrics },
      async () => {
        const s = await queueStatus(jsm);
        return s.deadLetters === 1 && s.tasks === 0;
      },
    );
    assertEquals(seen.sort(), ["compact 1", "scrub"], "each ran once");
    assertEquals(summary.fenced, 1);
    assertEquals(summary.deadLettered, 1);
    assertEquals(metrics.tasks.value({ kind: "compact", outcome: "fenced" }), 1);
    const [letter] = await listDeadLetters(jsm);
    assertEquals(letter.task?.kind, "scrub");
    assertEquals(letter.attempts, 1);
    assertEquals(letter.errorKind, "integrity");
  });
});

Deno.test("a stopping worker hands back the task it cannot finish; another completes it", async () => {
  await withQueue(async ({ js, jsm }) => {
    const task = await newTask("scrub", { sample: 0.5 });
    await enqueueTask(js, task);
    let started = false;
    const stuck: TaskHandlers = {
      scrub: (_t, ctx) =>
        new Promise((_resolve, reject) => {
          started = true;
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    };
    const stop = new AbortController();
    const first = runWorker({
      js,
      handlers: stuck,
      concurrency: 1,
      maxAttempts: 3,
      ackWaitMs: 60_000,
      retryDelayMs: 60_000,
      worker: "a",
      log: quiet,
      signal: stop.signal,
      stopGraceMs: 100,
    });
    while (!started) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    assertEquals((await first).returned, 1);
    // Handed back at once (not after the 60 s ack wait or retry delay).
    let done = 0;
    const second = await workUntil({
      js,
      handlers: { scrub: () => Promise.resolve(void done++) },
      concurrency: 1,
      maxAttempts: 3,
      ackWaitMs: 60_000,
      retryDelayMs: 60_000,
    }, () => Promise.resolve(done === 1));
    assertEquals(second.ok, 1);
    assertEquals((await queueStatus(jsm)).tasks, 0);
  });
});
