import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesOf, storeBytes } from "../../tests/fixtures/maint.ts";
import { createTestRepo } from "../../tests/fixtures/repo.ts";
import { ChunkCache } from "../cache/mod.ts";
import { createTcfsMetrics } from "../metrics/mod.ts";
import { chunkKey } from "../repo/layout.ts";
import { Namespace, type Repository } from "../repo/mod.ts";
import { FileStore } from "../storage/mod.ts";
import {
  decodeHydrationEvent,
  encodeHydrationEvent,
  type HydrationEvent,
  HydrationReporter,
  hydrationSubject,
} from "./hydration_events.ts";
import {
  decodePrefetchHint,
  encodePrefetchHint,
  type PrefetchHint,
  prefetchHintSubject,
  warmFromHint,
} from "./prefetch_hints.ts";

async function withRepos(fn: (a: Repository, b: Repository, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-events-test-" });
  await Deno.mkdir(`${dir}/a`);
  await Deno.mkdir(`${dir}/b`);
  const stores = [
    await FileStore.open(new URL(`file://${dir}/a`)),
    await FileStore.open(new URL(`file://${dir}/b`)),
  ];
  try {
    const [a, b] = await Promise.all(stores.map(async (s) => (await createTestRepo(s)).repo));
    await fn(a, b, dir);
  } finally {
    for (const s of stores) await s.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hydration events are sealed per repository and checked against their subject", async () => {
  await withRepos(async (repo, other) => {
    const event: HydrationEvent = {
      v: 1,
      repo: repo.config.id,
      device: "00000000000000a1",
      path: "/photos/1.jpg",
      bytes: 123,
      ms: 45,
      time_ms: 1,
    };
    const body = await encodeHydrationEvent(repo, event);
    assert(!new TextDecoder().decode(body).includes("photos"), "the path is not readable");
    const subject = hydrationSubject(event.device);
    assertEquals(await decodeHydrationEvent(repo, subject, body), event);
    assertEquals(await decodeHydrationEvent(other, subject, body), null, "another repository");
    assertEquals(
      await decodeHydrationEvent(repo, hydrationSubject("00000000000000b2"), body),
      null,
    );
    assertEquals(await decodeHydrationEvent(repo, "hydration.x.y", body), null);
  });
});

Deno.test("the reporter counts every hydration and publishes the successful ones", async () => {
  await withRepos(async (repo) => {
    const metrics = createTcfsMetrics();
    const sent: HydrationEvent[] = [];
    const reporter = new HydrationReporter({
      repo,
      device: "00000000000000a1",
      metrics,
      sink: { publishHydration: (e) => Promise.resolve(void sent.push(e)) },
    });
    assertEquals(await reporter.track("/a", 10, () => Promise.resolve(7)), 7);
    const abort = new AbortController();
    abort.abort();
    await reporter.track("/b", 10, () => Promise.reject(new Error("gone")), abort.signal)
      .catch(() => {});
    reporter.report({ path: "/c", bytes: 1, ms: 5, outcome: "error" });
    assertEquals(sent.map((e) => [e.path, e.bytes, e.device, e.repo]), [
      ["/a", 10, "00000000000000a1", repo.config.id],
    ]);
    assertEquals(metrics.hydrations.value({ outcome: "ok" }), 1);
    assertEquals(metrics.hydrations.value({ outcome: "cancelled" }), 1);
    assertEquals(metrics.hydrations.value({ outcome: "error" }), 1);
  });
});

Deno.test("a prefetch hint warms a real chunk cache; unreadable chunks are counted", async () => {
  await withRepos(async (repo, other, dir) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, "00000000000000a1", "/d/x.bin", bytesOf(1, 20_000));
    const chunks = (await repo.manifestOf(ns.get("/d/x.bin")!)).chunks;
    const device = "00000000000000c3";
    const hint: PrefetchHint = {
      v: 1,
      repo: repo.config.id,
      device,
      paths: ["/d/x.bin"],
      chunks,
      bytes: 20_000,
      time_ms: 1,
    };
    const body = await encodePrefetchHint(repo, hint);
    const subject = prefetchHintSubject(device);
    assertEquals(subject, `STATE.${device}.prefetch`);
    assertEquals(await decodePrefetchHint(repo, device, subject, body), hint);
    assertEquals(await decodePrefetchHint(repo, "00000000000000a1", subject, body), null);
    assertEquals(await decodePrefetchHint(other, device, subject, body), null);

    await repo.store.delete(chunkKey(chunks[1].id));
    const cache = await ChunkCache.open(repo, { dir: `${dir}/cache`, maxBytes: 1 << 30 });
    try {
      const report = await warmFromHint(hint, cache);
      assertEquals(report, { warmed: chunks.length - 1, failed: 1 });
      await cache.idle();
      assertEquals(cache.stats().entries, chunks.length - 1);
      const again = await warmFromHint(hint, cache);
      assertEquals(again.warmed, chunks.length - 1);
      assertEquals(cache.stats().misses, chunks.length + 1, "cached chunks were not fetched again");
    } finally {
      await cache.close();
    }
  });
});
