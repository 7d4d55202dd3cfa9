/**
 * The daemon's request handling: one long-lived session (repository, state,
 * namespace) shared by every client, each path confined to the sync roots,
 * mutating operations run one at a time (reads run freely), and events
 * published for Watch.
 *
 * @module
 */

import {
  type ConflictView,
  type Executor,
  opConflicts,
  opPull,
  opPush,
  opResolve,
  opStatus,
  opStub,
  opSync,
  type PathResult,
  type ResolveResult,
  type Session,
  type StubOp,
  type SyncResult,
} from "../app/mod.ts";
import type { ProgressListener, PullSummary, PushSummary } from "../engine/mod.ts";
import type { Logger } from "../log/mod.ts";
import { configuredRoots } from "../app/mod.ts";
import type { Keep, RootStatus } from "../sync/mod.ts";
import { VERSION } from "../version.ts";
import { recordError, type TcfsMetrics } from "../metrics/mod.ts";
import { confinePath } from "./confine.ts";
import { EventBus } from "./events.ts";

/** A simple FIFO mutex. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  /** Run `fn` when every earlier caller is done. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(() => {}, () => {});
    return result;
  }
}

/** What Status reports. */
export interface DaemonStatus {
  /** Release. */
  version: string;
  /** Seconds since start. */
  uptime_seconds: number;
  /** Repository URL (no credentials). */
  repository: string;
  /** Device id. */
  device: string;
  /** Sync roots. */
  roots: string[];
  /** Active mounts. */
  mounts: string[];
  /** Credential chain step in use. */
  credential_step: string;
  /** Operations running now. */
  running_operations: number;
  /** Process id. */
  pid: number;
}

/** The daemon's mounts as the request handling sees them (lib/daemon/mounts.ts). */
export interface MountRouter {
  /** Mountpoints now. */
  dirs(): string[];
  /** Run a stub operation on `path` if it lies inside a mount; undefined when it does not. */
  stub(op: StubOp, path: string): Promise<PathResult | undefined>;
}

/** The daemon's implementation of the operations. */
export class DaemonCore implements Executor {
  /** Requests come through the daemon. */
  readonly viaDaemon = true;
  /** Events for Watch. */
  readonly events: EventBus = new EventBus();
  readonly #session: Session;
  readonly #log: Logger;
  readonly #mutex = new Mutex();
  readonly #started = Date.now();
  #running = 0;
  /** Set by the credential loader. */
  credentialStep = "config";
  /** The daemon's mounts: paths inside them go to the mount's file system. */
  mounts?: MountRouter;

  readonly #metrics?: TcfsMetrics;

  /** Serve requests from `session`, counting into `metrics` when given. */
  constructor(session: Session, log: Logger, metrics?: TcfsMetrics) {
    this.#session = session;
    this.#log = log;
    this.#metrics = metrics;
  }

  #roots(): string[] {
    return configuredRoots(this.#session.config).map((r) => r.local);
  }

  async #confine(path: string): Promise<string> {
    return await confinePath(path, this.#roots());
  }

  async #track<T>(name: string, fn: () => Promise<T>, exclusive: boolean): Promise<T> {
    const run = async () => {
      this.#running++;
      try {
        return await fn();
      } catch (err) {
        this.events.emit("error", "", `${name}: ${(err as Error).message}`);
        if (this.#metrics) recordError(this.#metrics, err);
        throw err;
      } finally {
        this.#running--;
      }
    };
    return exclusive ? await this.#mutex.run(run) : await run();
  }

  /** Operations running now. */
  get running(): number {
    return this.#running;
  }

  /** Wait until every queued mutating operation has finished. */
  async drain(): Promise<void> {
    await this.#mutex.run(() => Promise.resolve());
  }

  /** Daemon status. */
  status_(): DaemonStatus {
    return {
      version: VERSION,
      uptime_seconds: (Date.now() - this.#started) / 1000,
      repository: this.#session.repo.store.url,
      device: this.#session.device,
      roots: this.#roots(),
      mounts: this.mounts?.dirs() ?? [],
      credential_step: this.credentialStep,
      running_operations: this.#running,
      pid: Deno.pid,
    };
  }

  /** Push paths inside the roots. */
  push(req: { paths: string[]; to?: string }, onProgress?: ProgressListener): Promise<PushSummary> {
    return this.#track("push", async () => {
      const paths = await Promise.all(req.paths.map((p) => this.#confine(p)));
      const r = await opPush(this.#session, { paths, to: req.to }, this.#log, onProgress);
      this.events.emit("pushed", paths.join(", "), `${r.filesPushed} files pushed`);
      await this.#session.refresh();
      return r;
    }, true);
  }

  /** Push files a client streamed into `staging` (their paths there are the remote paths). */
  pushStaged(staging: string, onProgress?: ProgressListener): Promise<PushSummary> {
    return this.#track("push", async () => {
      const r = await opPush(this.#session, { paths: [staging], to: "/" }, this.#log, onProgress);
      this.events.emit("pushed", "", `${r.filesPushed} streamed files pushed`);
      await this.#session.refresh();
      return r;
    }, true);
  }

  /** Pull into a destination inside the roots. */
  pull(
    req: { remote: string; local?: string },
    onProgress?: ProgressListener,
  ): Promise<PullSummary> {
    return this.#track("pull", async () => {
      if (!req.local) throw new Error("a daemon pull needs an absolute destination");
      const local = await this.#confine(req.local);
      return await opPull(this.#session, { remote: req.remote, local }, onProgress);
    }, true);
  }

  /** Sync all roots, or the root `dir`. */
  sync(
    req: { dir?: string; force?: boolean; stubs?: boolean },
    onProgress?: ProgressListener,
  ): Promise<SyncResult[]> {
    return this.#track("sync", async () => {
      const dir = req.dir ? await this.#confine(req.dir) : undefined;
      let results: SyncResult[];
      try {
        results = await opSync(this.#session, { ...req, dir }, this.#log, onProgress);
      } catch (err) {
        this.#metrics?.syncRounds.inc({ outcome: "error" });
        throw err;
      }
      for (const r of results) {
        this.#metrics?.syncRounds.inc({ outcome: r.errors.length > 0 ? "error" : "ok" });
        if (r.conflicts > 0) this.#metrics?.conflicts.inc(r.conflicts);
        this.events.emit("synced", r.root, `${r.uploaded} up, ${r.downloaded} down`);
        if (r.conflicts > 0) this.events.emit("conflict", r.root, `${r.conflicts} conflicts`);
        for (const e of r.errors) this.events.emit("error", e.path, e.error);
      }
      return results;
    }, true);
  }

  /** Status from state. */
  status(req: { path?: string; all?: boolean }): Promise<RootStatus[]> {
    return this.#track("status", async () => {
      const path = req.path ? await this.#confine(req.path) : undefined;
      return await opStatus(this.#session, { ...req, path });
    }, false);
  }

  /** Hydrate, unsync, pin, unpin. */
  stub(op: StubOp, paths: string[]): Promise<PathResult[]> {
    return this.#track(op, async () => {
      // Paths inside a mount are the mount's; the rest are stubs in the sync roots.
      const viaMount: (PathResult | undefined)[] = [];
      for (const p of paths) viaMount.push(await this.mounts?.stub(op, p));
      const rest = paths.filter((_, i) => viaMount[i] === undefined);
      const confined = await Promise.all(rest.map((p) => this.#confine(p)));
      const inRoots = confined.length > 0 ? await opStub(this.#session, op, confined) : [];
      const r = viaMount.map((m) => m ?? inRoots.shift()!);
      if (op === "hydrate") {
        for (const x of r) this.events.emit("hydrated", x.path, `${x.files} files`);
      }
      return r;
    }, true);
  }

  /** Open conflicts. */
  conflicts(): Promise<ConflictView[]> {
    return this.#track("conflicts", () => opConflicts(this.#session), false);
  }

  /** Settle a conflict. */
  resolve(req: { path: string; keep: Keep }): Promise<ResolveResult> {
    return this.#track("resolve", async () => {
      const path = await this.#confine(req.path);
      const result = await opResolve(this.#session, { path, keep: req.keep });
      this.events.emit("resolved", path, `kept ${req.keep}`);
      return result;
    }, true);
  }

  /** Nothing to release here: the daemon owns the session. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
