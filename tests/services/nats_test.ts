import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startNats } from "./nats.ts";
import { isProcessAlive, processState } from "./process.ts";

const COUNT = 100;

Deno.test("startNats runs JetStream for a durable pull consumer, then stops cleanly", async () => {
  const nats = await startNats();
  const pid = nats.pid;
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "TASKS", subjects: ["tasks.>"] });
    await jsm.consumers.add("TASKS", { durable_name: "workers", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    for (let i = 0; i < COUNT; i++) await js.publish(`tasks.${i % 4}`, `task-${i}`);

    const consumer = await js.consumers.get("TASKS", "workers");
    const seen = new Set<string>();
    // Bounded so a broken consumer fails the test instead of hanging it.
    for (let round = 0; round < 50 && seen.size < COUNT; round++) {
      const batch = await consumer.fetch({ max_messages: COUNT - seen.size, expires: 2_000 });
      for await (const m of batch) {
        seen.add(m.string());
        assert.ok(await m.ackAck());
      }
    }
    assert.deepEqual(seen, new Set(Array.from({ length: COUNT }, (_, i) => `task-${i}`)));
    const info = await jsm.consumers.info("TASKS", "workers");
    assert.equal(info.num_pending, 0);
    assert.equal(info.num_ack_pending, 0);
  } catch (e) {
    console.error(nats.logTail());
    throw e;
  } finally {
    await nc.close();
    await nats.stop();
  }
  assert.ok(!isProcessAlive(pid), `nats-server ${pid} still runs`);
  await assert.rejects(Deno.stat(nats.dir), Deno.errors.NotFound);
  await nats.stop(); // idempotent
});

Deno.test("NatsService.restart keeps port and JetStream store", async () => {
  await using nats = await startNats();
  const { port, pid } = nats;
  let nc = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: "KEEP", subjects: ["keep"] });
  await jetstream(nc).publish("keep", "before");
  await nc.close();

  await nats.restart();
  assert.equal(nats.port, port);
  assert.notEqual(nats.pid, pid);
  assert.ok(!isProcessAlive(pid));

  nc = await connect({ servers: nats.url });
  try {
    const stream = await (await jetstreamManager(nc)).streams.info("KEEP");
    assert.equal(stream.state.messages, 1);
  } finally {
    await nc.close();
  }
});

Deno.test("startNats without JetStream serves core NATS", async () => {
  await using nats = await startNats({ jetstream: false });
  const nc = await connect({ servers: nats.url });
  try {
    const sub = nc.subscribe("ping", { max: 1 });
    nc.publish("ping", "hello");
    for await (const m of sub) assert.equal(m.string(), "hello");
    await assert.rejects(jetstreamManager(nc));
  } finally {
    await nc.close();
  }
});

Deno.test("NatsService.pause freezes the server until resume", async () => {
  await using nats = await startNats({ jetstream: false });
  const state = () => processState(nats.pid);
  await nats.pause();
  assert.equal(state(), "T");
  await nats.resume();
  assert.notEqual(state(), "T");
  const nc = await connect({ servers: nats.url });
  await nc.flush();
  await nc.close();
  // stop() must end a paused server too.
  await nats.pause();
});
