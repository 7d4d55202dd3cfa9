/**
 * Hydration events and prefetch hints through a daemon's FUSE mount, with a
 * real nats-server (its streams made as workers make them) and a file
 * repository: `cat` of a stub and `tcfs hydrate` of one are counted in the
 * daemon's metrics and published to `HYDRATION_EVENTS`; a prefetch hint a
 * worker would send warms the daemon's chunk cache, so the file is local
 * (listed under its real name) and reading it fetches nothing; a failed
 * hydration is counted as an error and not published.
 */

import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { assert, assertEquals } from "./assert.ts";
import { makeDevice } from "./fixtures/device.ts";
import { startDaemon, type TestDaemon } from "./fixtures/daemon.ts";
import { scrapeSum } from "./fixtures/worker_fleet.ts";
import { assertFuseAvailable, freePort, startNats } from "./services/mod.ts";
import {
  decodeHydrationEvent,
  encodePrefetchHint,
  type HydrationEvent,
  hydrationSubject,
  type PrefetchHint,
  prefetchHintSubject,
  stateSubject,
} from "../lib/events/mod.ts";
import { isMounted } from "../lib/fuse/mount.ts";
import { sh, shOk } from "../lib/fuse/testing/harness.ts";
import { ensureStreams, HYDRATION_STREAM, type QueueSettings } from "../lib/queue/mod.ts";
import { Repository } from "../lib/repo/mod.ts";
import { chunkKey, packKey } from "../lib/repo/layout.ts";
import { openStore } from "../lib/storage/mod.ts";

const MIB = 1024 * 1024;
const HOUR_MS = 3600_000;
const SETTINGS: QueueSettings = {
  replicas: 1,
  hydrationMaxAgeMs: HOUR_MS,
  stateMaxAgeMs: HOUR_MS,
  deadLetterMaxAgeMs: HOUR_MS,
  ackWaitMs: 5_000,
  maxAttempts: 3,
};

/** Wait until `check` holds (10 s at most). */
async function untilTrue(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The next message on `subject` (10 s at most). */
async function nextMessage(nc: NatsConnection, subject: string): Promise<Msg> {
  const sub = nc.subscribe(subject, { max: 1, timeout: 10_000 });
  await nc.flush(); // subscribed before anything is asked of the daemon
  return (async () => {
    for await (const msg of sub) return msg;
    throw new Error(`no message on ${subject}`);
  })();
}

/** The mount's entries in `dir`, sorted. */
async function ls(dir: string): Promise<string[]> {
  return (await shOk(`ls -A ${dir}`)).split("\n").filter(Boolean).sort();
}

Deno.test("a mount reports its hydrations on NATS and warms its cache from prefetch hints", async (t) => {
  await assertFuseAvailable();
  await using nats = await startNats();
  const home = await Deno.makeTempDir({ prefix: "tcfs-mount-events-" });
  const repoUrl = `file://${home}/repo`;
  const a = await makeDevice("mount-events");
  const metricsListen = `127.0.0.1:${freePort()}`;
  const metricsUrl = `http://${metricsListen}`;
  Object.assign(a.env, {
    TCFS_NATS_URL: nats.url,
    TCFS_DAEMON_METRICS_LISTEN: metricsListen,
    TCFS_SYNC_POLL_SECONDS: "3600",
  });
  const src = `${a.dir}/src`;
  const mnt = `${a.dir}/mnt`;
  const nc = await connect({ servers: nats.url });
  let daemon: TestDaemon | undefined;
  let repo: Repository | undefined;
  try {
    await ensureStreams(await jetstreamManager(nc), SETTINGS);
    await Deno.writeTextFile(`${home}/pass`, "mount events test passphrase\n");
    await a.ok(["init", repoUrl, "--passphrase-file", `${home}/pass`]);
    const device = (await a.ok<{ device: string }>(["device", "show"])).device;
    await shOk(
      `set -e; mkdir -p ${src}/album ${mnt}
       head -c ${3 * MIB} /dev/urandom > ${src}/album/one.bin
       head -c ${2 * MIB + 5} /dev/urandom > ${src}/album/two.bin
       head -c ${MIB} /dev/urandom > ${src}/album/three.bin
       head -c ${MIB} /dev/urandom > ${src}/album/lost.bin`,
    );
    await a.ok(["push", src, "--to", "/"]);
    const identities = (await Deno.readTextFile(`${a.env.XDG_CONFIG_HOME}/tcfs/identity.txt`))
      .split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-"));
    repo = await Repository.open(await openStore(repoUrl), { identities });
    const ns = await repo.refresh();

    const online = nextMessage(nc, stateSubject(device, "online"));
    daemon = await startDaemon(a);
    await online; // the daemon's link is up and subscribed
    await a.ok(["mount", mnt]);
    assertEquals(await ls(`${mnt}/album`), [
      "lost.bin.tc",
      "one.bin.tc",
      "three.bin.tc",
      "two.bin.tc",
    ]);
    const metric = (name: string, labels?: Record<string, string>) =>
      scrapeSum(metricsUrl, name, labels);
    const decode = async (msg: Msg): Promise<HydrationEvent> => {
      const event = await decodeHydrationEvent(repo!, msg.subject, msg.data);
      assert(event, "a hydration event of this repository");
      return event;
    };

    await t.step("cat of a stub: a HYDRATION_EVENTS message and the metrics", async () => {
      const published = nextMessage(nc, hydrationSubject(device));
      await shOk(`cmp ${mnt}/album/one.bin.tc ${src}/album/one.bin`);
      const event = await decode(await published);
      assertEquals([event.device, event.path, event.bytes], [device, "/album/one.bin", 3 * MIB]);
      assert(event.ms > 0, `the wait is measured: ${event.ms} ms`);
      const stored = await (await jetstreamManager(nc)).streams.getMessage(HYDRATION_STREAM, {
        last_by_subj: hydrationSubject(device),
      });
      assert(stored, "the stream keeps it");
      assertEquals(await decodeHydrationEvent(repo!, stored.subject, stored.data), event);
      assertEquals(await metric("tcfs_hydrations_total", { outcome: "ok" }), 1);
      assertEquals(await metric("tcfs_hydration_seconds_count"), 1);
      assertEquals(await ls(`${mnt}/album`), [
        "lost.bin.tc",
        "one.bin",
        "three.bin.tc",
        "two.bin.tc",
      ]);
    });

    await t.step("tcfs hydrate of a stub in the mount is reported too", async () => {
      const published = nextMessage(nc, hydrationSubject(device));
      await a.ok(["hydrate", `${mnt}/album/three.bin.tc`]);
      const event = await decode(await published);
      assertEquals([event.path, event.bytes], ["/album/three.bin", MIB]);
      assertEquals(await metric("tcfs_hydrations_total", { outcome: "ok" }), 2);
    });

    await t.step(
      "a prefetch hint warms the cache: the file is local and reads fetch nothing",
      async () => {
        const chunks = (await repo!.manifestOf(ns.get("/album/two.bin")!)).chunks;
        const missesBefore = await metric("tcfs_chunk_cache_misses_total");
        const hint: PrefetchHint = {
          v: 1,
          repo: repo!.config.id,
          device,
          paths: ["/album/two.bin"],
          chunks,
          bytes: 2 * MIB + 5,
          time_ms: Date.now(),
        };
        // As a worker sends it: through JetStream, into the STATE stream.
        await jetstream(nc).publish(
          prefetchHintSubject(device),
          await encodePrefetchHint(repo!, hint),
        );
        await untilTrue(
          "the hinted chunks to be fetched",
          async () =>
            (await metric("tcfs_chunk_cache_misses_total")) >= missesBefore + chunks.length,
        );
        await untilTrue(
          "the file to show as local",
          async () => (await ls(`${mnt}/album`)).includes("two.bin"),
        );
        const misses = await metric("tcfs_chunk_cache_misses_total");
        const hits = await metric("tcfs_chunk_cache_hits_total");
        await shOk(`cmp ${mnt}/album/two.bin ${src}/album/two.bin`);
        assertEquals(await metric("tcfs_chunk_cache_misses_total"), misses, "no chunk was fetched");
        assert(
          (await metric("tcfs_chunk_cache_hits_total")) >= hits + chunks.length,
          "every chunk came from the cache",
        );
        assertEquals(
          await metric("tcfs_hydrations_total", { outcome: "ok" }),
          2,
          "a file already local is no hydration",
        );
      },
    );

    await t.step("a failed hydration is counted as an error and not published", async () => {
      const [first] = (await repo!.manifestOf(ns.get("/album/lost.bin")!)).chunks;
      await repo!.store.delete(first.pack ? packKey(first.pack.id) : chunkKey(first.id));
      const cat = await sh(`cat ${mnt}/album/lost.bin.tc > /dev/null`);
      assert(cat.code !== 0, "the read fails");
      assertEquals(await metric("tcfs_hydrations_total", { outcome: "error" }), 1);
      await new Promise((r) => setTimeout(r, 300));
      const stream = await (await jetstreamManager(nc)).streams.info(HYDRATION_STREAM);
      assertEquals(stream.state.messages, 2, "only the two successful hydrations");
    });
  } finally {
    await daemon?.stop("SIGTERM");
    if (await isMounted(mnt).catch(() => false)) await sh(`umount -l ${mnt}`);
    await repo?.store.close();
    await nc.close();
    await a.remove().catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
