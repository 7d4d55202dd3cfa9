/**
 * The CLI's side of the daemon API: an {@link Executor} whose operations are
 * gRPC calls on the daemon's Unix socket. Local paths are made absolute here,
 * relative to the client's working directory, before they are sent.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type {
  ConflictView,
  Executor,
  PathResult,
  ResolveResult,
  StubOp,
  SyncResult,
} from "../app/mod.ts";
import type { Progress, ProgressListener, PullSummary, PushSummary } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import type { Keep, RootStatus } from "../sync/mod.ts";
import { fromGrpcError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, tcfsService } from "./proto.ts";

// deno-lint-ignore no-explicit-any
type Client = any;

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return `${Deno.cwd()}/${path}`;
}

function toProgress(m: Record<string, unknown>): Progress {
  return {
    phase: String(m.phase),
    filesDone: Number(m.files_done),
    filesTotal: Number(m.files_total),
    bytesDone: Number(m.bytes_done),
    bytesTotal: Number(m.bytes_total),
    current: m.current ? String(m.current) : undefined,
  };
}

/** Talks to a running daemon. */
export class DaemonClient implements Executor {
  /** Through the daemon. */
  readonly viaDaemon = true;
  readonly #client: Client;

  private constructor(client: Client) {
    this.#client = client;
  }

  /**
   * Connect to the daemon at `socket`; null when none is running there (no
   * socket, or nobody answers within `timeoutMs`).
   */
  static async connect(socket: string, timeoutMs = 1500): Promise<DaemonClient | null> {
    try {
      await Deno.lstat(socket);
    } catch {
      return null;
    }
    const Ctor = tcfsService();
    const client = new Ctor(`unix://${socket}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    });
    const ready = await new Promise<boolean>((resolve) =>
      client.waitForReady(Date.now() + timeoutMs, (err: Error | undefined) => resolve(!err))
    );
    if (!ready) {
      client.close();
      return null;
    }
    return new DaemonClient(client);
  }

  #unary<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
      this.#client[method](
        req,
        (err: grpc.ServiceError | null, res: T) => err ? reject(fromGrpcError(err)) : resolve(res),
      )
    );
  }

  async #result<T>(method: string, req: unknown): Promise<T> {
    const r = await this.#unary<{ result_json: string }>(method, req);
    return JSON.parse(r.result_json) as T;
  }

  #stream<T>(call: grpc.ClientReadableStream<unknown>, onProgress?: ProgressListener): Promise<T> {
    return new Promise((resolve, reject) => {
      let result: T | undefined;
      call.on("data", (m: Record<string, unknown>) => {
        if (m.done) result = JSON.parse((m.result as { result_json: string }).result_json) as T;
        else onProgress?.(toProgress(m));
      });
      call.on("error", (err: grpc.ServiceError) => reject(fromGrpcError(err)));
      call.on(
        "end",
        () =>
          result === undefined
            ? reject(new TcfsError("the daemon ended the call without a result"))
            : resolve(result),
      );
    });
  }

  /** Daemon status. */
  daemonStatus(): Promise<Record<string, unknown>> {
    return this.#unary("Status", {});
  }

  /** Credential chain status. */
  credentialStatus(): Promise<Record<string, unknown>> {
    return this.#unary("CredentialStatus", {});
  }

  /** Mount the repository at `dir` through the daemon. */
  async mount(dir: string, names: "stubs" | "real"): Promise<unknown> {
    return await this.#result("Mount", { dir: absolute(dir), names });
  }

  /** Unmount `dir` through the daemon. */
  async unmount(dir: string, force: boolean): Promise<unknown> {
    return await this.#result("Unmount", { dir: absolute(dir), force });
  }

  /** The daemon's mounts. */
  async listMounts(): Promise<string[]> {
    return (await this.#unary<{ dirs: string[] }>("ListMounts", {})).dirs;
  }

  /**
   * Stream events (all kinds, or only `kinds`) to `onEvent` until it returns
   * false or the daemon goes away.
   */
  watch(
    kinds: string[],
    onEvent: (e: { kind: string; path: string; message: string; time_ms: number }) => boolean,
  ): Promise<void> {
    const call = this.#client.Watch({ kinds });
    return new Promise((resolve, reject) => {
      call.on("data", (e: { kind: string; path: string; message: string; time_ms: number }) => {
        if (!onEvent({ ...e, time_ms: Number(e.time_ms) })) call.cancel();
      });
      call.on(
        "error",
        (err: grpc.ServiceError) =>
          err.code === grpc.status.CANCELLED ? resolve() : reject(fromGrpcError(err)),
      );
      call.on("end", () => resolve());
    });
  }

  /** Ask the daemon to stop. */
  async shutdown(): Promise<void> {
    await this.#unary("Shutdown", {});
  }

  /** See {@link Executor.push}. */
  push(req: { paths: string[]; to?: string }, onProgress?: ProgressListener): Promise<PushSummary> {
    const call = this.#client.Push();
    const done = this.#stream<PushSummary>(call, onProgress);
    call.write({ start: { paths: req.paths.map(absolute), to: req.to ?? "" } });
    call.end();
    return done;
  }

  /** See {@link Executor.pull}. */
  pull(
    req: { remote: string; local?: string },
    onProgress?: ProgressListener,
  ): Promise<PullSummary> {
    const local = absolute(
      req.local ?? (req.remote.slice(req.remote.lastIndexOf("/") + 1) || "tcfs-root"),
    );
    return this.#stream(this.#client.Pull({ remote: req.remote, local }), onProgress);
  }

  /** See {@link Executor.sync}. */
  sync(
    req: { dir?: string; remote?: string; force?: boolean; stubs?: boolean },
    onProgress?: ProgressListener,
  ): Promise<SyncResult[]> {
    if (req.remote !== undefined) {
      throw new TcfsError("--remote is not available through the daemon: configure the root");
    }
    return this.#stream(
      this.#client.Sync({
        dir: req.dir ? absolute(req.dir) : "",
        force: !!req.force,
        stubs: !!req.stubs,
      }),
      onProgress,
    );
  }

  /** See {@link Executor.status}. */
  status(req: { path?: string; all?: boolean }): Promise<RootStatus[]> {
    return this.#result("SyncStatus", { path: req.path ? absolute(req.path) : "", all: !!req.all });
  }

  /** See {@link Executor.stub}. */
  stub(op: StubOp, paths: string[], onProgress?: ProgressListener): Promise<PathResult[]> {
    const abs = paths.map(absolute);
    if (op === "hydrate") return this.#stream(this.#client.Hydrate({ paths: abs }), onProgress);
    const method = op === "unsync" ? "Unsync" : op === "pin" ? "Pin" : "Unpin";
    return this.#result(method, { paths: abs });
  }

  /** See {@link Executor.conflicts}. */
  conflicts(): Promise<ConflictView[]> {
    return this.#result("ListConflicts", {});
  }

  /** See {@link Executor.resolve}. */
  resolve(req: { path: string; keep: Keep }): Promise<ResolveResult> {
    return this.#result("ResolveConflict", { path: absolute(req.path), keep: req.keep });
  }

  /** Close the channel. */
  close(): Promise<void> {
    this.#client.close();
    return Promise.resolve();
  }
}
