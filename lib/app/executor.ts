/**
 * Who carries out a user's request: this process ({@link DirectExecutor}) or
 * a running daemon (the gRPC client in `lib/rpc`). Both implement
 * {@link Executor} and return the same results, so commands print the same
 * output either way.
 *
 * @module
 */

import type { ProgressListener, PullSummary, PushSummary } from "../engine/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Keep, RootStatus } from "../sync/mod.ts";
import {
  type ConflictView,
  opConflicts,
  opPull,
  opPush,
  opResolve,
  opStatus,
  opStub,
  opSync,
  type PathResult,
  type StubOp,
  type SyncResult,
} from "./ops.ts";
import { openSession, type Session } from "./session.ts";
import { openState } from "./sync.ts";

/** The result of resolving a conflict. */
export interface ResolveResult {
  /** The path. */
  path: string;
  /** Which side was kept. */
  kept: Keep;
  /** How many versions were in conflict. */
  versions: number;
}

/** The operations commands delegate. */
export interface Executor {
  /** Whether requests go to a daemon. */
  readonly viaDaemon: boolean;
  /** Push local paths. */
  push(req: { paths: string[]; to?: string }, onProgress?: ProgressListener): Promise<PushSummary>;
  /** Pull a remote path. */
  pull(
    req: { remote: string; local?: string },
    onProgress?: ProgressListener,
  ): Promise<PullSummary>;
  /** Sync roots. */
  sync(
    req: { dir?: string; remote?: string; force?: boolean; stubs?: boolean },
    onProgress?: ProgressListener,
  ): Promise<SyncResult[]>;
  /** Status from local state. */
  status(req: { path?: string; all?: boolean }): Promise<RootStatus[]>;
  /** Hydrate, unsync, pin or unpin. */
  stub(op: StubOp, paths: string[], onProgress?: ProgressListener): Promise<PathResult[]>;
  /** Open conflicts. */
  conflicts(): Promise<ConflictView[]>;
  /** Settle a conflict. */
  resolve(req: { path: string; keep: Keep }): Promise<ResolveResult>;
  /** Release resources. */
  close(): Promise<void>;
}

/** Runs operations in this process, opening what each needs on first use. */
export class DirectExecutor implements Executor {
  /** Never through a daemon. */
  readonly viaDaemon = false;
  readonly #config: Config;
  readonly #log: Logger;
  #session?: Promise<Session & { close(): Promise<void> }>;

  /** An executor for `config`, logging to `log`. */
  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  #open(): Promise<Session> {
    return this.#session ??= openSession(this.#config);
  }

  /** See {@link Executor.push}. */
  async push(req: { paths: string[]; to?: string }, onProgress?: ProgressListener) {
    return await opPush(await this.#open(), req, this.#log, onProgress);
  }
  /** See {@link Executor.pull}. */
  async pull(req: { remote: string; local?: string }, onProgress?: ProgressListener) {
    return await opPull(await this.#open(), req, onProgress);
  }
  /** See {@link Executor.sync}. */
  async sync(
    req: { dir?: string; remote?: string; force?: boolean; stubs?: boolean },
    onProgress?: ProgressListener,
  ) {
    return await opSync(await this.#open(), req, this.#log, onProgress);
  }
  /** Status needs only the state database, not the repository. */
  async status(req: { path?: string; all?: boolean }) {
    const state = await openState(this.#config);
    try {
      return await opStatus({ config: this.#config, state }, req);
    } finally {
      state.close();
    }
  }
  /** See {@link Executor.stub}. */
  async stub(op: StubOp, paths: string[]) {
    return await opStub(await this.#open(), op, paths);
  }
  /** Conflicts need only the state database. */
  async conflicts() {
    const state = await openState(this.#config);
    try {
      return await opConflicts({ state });
    } finally {
      state.close();
    }
  }
  /** See {@link Executor.resolve}. */
  async resolve(req: { path: string; keep: Keep }) {
    return await opResolve(await this.#open(), req);
  }
  /** Close the session if one was opened. */
  async close() {
    if (this.#session) await (await this.#session).close();
  }
}
