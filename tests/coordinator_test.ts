/**
 * Two `tcfs coordinator` processes on one real nats-server and the NATS KV
 * lease: exactly one leads and schedules tasks carrying its fencing token;
 * after the leader is killed with SIGKILL the other takes over within the
 * lease time (plus one read period), and a write carrying the old token is
 * refused, by the fence and by the check workers make.
 */

import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { startNats } from "./services/mod.ts";
import {
  Fence,
  FenceGuard,
  fenceTokenOf,
  NatsKvLease,
  openCoordinationBucket,
  type ScheduleState,
} from "../lib/coord/mod.ts";
import { FencedOutError } from "../lib/errors.ts";
import { TASKS_STREAM, taskSubject } from "../lib/queue/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const LEASE_SECONDS = 3;
const LEASE_NAME = "tcfs-coordinator";

/** One JSON log line of a coordinator. */
type LogLine = { msg: string; [k: string]: unknown };

/** A coordinator process whose log lines are collected as they come. */
class CoordinatorProcess {
  readonly lines: LogLine[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<Deno.CommandStatus>;
  #waiters: (() => void)[] = [];

  constructor(env: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", "--unstable-net", MAIN, "coordinator"],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#done = this.#child.status;
    void this.#read();
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #read(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ msg: line });
        }
      }
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** The first log line with message `msg` (waiting up to `timeoutMs` for it). */
  async line(msg: string, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => l.msg === msg);
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`no '${msg}' within ${timeoutMs} ms:\n${JSON.stringify(this.lines)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
    return this.#done;
  }
}

Deno.test("coordinators fail over within the lease time and fence out the deposed leader", async () => {
  const nats = await startNats();
  const home = await Deno.makeTempDir({ prefix: "tcfs-coordinator-" });
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/config`,
    XDG_DATA_HOME: `${home}/data`,
    XDG_RUNTIME_DIR: `${home}/run`,
    NO_COLOR: "1",
    TCFS_LOG_FORMAT: "json",
    TCFS_NATS_URL: nats.url,
    TCFS_COORDINATOR_LEASE_SECONDS: String(LEASE_SECONDS),
    TCFS_COORDINATOR_COMPACT_SECONDS: "1",
    TCFS_COORDINATOR_GC_SECONDS: "0",
    TCFS_COORDINATOR_SCRUB_SECONDS: "0",
  };
  const procs = [new CoordinatorProcess(env), new CoordinatorProcess(env)];
  const nc = await connect({ servers: nats.url });
  try {
    const first = await Promise.any(
      procs.map(async (p) => ({ proc: p, line: await p.line("elected leader") })),
    );
    const leader = first.proc;
    const standby = procs.find((p) => p !== leader)!;
    const oldToken = first.line.term as number;
    await standby.line("coordinator campaigning");
    await leader.line("scheduled");
    // Let the standby watch the leader renew for a while: it must not take over.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000));
    assert(!standby.lines.some((l) => l.msg === "elected leader"), "two leaders at once");

    const jsm = await jetstreamManager(nc);
    const before = await jsm.streams.getMessage(TASKS_STREAM, {
      last_by_subj: taskSubject("compact"),
    });
    assertEquals(fenceTokenOf(before!.header), oldToken);

    const killedAt = performance.now();
    await leader.kill("SIGKILL");
    const takeover = await standby.line("elected leader", LEASE_SECONDS * 3000);
    const failoverMs = performance.now() - killedAt;
    const newToken = takeover.term as number;
    console.log(
      `failover after SIGKILL: ${failoverMs.toFixed(0)} ms (lease ${LEASE_SECONDS} s); ` +
        `tokens ${oldToken} -> ${newToken}`,
    );
    assert(newToken > oldToken, `token went from ${oldToken} to ${newToken}`);
    // The standby reads the lease every tenth of its duration and takes over once it has
    // gone a whole duration unrenewed: within the lease time plus two read periods, plus
    // slack for a loaded machine.
    assert(
      failoverMs < LEASE_SECONDS * 1000 * 1.2 + 1500,
      `failover took ${failoverMs.toFixed(0)} ms`,
    );

    // The deposed leader's token is refused everywhere.
    const kv = await openCoordinationBucket(nc);
    const fence = new Fence<ScheduleState>(kv, LEASE_NAME, {});
    const guard = new FenceGuard(new NatsKvLease(kv, LEASE_NAME), fence);
    await standby.line("scheduled");
    await assertRejects(
      () => fence.update(oldToken, (s) => ({ ...s, gc: { runs: 99, lastMs: 0, token: oldToken } })),
      FencedOutError,
    );
    await assertRejects(() => guard.check(oldToken), FencedOutError);
    await guard.check(newToken);
    const schedule = await fence.read();
    assertEquals(schedule.token, newToken);
    assertEquals(schedule.state.gc, undefined, "the refused write left no trace");
    const after = await jsm.streams.getMessage(TASKS_STREAM, {
      last_by_subj: taskSubject("compact"),
    });
    assertEquals(fenceTokenOf(after!.header), newToken);
    assert(after!.seq > before!.seq);

    // A graceful stop releases the lease at once.
    const status = await standby.kill("SIGTERM");
    assertEquals(status.code, 0, JSON.stringify(standby.lines.slice(-5)));
    const lease = await new NatsKvLease(kv, LEASE_NAME).read();
    assertEquals(lease?.record.holder, "");
    assertEquals(lease?.record.token, newToken);
  } finally {
    for (const p of procs) await p.kill("SIGKILL");
    await nc.close();
    await nats.stop();
    await Deno.remove(home, { recursive: true });
  }
});
