/**
 * The daemon process: open the session, serve the API, run the periodic sync
 * of the configured roots, tell systemd when ready, and on SIGTERM/SIGINT (or
 * a Shutdown call) stop taking requests, let running work finish or
 * checkpoint, flush state and exit 0.
 *
 * @module
 */

import { configuredRoots, openSession } from "../app/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { startRpcServer } from "../rpc/mod.ts";
import { DaemonCore } from "./core.ts";
import { sdNotify } from "./systemd.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Effective configuration. */
  config: Config;
  /** Logger. */
  log: Logger;
  /** Disable the periodic sync of the configured roots. */
  noSyncLoop?: boolean;
}

/** Run until asked to stop; resolves with the exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { config, log } = opts;
  const started = performance.now();
  const session = await openSession(config);
  const core = new DaemonCore(session, log);
  const stagingDir = `${config.state.dir}/incoming`;
  await Deno.mkdir(stagingDir, { recursive: true, mode: 0o700 });
  let stopping: (() => void) | null = null;
  const stopped = new Promise<void>((resolve) => stopping = resolve);
  const server = await startRpcServer(core, config.daemon.socket, {
    stagingDir,
    credentialStatus: () => ({
      step: core.credentialStep,
      source: "",
      files: [],
      s3_credentials: false,
      reloads: 0,
    }),
    shutdown: () => stopping?.(),
  });
  const onSignal = () => stopping?.();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);

  // Periodic sync of the configured roots; a failed round is logged and retried.
  let loop: ReturnType<typeof setTimeout> | undefined;
  const roots = configuredRoots(config);
  const tick = async () => {
    try {
      await core.sync({});
    } catch (err) {
      log.error("sync round failed", { error: (err as Error).message });
    }
    loop = setTimeout(tick, config.sync.poll_seconds * 1000);
  };
  if (!opts.noSyncLoop && roots.length > 0) loop = setTimeout(tick, 0);

  await sdNotify("READY=1").catch((err) =>
    log.warn("systemd notify failed", { error: err.message })
  );
  log.info("daemon ready", {
    socket: config.daemon.socket,
    roots: roots.map((r) => r.local),
    startup_ms: Math.round(performance.now() - started),
  });

  await stopped;
  log.info("daemon stopping");
  await sdNotify("STOPPING=1").catch(() => {});
  clearTimeout(loop);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  await server.close();
  await core.drain();
  await session.close();
  log.info("daemon stopped");
  return 0;
}
