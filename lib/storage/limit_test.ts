import assert from "node:assert/strict";
import { Limiter, mapLimit } from "./limit.ts";

/** A task that runs until the test releases it. */
function gated() {
  const gates: PromiseWithResolvers<void>[] = [];
  const started: number[] = [];
  const task = (id: number) => async () => {
    started.push(id);
    const gate = Promise.withResolvers<void>();
    gates[id] = gate;
    await gate.promise;
    return id;
  };
  return { gates, started, task };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Limiter runs at most N tasks at once, in FIFO order", async () => {
  const limiter = new Limiter(2);
  const { gates, started, task } = gated();
  const results = [0, 1, 2, 3].map((id) => limiter.run(task(id)));
  await tick();
  assert.deepEqual(started, [0, 1]);
  assert.equal(limiter.active, 2);
  assert.equal(limiter.pending, 2);
  gates[1].resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0].resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2, 3]);
  gates[2].resolve();
  gates[3].resolve();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
  assert.equal(limiter.active, 0);
});

Deno.test("Limiter frees the slot when a task fails", async () => {
  const limiter = new Limiter(1);
  await assert.rejects(limiter.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await limiter.run(() => Promise.resolve(7)), 7);
  assert.equal(limiter.active, 0);
  assert.throws(() => new Limiter(0), RangeError);
});

Deno.test("mapLimit keeps input order and bounds concurrency", async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit(Array.from({ length: 50 }, (_, i) => i), 4, async (x) => {
    running++;
    peak = Math.max(peak, running);
    await tick();
    running--;
    return x * 2;
  });
  assert.deepEqual(out, Array.from({ length: 50 }, (_, i) => i * 2));
  assert.equal(peak, 4);
});

Deno.test("mapLimit reads async iterables and stops starting work after a failure", async () => {
  async function* items() {
    for (let i = 0; i < 100; i++) yield i;
  }
  const started: number[] = [];
  await assert.rejects(
    mapLimit(items(), 3, async (x) => {
      started.push(x);
      await tick();
      if (x === 4) throw new Error("item 4 failed");
      return x;
    }),
    /item 4 failed/,
  );
  assert.ok(started.length < 10, `started ${started.length} items`);
  assert.deepEqual(await mapLimit([], 2, () => Promise.resolve(1)), []);
});
