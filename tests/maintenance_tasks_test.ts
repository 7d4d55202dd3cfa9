/**
 * Coordinator, worker and daemon-side hooks as one system, with real
 * processes on a real nats-server and a file-backend repository:
 *
 * - a `tcfs coordinator` schedules compact, gc and scrub; a `tcfs worker`
 *   runs them: compaction writes a snapshot, gc (grace 0, trash 0) removes
 *   the chunks of a deleted file and keeps the live ones, scrub passes;
 * - after a failover, a gc task carrying the deposed leader's fencing token
 *   is dropped unrun (the deleted file's chunks stay), and one carrying the
 *   new leader's token runs;
 * - a hydration reported by a device (HydrationReporter over its
 *   StateEventLink) becomes a prefetch task, whose hint warms that device's
 *   chunk cache with the other file of the directory;
 * - a scrub that finds a corrupted chunk ends at once in the dead-letter
 *   stream naming it, and counts it in `tcfs_scrub_damaged_total`.
 */

import { connect, headers } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { stringify } from "yaml";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bytesOf, deleteFile, storeBytes } from "./fixtures/maint.ts";
import { createTestRepo } from "./fixtures/repo.ts";
import { scrapeSum } from "./fixtures/worker_fleet.ts";
import { type Daemon, freePort, Sandbox, startNats } from "./services/mod.ts";
import { ChunkCache } from "../lib/cache/mod.ts";
import { FENCE_TOKEN_HEADER } from "../lib/coord/mod.ts";
import {
  HydrationReporter,
  type PrefetchHint,
  prefetchWarmer,
  StateEventLink,
  type WarmReport,
} from "../lib/events/mod.ts";
import { Logger } from "../lib/log/mod.ts";
import {
  encodeTask,
  enqueueTask,
  listDeadLetters,
  newTask,
  type Task,
  taskSubject,
} from "../lib/queue/mod.ts";
import type { Namespace, Repository } from "../lib/repo/mod.ts";
import { chunkKey, SNAPSHOTS_PREFIX } from "../lib/repo/layout.ts";
import { FileStore, listAll } from "../lib/storage/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DEVICE = "00000000000000a1";
const LAPTOP = "00000000000000c3";
const quiet = new Logger({ level: "error", sink: () => {} });

/** JSON log lines of a process, read from its log file. */
function logLines(d: Daemon): { msg: string; [k: string]: unknown }[] {
  return Deno.readTextFileSync(d.logPath).split("\n").flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

async function chunkKeysOf(repo: Repository, ns: Namespace, path: string): Promise<string[]> {
  const m = await repo.manifestOf(ns.get(path) ?? ns.heads(path)[0]);
  assert(m.chunks.length > 0, `${path} is chunked`);
  return m.chunks.map((c) => chunkKey(c.id));
}

async function present(store: FileStore, keys: string[]): Promise<number> {
  let n = 0;
  for (const key of keys) if (await store.head(key)) n++;
  return n;
}

Deno.test({
  name: "coordinator schedules, worker runs maintenance, fences, prefetches and reports damage",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const nats = await startNats();
    const sandbox = await Sandbox.create("maint-tasks");
    const nc = await connect({ servers: nats.url });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const repoDir = `${sandbox.dir}/repo`;
    await Deno.mkdir(repoDir);
    const store = await FileStore.open(new URL(`file://${repoDir}`));
    let link: StateEventLink | undefined;
    let cache: ChunkCache | undefined;
    try {
      const { repo, identity } = await createTestRepo(store);
      const ns = await repo.refresh();
      for (const [i, path] of ["/keep/a.bin", "/keep/b.bin", "/gone.bin", "/later.bin"].entries()) {
        await storeBytes(repo, ns, DEVICE, path, bytesOf(i + 1, 20_000));
      }
      const keepKeys = [
        ...await chunkKeysOf(repo, ns, "/keep/a.bin"),
        ...await chunkKeysOf(repo, ns, "/keep/b.bin"),
      ];
      const goneKeys = await chunkKeysOf(repo, ns, "/gone.bin");
      const laterKeys = await chunkKeysOf(repo, ns, "/later.bin");
      await deleteFile(repo, ns, DEVICE, "/gone.bin");

      await Deno.writeTextFile(`${sandbox.dir}/identity.txt`, identity + "\n", { mode: 0o600 });
      const port = freePort();
      const configPath = `${sandbox.dir}/config.yaml`;
      await Deno.writeTextFile(
        configPath,
        stringify({
          repository: { url: `file://${repoDir}` },
          device: { identity_file: `${sandbox.dir}/identity.txt`, name: "worker" },
          state: { dir: `${sandbox.dir}/state` },
          nats: { url: nats.url },
          sync: { trash_days: 0 },
          worker: {
            metrics_listen: `127.0.0.1:${port}`,
            gc_grace_hours: 0,
            ack_wait_seconds: 5,
            retry_delay_seconds: 1,
            max_attempts: 3,
          },
          coordinator: {
            lease_seconds: 3,
            compact_seconds: 3600,
            gc_seconds: 3600,
            scrub_seconds: 3600,
          },
          log: { format: "json", level: "info" },
        }),
      );
      const spawn = (name: string, cmd: string) =>
        sandbox.spawn({
          name,
          command: Deno.execPath(),
          args: ["run", "-A", "--unstable-kv", "--unstable-net", MAIN, "--config", configPath, cmd],
          env: { HOME: sandbox.dir, NO_COLOR: "1" },
        });
      const worker = spawn("worker", "worker");
      const metricsUrl = `http://127.0.0.1:${port}`;
      await sandbox.waitUntil("the worker to be ready", async () => {
        const r = await fetch(`${metricsUrl}/readyz`);
        await r.body?.cancel();
        return r.ok;
      }, { timeoutMs: 60_000, watch: [worker] });
      const tasksDone = (kind: string, outcome: string) =>
        scrapeSum(metricsUrl, "tcfs_tasks_total", { kind, outcome });
      const elected = async (d: Daemon) => {
        await sandbox.waitUntil(
          `${d.name} to lead`,
          () => Promise.resolve(logLines(d).some((l) => l.msg === "elected leader")),
          {
            timeoutMs: 30_000,
            watch: [d],
          },
        );
        return logLines(d).find((l) => l.msg === "elected leader")!.term as number;
      };

      const first = spawn("coordinator-1", "coordinator");
      const oldToken = await elected(first);

      await t.step("scheduled compact, gc and scrub run to completion", async () => {
        await sandbox.waitUntil("compact, gc and scrub done", async () => {
          const done = await Promise.all(["compact", "gc", "scrub"].map((k) => tasksDone(k, "ok")));
          return done.every((n) => n === 1);
        }, { timeoutMs: 60_000, watch: [worker, first] });
        assertEquals(await present(store, goneKeys), 0, "the deleted file's chunks are swept");
        assertEquals(await present(store, keepKeys), keepKeys.length, "live chunks stay");
        assertEquals(await present(store, laterKeys), laterKeys.length);
        const snapshots = [];
        for await (const o of listAll(store, SNAPSHOTS_PREFIX)) snapshots.push(o.key);
        assert(snapshots.length > 0, "compaction wrote a snapshot");
        const compacted = logLines(worker).find((l) => l.msg === "compacted");
        assertEquals(compacted?.written, true);
      });

      await t.step("a task of a deposed leader is dropped; the new leader's runs", async () => {
        first.signal("SIGTERM"); // releases the lease
        await first.exited;
        const second = spawn("coordinator-2", "coordinator");
        const newToken = await elected(second);
        assert(newToken > oldToken, `token ${oldToken} -> ${newToken}`);
        await deleteFile(repo, ns, DEVICE, "/later.bin");

        const publishGc = async (token: number) => {
          const task: Task<"gc"> = {
            ...await newTask("gc", {}),
            id: crypto.randomUUID().replaceAll("-", ""),
          };
          const h = headers();
          h.set(FENCE_TOKEN_HEADER, String(token));
          await js.publish(taskSubject("gc"), encodeTask(task), { msgID: task.id, headers: h });
        };
        await publishGc(oldToken);
        await sandbox.waitUntil(
          "the stale gc task dropped",
          async () => await tasksDone("gc", "fenced") === 1,
          { timeoutMs: 30_000, watch: [worker] },
        );
        assertEquals(await tasksDone("gc", "ok"), 1, "the stale task did not run");
        assertEquals(await present(store, laterKeys), laterKeys.length, "nothing swept");
        assert(
          logLines(worker).some((l) =>
            l.msg === "task dropped: it comes from a deposed coordinator"
          ),
        );

        await publishGc(newToken);
        await sandbox.waitUntil(
          "the current gc task done",
          async () => await tasksDone("gc", "ok") === 2,
          { timeoutMs: 30_000, watch: [worker] },
        );
        assertEquals(await present(store, laterKeys), 0, "the current leader's gc swept");
        assertEquals(await present(store, keepKeys), keepKeys.length);
        second.signal("SIGTERM");
        await second.exited;
      });

      await t.step(
        "a hydration turns into a prefetch hint that warms the device's cache",
        async () => {
          cache = await ChunkCache.open(repo, { dir: `${sandbox.dir}/cache`, maxBytes: 1 << 30 });
          const warmed: { hint: PrefetchHint; report: WarmReport }[] = [];
          link = StateEventLink.start({
            url: nats.url,
            device: LAPTOP,
            repo,
            log: quiet,
            onEvent: () => {},
            onPrefetchHint: prefetchWarmer(cache, {
              onWarmed: (hint, report) => warmed.push({ hint, report }),
            }),
          });
          await sandbox.waitUntil("the device link", () => Promise.resolve(link!.connected), {
            timeoutMs: 10_000,
            watch: [worker],
          });
          new HydrationReporter({ repo, device: LAPTOP, sink: link }).report({
            path: "/keep/a.bin",
            bytes: 20_000,
            ms: 40,
            outcome: "ok",
          });
          await sandbox.waitUntil("a warmed hint", () => Promise.resolve(warmed.length > 0), {
            timeoutMs: 30_000,
            watch: [worker],
          });
          const [{ hint, report }] = warmed;
          assertEquals(hint.device, LAPTOP);
          assertEquals(hint.paths, ["/keep/a.bin", "/keep/b.bin"]);
          assertEquals(report, { warmed: keepKeys.length, failed: 0 });
          assertEquals(cache.stats().entries, keepKeys.length);
          assertEquals(await tasksDone("prefetch", "ok"), 1);
        },
      );

      await t.step("a scrub that finds damage is dead-lettered at once and counted", async () => {
        const damagedKey = keepKeys[0];
        await store.put(damagedKey, bytesOf(99, 300));
        assert(await enqueueTask(js, await newTask("scrub", { sample: 1 })));
        await sandbox.waitUntil(
          "the scrub's dead letter",
          async () => (await listDeadLetters(jsm)).some((d) => d.task?.kind === "scrub"),
          {
            timeoutMs: 30_000,
            watch: [worker],
          },
        );
        const letter = (await listDeadLetters(jsm)).find((d) => d.task?.kind === "scrub")!;
        assertEquals(letter.attempts, 1, "not retried");
        assertMatch(letter.error, new RegExp(`scrub found 1 damaged object\\(s\\): ${damagedKey}`));
        assertEquals(await scrapeSum(metricsUrl, "tcfs_scrub_damaged_total"), 1);
        const logged = logLines(worker).find((l) => l.msg === "scrub found damage");
        assertEquals(logged?.paths, ["/keep/a.bin"]);
      });

      worker.signal("SIGTERM");
      const status = await worker.exited;
      assertEquals(status.code, 0, worker.logTail());
    } finally {
      await link?.close();
      await cache?.close();
      await nc.close();
      await sandbox.close(2_000);
      await store.close();
      await nats.stop();
    }
  },
});
