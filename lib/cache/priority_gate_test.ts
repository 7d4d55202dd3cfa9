import assert from "node:assert/strict";
import { PriorityGate } from "./priority_gate.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("urgent waiters are granted before background ones, FIFO within each", async () => {
  const gate = new PriorityGate(1);
  const order: string[] = [];
  const first = gate.enter("background");
  await first.granted;
  const tickets = [
    ["b1", gate.enter("background")],
    ["b2", gate.enter("background")],
    ["u1", gate.enter("urgent")],
    ["u2", gate.enter("urgent")],
  ] as const;
  for (const [name, t] of tickets) t.granted.then(() => order.push(name));
  assert.deepEqual(gate.queued, { urgent: 2, background: 2 });
  tickets[1][1].promote(); // b2 becomes urgent, after u1 and u2
  first.release();
  for (let i = 0; i < 4; i++) {
    await tick();
    tickets.find(([name]) => name === order.at(-1))![1].release();
  }
  assert.deepEqual(order, ["u1", "u2", "b2", "b1"]);
  assert.equal(gate.active, 0);
});

Deno.test("an abort while queued leaves the queue and rejects with the reason", async () => {
  const gate = new PriorityGate(1);
  const holder = gate.enter("urgent");
  await holder.granted;
  const ctl = new AbortController();
  const queued = gate.enter("background", ctl.signal);
  ctl.abort(new Error("gone"));
  await assert.rejects(queued.granted, /gone/);
  assert.deepEqual(gate.queued, { urgent: 0, background: 0 });
  holder.release();
  holder.release(); // twice does nothing
  assert.equal(gate.active, 0);
  assert.throws(() => new PriorityGate(0), RangeError);
});
