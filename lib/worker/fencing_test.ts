import { connect } from "@nats-io/transport-node";
import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { startNats } from "../../tests/services/mod.ts";
import { loadConfig } from "../config/mod.ts";
import { Fence, NatsKvLease, openCoordinationBucket } from "../coord/mod.ts";
import { FencedOutError } from "../errors.ts";
import { Logger } from "../log/mod.ts";
import type { TaskContext } from "../queue/mod.ts";
import { coordinatorTokenCheck, taskFence } from "./fencing.ts";

function context(
  token: string | null,
  signal = new AbortController().signal,
): TaskContext & { beats: number } {
  const ctx = {
    beats: 0,
    signal,
    attempt: 1,
    log: new Logger({ level: "error", sink: () => {} }),
    progress: () => void ctx.beats++,
    headers: token === null
      ? undefined
      : { get: (n: string) => n === "Tcfs-Fence-Token" ? token : "" },
  };
  return ctx;
}

Deno.test("task fences refuse a deposed coordinator's token, on either lease backend", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    const kv = await openCoordinationBucket(nc);
    for (const lease of ["nats", "kubernetes"]) {
      const name = `fence-test-${lease}`;
      const { config } = await loadConfig({
        env: { TCFS_COORDINATOR_LEASE: lease, TCFS_COORDINATOR_LEASE_NAME: name },
        path: "/nonexistent/tcfs.yaml",
        allowMissing: true,
      });
      const check = await coordinatorTokenCheck(config, nc);
      await new Fence<unknown>(kv, name, {}).raise(3);
      await assertRejects(() => check.check(2), FencedOutError);
      await check.check(3);
      await check.check(4);
      const current = context("3");
      await taskFence(check, current)!();
      assertEquals(current.beats, 1, "a passed check is a heartbeat");
      await assertRejects(() => taskFence(check, context("2"))!(), FencedOutError);
      assertEquals(taskFence(check, context(null)), null, "no token: no coordinator, no fence");
      if (lease === "nats") {
        // The lease's token counts too: it is raised at the takeover, before the fence.
        const lease = new NatsKvLease(kv, name);
        await lease.write(
          { holder: "x", token: 5, acquiredMs: 0, renewedMs: 0, durationMs: 1000 },
          null,
        );
        await assertRejects(() => check.check(4), FencedOutError);
      }
    }
    const stopping = new AbortController();
    stopping.abort(new Error("the worker is stopping"));
    const { config } = await loadConfig({
      path: "/nonexistent/tcfs.yaml",
      allowMissing: true,
      env: {},
    });
    const fence = taskFence(
      await coordinatorTokenCheck(config, nc),
      context("9", stopping.signal),
    )!;
    await assertRejects(() => Promise.resolve(fence()), Error, "the worker is stopping");
  } finally {
    await nc.close();
  }
});
