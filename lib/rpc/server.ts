/**
 * The gRPC server of the daemon: `tcfs.v1.Tcfs` on a Unix socket whose
 * directory is 0700 and socket 0600 (only this user can connect), mapped onto
 * {@link DaemonCore}.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { DaemonCore } from "../daemon/core.ts";
import type { MountManager } from "../daemon/mounts.ts";
import type { Progress } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import type { Keep } from "../sync/mod.ts";
import { toGrpcError } from "./errors.ts";
import { MAX_MESSAGE_BYTES, tcfsService } from "./proto.ts";

/** Extra handlers the daemon process provides (lifecycle, credentials, mounts). */
export interface ServerHooks {
  /** CredentialStatus response. */
  credentialStatus(): unknown;
  /** Begin a graceful shutdown. */
  shutdown(): void;
  /** Where pushed file data is staged. */
  stagingDir: string;
  /** The daemon's FUSE mounts. */
  mounts: Pick<MountManager, "mount" | "unmount" | "dirs">;
  /** Called after each request with its duration, for metrics. */
  onRequest?(method: string, code: string, seconds: number): void;
}

/** A running server. */
export interface RpcServer {
  /** Socket path. */
  socket: string;
  /** Stop accepting, wait briefly for calls to finish, then close. */
  close(): Promise<void>;
}

/** Messages as proto-loader decodes them (plain objects shaped by tcfs.proto). */
// deno-lint-ignore no-explicit-any
type Msg = any;
type Unary = (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => void;
type Streaming = (call: grpc.ServerWritableStream<Msg, Msg>) => void;

function progressMessage(p: Readonly<Progress>) {
  return {
    phase: p.phase,
    files_done: p.filesDone,
    files_total: p.filesTotal,
    bytes_done: p.bytesDone,
    bytes_total: p.bytesTotal,
    current: p.current ?? "",
    done: false,
  };
}

/** Serve `core` on the Unix socket `socket`. */
export async function startRpcServer(
  core: DaemonCore,
  socket: string,
  hooks: ServerHooks,
): Promise<RpcServer> {
  const dir = socket.slice(0, socket.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  await Deno.remove(socket).catch(() => {}); // a stale socket from a crash
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  const timed = <F extends (...args: never[]) => void>(method: string, f: F): F =>
    ((...args: never[]) => {
      const start = performance.now();
      const call = args[0] as { on?: (e: string, cb: () => void) => void };
      call.on?.(
        "finish",
        () => hooks.onRequest?.(method, "OK", (performance.now() - start) / 1000),
      );
      f(...args);
    }) as F;
  const unary = (method: string, fn: (req: Msg) => Promise<unknown>): Unary =>
    timed(method, (call, cb) => {
      const start = performance.now();
      fn(call.request).then(
        (r) => {
          hooks.onRequest?.(method, "OK", (performance.now() - start) / 1000);
          cb(null, r);
        },
        (err) => {
          const e = toGrpcError(err);
          hooks.onRequest?.(method, grpc.status[e.code], (performance.now() - start) / 1000);
          cb(e);
        },
      );
    });
  const result = (value: unknown, exitCode = 0) => ({
    result_json: JSON.stringify(value),
    exit_code: exitCode,
  });
  const streaming = (
    method: string,
    fn: (req: Msg, onProgress: (p: Readonly<Progress>) => void) => Promise<unknown>,
    exitCodeOf: (r: Msg) => number = () => 0,
  ): Streaming =>
  (call) => {
    const start = performance.now();
    fn(call.request, (p) => call.write(progressMessage(p))).then(
      (r) => {
        call.write({ done: true, result: result(r, exitCodeOf(r)) });
        call.end();
        hooks.onRequest?.(method, "OK", (performance.now() - start) / 1000);
      },
      (err) => {
        const e = toGrpcError(err);
        hooks.onRequest?.(method, grpc.status[e.code], (performance.now() - start) / 1000);
        call.emit("error", e);
      },
    );
  };

  server.addService(tcfsService().service, {
    Status: unary("Status", () => Promise.resolve(core.status_())),
    CredentialStatus: unary("CredentialStatus", () => Promise.resolve(hooks.credentialStatus())),
    Mount: unary("Mount", async (req) => result(await hooks.mounts.mount(req.dir, req.names))),
    Unmount: unary(
      "Unmount",
      async (req) => result(await hooks.mounts.unmount(req.dir, req.force === true)),
    ),
    ListMounts: unary("ListMounts", () => Promise.resolve({ dirs: hooks.mounts.dirs() })),
    Push: (call: grpc.ServerDuplexStream<Msg, Msg>) => pushHandler(core, call, hooks),
    Pull: streaming(
      "Pull",
      (req, p) => core.pull({ remote: req.remote, local: req.local || undefined }, p),
    ),
    Hydrate: streaming("Hydrate", (req) => core.stub("hydrate", req.paths)),
    Unsync: unary("Unsync", async (req) => result(await core.stub("unsync", req.paths))),
    Pin: unary("Pin", async (req) => result(await core.stub("pin", req.paths))),
    Unpin: unary("Unpin", async (req) => result(await core.stub("unpin", req.paths))),
    Sync: streaming(
      "Sync",
      (req, p) => core.sync({ dir: req.dir || undefined, force: req.force, stubs: req.stubs }, p),
      (r: { errors: unknown[] }[]) => (r.some((x) => x.errors.length > 0) ? 1 : 0),
    ),
    SyncStatus: unary(
      "SyncStatus",
      async (req) => result(await core.status({ path: req.path || undefined, all: req.all })),
    ),
    Watch: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const kinds = new Set<string>(call.request.kinds ?? []);
      const stop = core.events.subscribe((e) => {
        if (kinds.size === 0 || kinds.has(e.kind)) call.write(e);
      });
      call.on("cancelled", stop);
      call.on("close", stop);
      call.on("error", stop);
    },
    ListConflicts: unary("ListConflicts", async () => result(await core.conflicts())),
    ResolveConflict: unary(
      "ResolveConflict",
      async (req) => result(await core.resolve({ path: req.path, keep: req.keep as Keep })),
    ),
    Shutdown: unary("Shutdown", () => {
      setTimeout(() => hooks.shutdown(), 10);
      return Promise.resolve(result({ shutdown: true }));
    }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `unix://${socket}`,
      grpc.ServerCredentials.createInsecure(),
      (err) =>
        err ? reject(new TcfsError(`cannot listen on ${socket}: ${err.message}`)) : resolve(),
    )
  );
  await Deno.chmod(socket, 0o600);
  return {
    socket,
    async close() {
      await new Promise<void>((resolve) => {
        // Calls still open after a second (a long push) are cut; their work is checkpointed.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await Deno.remove(socket).catch(() => {});
    },
  };
}

/** Push: a start message (paths), or file data streamed in pieces of at most 1 MiB. */
function pushHandler(
  core: DaemonCore,
  call: grpc.ServerDuplexStream<Msg, Msg>,
  hooks: ServerHooks,
): void {
  const began = performance.now();
  const observe = (code: string) =>
    hooks.onRequest?.("Push", code, (performance.now() - began) / 1000);
  let start: { paths: string[]; to: string } | undefined;
  let staging: string | undefined;
  const open = new Map<string, Deno.FsFile>();
  let chain = Promise.resolve();
  const fail = (err: unknown) => {
    const e = toGrpcError(err);
    observe(grpc.status[e.code]);
    call.emit("error", e);
  };
  call.on("data", (msg: { start?: { paths: string[]; to: string }; data?: Msg }) => {
    chain = chain.then(async () => {
      if (msg.start) start = msg.start;
      else if (msg.data) {
        const d = msg.data;
        if (!/^\/[^\0]*$/.test(d.name) || d.name.split("/").some((p: string) => p === "..")) {
          throw new TcfsError(`refused: bad remote name ${JSON.stringify(d.name)}`);
        }
        staging ??= await Deno.makeTempDir({ dir: hooks.stagingDir, prefix: "push-" });
        const path = `${staging}${d.name}`;
        let f = open.get(path);
        if (!f) {
          await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
          f = await Deno.open(path, { write: true, create: true });
          open.set(path, f);
        }
        await f.seek(Number(d.offset), Deno.SeekMode.Start);
        for (let off = 0; off < d.data.length;) off += await f.write(d.data.subarray(off));
        if (d.last) {
          f.close();
          open.delete(path);
          if (d.mode) await Deno.chmod(path, d.mode & 0o7777);
          if (d.mtime_ms) await Deno.utime(path, new Date(), new Date(Number(d.mtime_ms)));
        }
      }
    }).catch(fail);
  });
  call.on("end", () => {
    chain.then(async () => {
      for (const f of open.values()) f.close();
      const onProgress = (p: Readonly<Progress>) => call.write(progressMessage(p));
      let summary;
      if (staging) {
        // Staged data is not under a root: push it directly, its names are remote paths.
        summary = await core.pushStaged(staging, onProgress);
      } else {
        summary = await core.push(
          { paths: start?.paths ?? [], to: start?.to || undefined },
          onProgress,
        );
      }
      call.write({
        done: true,
        result: {
          result_json: JSON.stringify(summary),
          exit_code: summary.errors.length > 0 ? 1 : 0,
        },
      });
      call.end();
      observe("OK");
    }).catch(fail).finally(() => {
      if (staging) Deno.remove(staging, { recursive: true }).catch(() => {});
    });
  });
}
