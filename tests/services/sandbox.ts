/**
 * A temp dir holding one test service: its data, `logs/`, `pids/`, and every
 * daemon spawned in it.
 *
 * Daemons run detached (see `process.ts`), so they would outlive a crashed
 * test runner. Two nets catch them:
 *
 * 1. `unload` and SIGINT/SIGTERM/SIGHUP listeners in this process kill every
 *    live sandbox's daemons and remove its directory (the signal listeners
 *    exist only while a sandbox is open, then exit with 128 + the signal);
 * 2. each sandbox has a watchdog (`sh` + `tail --pid`) that notices this
 *    process is gone, even after SIGKILL, and within about a second kills the
 *    PIDs in `pids/` whose command line names the sandbox, then removes it.
 *
 * @module
 */

import { Daemon, type DaemonSpec, ServiceError, tailFile } from "./process.ts";

/** Options of {@linkcode Sandbox.run}. */
export interface RunOptions {
  /** Kill the tool after this long (default 60 s). */
  timeoutMs?: number;
  /** Abort early: the tool is killed and the call rejects. */
  signal?: AbortSignal;
  /** Give up as soon as one of these daemons exits (the tool would wait forever). */
  watch?: readonly Daemon[];
}

/** Options of {@linkcode Sandbox.waitUntil}. */
export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Abort early. */
  signal?: AbortSignal;
  /** Fail at once when one of these exits (default: every daemon of the sandbox). */
  watch?: readonly Daemon[];
}

const WATCHDOG_SCRIPT = String.raw`tail --pid="$1" -f /dev/null 2>/dev/null
for f in "$2"/pids/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f")
  tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$2" && kill -9 "$p"
done
rm -rf -- "$2"`;

/** A temp dir with the daemons of one test service; see the module doc. */
export class Sandbox {
  /** Root of the temp dir; removed by {@linkcode close}. */
  readonly dir: string;
  /** Where daemon and tool output goes. */
  readonly logDir: string;
  #daemons: Daemon[] = [];
  #watchdog: Deno.ChildProcess;
  #closing: Promise<void> | undefined;

  private constructor(dir: string, watchdog: Deno.ChildProcess) {
    this.dir = dir;
    this.logDir = `${dir}/logs`;
    this.#watchdog = watchdog;
  }

  /** Make a temp dir named after `label` and arm its watchdog. */
  static async create(label: string): Promise<Sandbox> {
    const dir = await Deno.makeTempDir({ prefix: `tcfs-${label}-` });
    await Deno.mkdir(`${dir}/logs`);
    await Deno.mkdir(`${dir}/pids`);
    const watchdog = new Deno.Command("/bin/sh", {
      args: ["-c", WATCHDOG_SCRIPT, "sh", String(Deno.pid), dir],
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    watchdog.unref();
    const sandbox = new Sandbox(dir, watchdog);
    track(sandbox);
    return sandbox;
  }

  /** Daemons spawned so far (running or not). */
  get daemons(): readonly Daemon[] {
    return this.#daemons;
  }

  /** Start a daemon in its own session, logging to `logs/<name>.out`. */
  spawn(spec: DaemonSpec): Daemon {
    if (this.#closing !== undefined) throw new ServiceError(`sandbox ${this.dir} is closed`);
    const logPath = `${this.logDir}/${spec.name}.out`;
    const pidPath = `${this.dir}/pids/${spec.name}.pid`;
    const daemon = Daemon.spawn(spec, logPath, pidPath);
    this.#daemons.push(daemon);
    return daemon;
  }

  /**
   * Run a one-shot tool to completion and return its stdout; its output is also
   * appended to `logs/tools.log`. Rejects with the tool's stderr when it fails.
   */
  async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
    const { timeoutMs = 60_000, signal, watch = [] } = options;
    const abort = new AbortController();
    let why = "";
    const stop = (reason: string) => {
      why ||= reason;
      abort.abort();
    };
    const timer = setTimeout(() => stop(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => stop("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
    for (const d of watch) d.exited.then(() => stop(`${d.name} exited (${d.describeExit()})`));
    let output: Deno.CommandOutput;
    try {
      signal?.throwIfAborted();
      output = await new Deno.Command(command, {
        args: [...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: abort.signal,
      }).output();
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    const line = [command, ...args].join(" ");
    await Deno.writeTextFile(`${this.logDir}/tools.log`, `$ ${line}\n${stdout}${stderr}\n`, {
      append: true,
    }).catch(() => {});
    if (!output.success) {
      const detail = why !== "" ? why : `exit code ${output.code}`;
      const tail = stderr.trimEnd().split("\n").slice(-10).join("\n");
      throw new ServiceError(`${line} failed (${detail})${tail !== "" ? `:\n${tail}` : ""}`);
    }
    return stdout;
  }

  /**
   * Poll `check` (backing off from 10 ms to 100 ms) until it returns true.
   * A throwing check counts as "not yet". Rejects with the log tails when a
   * watched daemon exits or the timeout passes.
   */
  async waitUntil(
    what: string,
    check: () => Promise<boolean>,
    options: WaitOptions,
  ): Promise<void> {
    const { timeoutMs, signal, watch = this.#daemons } = options;
    const deadline = Date.now() + timeoutMs;
    let pause = 10;
    for (;;) {
      signal?.throwIfAborted();
      const dead = watch.find((d) => !d.running);
      if (dead !== undefined) {
        throw new ServiceError(
          `${dead.name} exited (${dead.describeExit()}) while waiting for ${what}; ` +
            `log ${dead.logPath}:\n${this.logTail(15)}`,
        );
      }
      let lastError = "";
      try {
        if (await check()) return;
      } catch (e) {
        lastError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      if (Date.now() >= deadline) {
        throw new ServiceError(
          `timed out after ${timeoutMs} ms waiting for ${what}` +
            `${lastError !== "" ? ` (last error ${lastError})` : ""}; logs in ${this.logDir}:\n` +
            this.logTail(15),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 100);
    }
  }

  /** The last `lines` lines of every log file in `logs/`, each under a header. */
  logTail(lines = 20): string {
    const parts: string[] = [];
    try {
      for (const entry of Deno.readDirSync(this.logDir)) {
        const path = `${this.logDir}/${entry.name}`;
        const tail = tailFile(path, lines);
        if (tail !== "") parts.push(`==> ${path} <==\n${tail}`);
      }
    } catch {
      // Already removed.
    }
    return parts.join("\n");
  }

  /**
   * Stop every daemon (see {@linkcode Daemon.stop} for `graceMs`), disarm the
   * watchdog and remove the temp dir. Idempotent.
   */
  close(graceMs = 0): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  /** Kill everything and remove the dir synchronously (exit hooks only). */
  closeSync(): void {
    for (const d of this.#daemons) d.killSync();
    this.#killWatchdog();
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // Already gone, or the watchdog will remove it.
    }
  }

  async #close(graceMs: number): Promise<void> {
    try {
      await Promise.all(this.#daemons.map((d) => d.stop(graceMs)));
    } finally {
      this.#killWatchdog();
      this.#watchdog.ref();
      await this.#watchdog.status;
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
      untrack(this);
    }
  }

  #killWatchdog(): void {
    try {
      // The whole group, so its `tail` does not linger until this process exits.
      Deno.kill(-this.#watchdog.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

const live = new Set<Sandbox>();
const EXIT_SIGNALS: ReadonlyArray<[Deno.Signal, number]> = [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
];
const signalHandlers: Array<[Deno.Signal, () => void]> = [];
let unloadInstalled = false;

function closeAllSync(): void {
  for (const sandbox of live) sandbox.closeSync();
  live.clear();
}

function track(sandbox: Sandbox): void {
  live.add(sandbox);
  if (!unloadInstalled) {
    globalThis.addEventListener("unload", closeAllSync);
    unloadInstalled = true;
  }
  // Listeners only while sandboxes live, so the default signal behaviour
  // returns (and test sanitizers see nothing) once every service is stopped.
  if (signalHandlers.length === 0) {
    for (const [signal, number] of EXIT_SIGNALS) {
      const handler = () => {
        closeAllSync();
        Deno.exit(128 + number);
      };
      Deno.addSignalListener(signal, handler);
      signalHandlers.push([signal, handler]);
    }
  }
}

function untrack(sandbox: Sandbox): void {
  live.delete(sandbox);
  if (live.size === 0) {
    for (const [signal, handler] of signalHandlers) Deno.removeSignalListener(signal, handler);
    signalHandlers.length = 0;
  }
}
