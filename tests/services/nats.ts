/**
 * A real `nats-server` (JetStream on by default) on a free loopback port, with
 * its store in a temp dir, for tests that need a broker, outages included.
 *
 * Debian's nats-server is 2.9: no filter_subjects, stream metadata, consumer
 * pause or per-message TTL (the last is silently dropped).
 *
 * @module
 */

import { freePort, LOOPBACK } from "./ports.ts";
import { type Daemon, findExecutable, ServiceError } from "./process.ts";
import { Sandbox } from "./sandbox.ts";

/** A running nats-server. */
export interface NatsService {
  /** Client URL, e.g. "nats://127.0.0.1:PORT". */
  url: string;
  /** TCP port it listens on (kept across restarts). */
  port: number;
  /** JetStream store directory (kept across restarts). */
  storeDir: string;
  /** Temp dir holding store and logs; removed by {@linkcode stop}. */
  dir: string;
  /** Directory with the server's log. */
  logDir: string;
  /** PID of the current server process (changes on restart). */
  readonly pid: number;
  /** Stop the server by its PID and remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** Stop the server and start it again on the same port and store (outage tests). */
  restart(): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): Promise<void>;
  /** Undo {@linkcode pause} with SIGCONT. */
  resume(): Promise<void>;
  /** Last lines of the server log, to print when a test fails. */
  logTail(lines?: number): string;
  /** Same as {@linkcode stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startNats}. */
export interface NatsOptions {
  /** Enable JetStream (`-js`); default true. */
  jetstream?: boolean;
  /** Give up on start-up after this long (default 30 s; normally ~20 ms). */
  timeoutMs?: number;
}

/** How long a stopping server may take to flush its store before SIGKILL. */
const STOP_GRACE_MS = 5_000;
const ATTEMPTS = 3;

/**
 * Start nats-server and resolve once it greets a client (with JetStream
 * enabled when asked). Throws {@linkcode ServiceError} when nats-server is
 * missing or dies.
 */
export async function startNats(options: NatsOptions = {}): Promise<NatsService> {
  const command = findExecutable("nats-server", "nats-server");
  for (let attempt = 1;; attempt++) {
    try {
      return await bringUp(command, options);
    } catch (e) {
      // Another process may take the port between our probe and the server's bind.
      if (attempt < ATTEMPTS && e instanceof PortTakenError) continue;
      throw e;
    }
  }
}

class PortTakenError extends ServiceError {}

async function bringUp(command: string, options: NatsOptions): Promise<NatsService> {
  const { jetstream = true, timeoutMs = 30_000 } = options;
  const sandbox = await Sandbox.create("nats");
  const port = freePort();
  const storeDir = `${sandbox.dir}/store`;
  // The store dir is passed even without JetStream so the command line names
  // the sandbox, which the watchdog checks before it kills a PID.
  const args = ["-a", LOOPBACK, "-p", String(port), "-n", `tcfs-test-${port}`, "-sd", storeDir];
  if (jetstream) args.push("-js");

  let server: Daemon;
  const start = async (): Promise<void> => {
    server = sandbox.spawn({ name: "nats-server", command, args });
    await sandbox.waitUntil(
      `nats-server on port ${port} to greet a client`,
      () => greets(port, jetstream),
      { timeoutMs, watch: [server] },
    );
  };
  try {
    await start();
  } catch (e) {
    const taken = /address already in use/i.test(sandbox.logTail(20));
    await sandbox.close();
    if (taken) throw new PortTakenError(`port ${port} was taken`, { cause: e });
    throw e;
  }

  let stopped = false;
  const stop = (): Promise<void> => {
    stopped = true;
    return sandbox.close(STOP_GRACE_MS);
  };
  const live = (): Daemon => {
    if (stopped) throw new ServiceError("the NATS service is stopped");
    return server;
  };
  return {
    url: `nats://${LOOPBACK}:${port}`,
    port,
    storeDir,
    dir: sandbox.dir,
    logDir: sandbox.logDir,
    get pid(): number {
      return server.pid;
    },
    stop,
    async restart(): Promise<void> {
      await live().stop(STOP_GRACE_MS);
      await start();
    },
    pause: async () => await live().pause(),
    resume: async () => await live().resume(),
    logTail: (lines?: number) => sandbox.logTail(lines),
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Whether a NATS server on `port` sends its INFO greeting (advertising
 * JetStream when `jetstream`).
 */
async function greets(port: number, jetstream: boolean): Promise<boolean> {
  const conn = await Deno.connect({ hostname: LOOPBACK, port });
  // A listener that never speaks must not stall the poll loop.
  const timer = setTimeout(() => conn.close(), 2_000);
  try {
    const buffer = new Uint8Array(8192);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return false;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    if (!text.startsWith("INFO ")) return false;
    const info = JSON.parse(text.slice(5, text.indexOf("\r\n")));
    return !jetstream || info.jetstream === true;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}
