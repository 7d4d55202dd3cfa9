/**
 * Leader election and fencing on a real nats-server's KV: one leader at a
 * time, a graceful stop hands over at once, a leader cut off from the lease
 * steps down before anyone may take over, and its late writes are fenced out.
 */

import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNats } from "../../tests/services/mod.ts";
import { FencedOutError } from "../errors.ts";
import { Logger } from "../log/mod.ts";
import { LeaderElector, type Leadership } from "./elector.ts";
import { Fence, FenceGuard } from "./fence.ts";
import type { LeaseStore } from "./lease.ts";
import { NatsKvLease, openCoordinationBucket } from "./nats_lease.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

/** A candidate and its terms as they begin. */
function candidate(store: LeaseStore, identity: string, durationMs: number) {
  const terms: { lead: Leadership; at: number }[] = [];
  const elector = new LeaderElector({ store, identity, durationMs, log: quiet });
  let wake = () => {};
  elector.start((lead) => {
    terms.push({ lead, at: performance.now() });
    wake();
  });
  return {
    elector,
    terms,
    /** Wait for term number `n` (from 1). */
    async term(n: number, timeoutMs = 10_000): Promise<Leadership> {
      const deadline = performance.now() + timeoutMs;
      while (terms.length < n) {
        assert.ok(performance.now() < deadline, `${identity}: no term ${n}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return terms[n - 1].lead;
    },
  };
}

/** A lease store that can be cut off: while cut, every call hangs (a stalled client). */
class CutOffLease implements LeaseStore {
  readonly description = "cut-off test lease";
  #cut = false;
  readonly #inner: LeaseStore;
  constructor(inner: LeaseStore) {
    this.#inner = inner;
  }
  cut(): void {
    this.#cut = true;
  }
  #hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.#cut ? new Promise<T>(() => {}) : fn();
  }
  read() {
    return this.#hold(() => this.#inner.read());
  }
  write(...args: Parameters<LeaseStore["write"]>) {
    return this.#hold(() => this.#inner.write(...args));
  }
}

async function withNats(fn: (nc: NatsConnection) => Promise<void>): Promise<void> {
  const nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    await fn(nc);
  } finally {
    await nc.close();
    await nats.stop();
  }
}

Deno.test("one leader at a time; a graceful stop hands the lease over at once", async () => {
  await withNats(async (nc) => {
    const kv = await openCoordinationBucket(nc);
    const a = candidate(new NatsKvLease(kv, "t"), "a", 2_000);
    const first = await a.term(1);
    const b = candidate(new NatsKvLease(kv, "t"), "b", 2_000);
    await new Promise((r) => setTimeout(r, 2_500)); // more than a lease duration
    assert.equal(b.terms.length, 0, "b took a lease that a kept renewing");
    assert.equal(a.terms.length, 1);
    const stoppedAt = performance.now();
    await a.elector.stop();
    assert.ok(first.signal.aborted);
    const second = await b.term(1);
    assert.equal(second.token, first.token + 1);
    assert.ok(
      b.terms[0].at - stoppedAt < 1_000,
      `a released lease was taken over after ${(b.terms[0].at - stoppedAt).toFixed(0)} ms`,
    );
    await b.elector.stop();
  });
});

Deno.test("a leader cut off steps down before the takeover, and its late writes are fenced out", async () => {
  await withNats(async (nc) => {
    const kv = await openCoordinationBucket(nc);
    const fence = new Fence<{ writer?: string }>(kv, "t", {});
    const cutOff = new CutOffLease(new NatsKvLease(kv, "t"));
    const a = candidate(cutOff, "a", 1_500);
    const old = await a.term(1);
    await fence.update(old.token, () => ({ writer: "a" }));
    const b = candidate(new NatsKvLease(kv, "t"), "b", 1_500);
    await new Promise((r) => setTimeout(r, 300));
    cutOff.cut();
    const cutAt = performance.now();
    const lead = await b.term(1);
    const takeoverAt = b.terms[0].at;
    assert.ok(old.signal.aborted, "the cut-off leader still believes it leads");
    assert.ok(takeoverAt - cutAt >= 1_000, "taken over before the old lease could expire");
    // The new leader raises the fence first; the old leader's late write is refused.
    await fence.raise(lead.token);
    await assert.rejects(
      () => fence.update(old.token, () => ({ writer: "late a" })),
      FencedOutError,
    );
    assert.deepEqual((await fence.read()).state, { writer: "a" });
    const guard = new FenceGuard(new NatsKvLease(kv, "t"), fence as Fence<unknown>);
    await assert.rejects(() => guard.check(old.token), FencedOutError);
    await guard.check(lead.token);
    await b.elector.stop();
    await a.elector.stop(); // its store still hangs: the stop must not
  });
});

Deno.test("the fence admits equal and higher tokens and keeps concurrent writers' updates", async () => {
  await withNats(async (nc) => {
    const kv = await openCoordinationBucket(nc);
    const fence = new Fence<{ n: number }>(kv, "f", { n: 0 });
    assert.deepEqual(await fence.read(), { token: 0, state: { n: 0 }, revision: 0 });
    await Promise.all(
      Array.from({ length: 8 }, () => fence.update(3, (s) => ({ n: s.n + 1 }))),
    );
    assert.deepEqual((await fence.read()).state, { n: 8 });
    await fence.raise(5);
    await assert.rejects(() => fence.update(4, (s) => s), FencedOutError);
    assert.equal((await fence.read()).token, 5);
  });
});
