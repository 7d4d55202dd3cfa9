/**
 * Daemon processes for test services: spawned detached, logged to a file,
 * stopped by their own PID.
 *
 * Each daemon runs in its own session, so a terminal's Ctrl-C or a runner's
 * process-group kill does not reach it half-way through a test; the
 * `Sandbox` that spawns it makes sure it still dies with this
 * process (see `sandbox.ts`).
 *
 * @module
 */

import { TcfsError } from "../../lib/errors.ts";

/** A test service could not be found, started or stopped. */
export class ServiceError extends TcfsError {}

/** Shell line that appends all output to the log in `$1`, then becomes the daemon. */
const EXEC_WITH_LOG = 'log=$1; shift; exec "$@" >>"$log" 2>&1';

/** Directories searched after `PATH`: Debian puts some daemons in sbin. */
const EXTRA_BIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/**
 * Resolve the executable `name` on `PATH` (and the sbin directories), or throw
 * a {@linkcode ServiceError} naming the Debian package that provides it.
 */
export function findExecutable(name: string, debianPackage: string): string {
  const candidates = name.includes("/") ? [name] : [
    ...(Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== ""),
    ...EXTRA_BIN_DIRS,
  ].map((dir) => `${dir}/${name}`);
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // Not in this directory; try the next one.
    }
  }
  throw new ServiceError(
    `${name} is not installed or not executable: install the Debian package ${debianPackage}`,
  );
}

/**
 * The state letter of a process from `/proc/<pid>/stat` ("R", "S", "T" for
 * stopped, "Z" for a zombie ...), or undefined when there is no such process.
 */
export function processState(pid: number): string | undefined {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The state follows the parenthesised command name, which may hold spaces.
  const at = stat.lastIndexOf(")") + 2;
  return stat.slice(at, at + 1);
}

/**
 * Whether a process with this PID exists and has not exited (a zombie waiting
 * to be reaped counts as gone).
 */
export function isProcessAlive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** Last `lines` lines of a text file, or "" when it does not exist. */
export function tailFile(path: string, lines: number): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return "";
  }
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** What to run as a daemon. */
export interface DaemonSpec {
  /** Short name, unique among its sandbox's daemons; names its log and PID files. */
  name: string;
  /** Absolute path of the executable (see {@linkcode findExecutable}). */
  command: string;
  /** Arguments; the daemon must stay in the foreground. */
  args: readonly string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** One detached daemon process, stopped by its PID. */
export class Daemon {
  /** Name given in its {@linkcode DaemonSpec}. */
  readonly name: string;
  /** Its process id (also its session and process group id). */
  readonly pid: number;
  /** File that receives its stdout and stderr. */
  readonly logPath: string;
  /** File holding its PID while it may be running. */
  readonly pidPath: string;
  /** Settles when the process has exited and been reaped. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #status: Deno.CommandStatus | undefined;
  #stopping: Promise<void> | undefined;

  /**
   * Start `spec` in its own session with stdout and stderr appended to
   * `logPath`, and write its PID to `pidPath`. The child does not keep this
   * process alive.
   */
  static spawn(spec: DaemonSpec, logPath: string, pidPath: string): Daemon {
    const child = new Deno.Command("/bin/sh", {
      // sh execs the daemon, so the PID we record is the daemon's own.
      args: ["-c", EXEC_WITH_LOG, "sh", logPath, spec.command, ...spec.args],
      env: spec.env,
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    Deno.writeTextFileSync(pidPath, `${child.pid}\n`);
    return new Daemon(child, spec.name, logPath, pidPath);
  }

  private constructor(child: Deno.ChildProcess, name: string, logPath: string, pidPath: string) {
    this.#child = child;
    this.name = name;
    this.pid = child.pid;
    this.logPath = logPath;
    this.pidPath = pidPath;
    this.exited = child.status.then((status) => (this.#status = status));
  }

  /** Whether the process is still running (as far as this process knows). */
  get running(): boolean {
    return this.#status === undefined;
  }

  /** How it ended, for messages: "exit code 1", "signal SIGKILL" or "running". */
  describeExit(): string {
    const s = this.#status;
    if (s === undefined) return "running";
    return s.signal !== null ? `signal ${s.signal}` : `exit code ${s.code}`;
  }

  /** Send a signal unless the process is already gone. */
  signal(signal: Deno.Signal): void {
    if (!this.running) return;
    try {
      Deno.kill(this.pid, signal);
    } catch {
      // It exited between the check and the kill; nothing to signal.
    }
  }

  /**
   * Stop it: SIGTERM, then SIGKILL if it has not exited after `graceMs`
   * (`graceMs` 0 sends SIGKILL at once). Resolves once it is reaped; idempotent.
   */
  stop(graceMs: number): Promise<void> {
    this.#stopping ??= this.#terminate(graceMs);
    return this.#stopping;
  }

  /** Freeze it with SIGSTOP; resolves once the kernel reports it stopped. */
  pause(): Promise<void> {
    this.signal("SIGSTOP");
    return this.#awaitState("stopped", (state) => state === "T");
  }

  /** Undo {@linkcode pause} with SIGCONT; resolves once it runs again. */
  resume(): Promise<void> {
    this.signal("SIGCONT");
    return this.#awaitState("running", (state) => state !== "T");
  }

  /** Kill without waiting (for exit hooks, which cannot await). */
  killSync(): void {
    this.signal("SIGKILL");
  }

  /** Last lines of its log file. */
  logTail(lines = 20): string {
    return tailFile(this.logPath, lines);
  }

  /** Signals are delivered asynchronously: poll until the state shows it. */
  async #awaitState(what: string, done: (state: string) => boolean): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const state = processState(this.pid);
      if (state === undefined || !this.running) {
        throw new ServiceError(`${this.name} (pid ${this.pid}) exited before it was ${what}`);
      }
      if (done(state)) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new ServiceError(`${this.name} (pid ${this.pid}) was not ${what} after 5 s`);
  }

  async #terminate(graceMs: number): Promise<void> {
    // The child was unref'd so a forgotten daemon cannot keep this process
    // alive; while we wait for it, it must hold the event loop.
    this.#child.ref();
    if (graceMs > 0) {
      this.signal("SIGTERM");
      this.signal("SIGCONT"); // a paused daemon only acts on SIGTERM once resumed
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gone = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!gone) this.signal("SIGKILL");
    } else {
      this.signal("SIGKILL");
    }
    await this.exited;
    await Deno.remove(this.pidPath).catch(() => {});
  }
}
