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
import { ConfigError } from "../errors.ts";
import { HydrationReporter } from "../events/mod.ts";
import {
  createTcfsMetrics,
  instrumentStore,
  type MetricsServer,
  observeGrpc,
  serveMetrics,
} from "../metrics/mod.ts";
import { startRpcServer } from "../rpc/mod.ts";
import { DaemonCore } from "./core.ts";
import { DaemonCredentials } from "./credentials.ts";
import { MountManager } from "./mounts.ts";
import { hookUpStateEvents } from "./state_events.ts";
import { sdNotify } from "./systemd.ts";

/** How long a shutdown waits for running operations before checkpointing them. */
const DRAIN_MS = 3000;

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
  const { log } = opts;
  const started = performance.now();
  const credentials = new DaemonCredentials();
  const config = await credentials.load(opts.config, log);
  const metrics = createTcfsMetrics();
  const session = await openSession(config, (store) => instrumentStore(store, metrics));
  const core = new DaemonCore(session, log, metrics);
  core.credentialStep = credentials.report.step;
  // State events on NATS: commits announced at once, other devices' commits synced at once.
  // Workers' prefetch hints warm the mounts' chunk cache; they come over the network, so only
  // once this function has gone on and `mounts` exists.
  const stateEvents = hookUpStateEvents(
    core,
    session,
    log,
    !opts.noSyncLoop,
    (hint) => mounts.warm(hint),
  );
  // Every hydration in a mount is counted, and published to HYDRATION_EVENTS with NATS.
  const hydrations = new HydrationReporter({
    repo: session.repo,
    device: session.device,
    metrics,
    sink: stateEvents?.hydrationSink,
  });
  // Writes a crashed run's mounts acknowledged are committed now, before any mount.
  const mounts = new MountManager({ session, events: core.events, log, metrics, hydrations });
  mounts.start();
  core.mounts = mounts;
  credentials.watch(config, session.repo.store, log, (ok, message) => {
    metrics.credentialReloads.inc({ outcome: ok ? "ok" : "error" });
    core.events.emit(ok ? "credentials_reloaded" : "error", "", message);
    if (ok) log.info(message);
    else log.error("credential reload failed", { error: message });
  });
  let http: MetricsServer | undefined;
  if (config.daemon.metrics_listen !== "") {
    const { hostname, port } = parseListen(config.daemon.metrics_listen);
    try {
      http = serveMetrics({
        registry: metrics.registry,
        hostname,
        port,
        // Ready means the repository answers: its config object can be read.
        ready: async () => {
          if (!(await session.repo.store.head("config"))) {
            throw new Error("repository config missing");
          }
        },
      });
    } catch (err) {
      // Metrics are not worth refusing to sync over; say so loudly instead.
      log.error("metrics endpoint not started", {
        listen: config.daemon.metrics_listen,
        error: (err as Error).message,
      });
    }
  }
  const stagingDir = `${config.state.dir}/incoming`;
  await Deno.mkdir(stagingDir, { recursive: true, mode: 0o700 });
  let stopping: (() => void) | null = null;
  const stopped = new Promise<void>((resolve) => stopping = resolve);
  const server = await startRpcServer(core, config.daemon.socket, {
    stagingDir,
    credentialStatus: () => credentials.report,
    shutdown: () => stopping?.(),
    mounts,
    onRequest: (method, code, seconds) => observeGrpc(metrics, method, code as never, seconds),
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
    metrics: http?.url ?? "off",
    roots: roots.map((r) => r.local),
    startup_ms: Math.round(performance.now() - started),
  });

  await stopped;
  log.info("daemon stopping");
  await sdNotify("STOPPING=1").catch(() => {});
  clearTimeout(loop);
  credentials.stop();
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  await server.close();
  // Let running work finish for a few seconds. A push still running after that is cut off:
  // everything it committed is complete (records are atomic), and its upload journal makes
  // the next push skip what was already stored. Sync state is written only after commits.
  const drained = await Promise.race([
    core.drain().then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS)),
  ]);
  if (!drained) log.warn("work still running at shutdown was checkpointed; it resumes next time");
  await mounts.close();
  await stateEvents?.close();
  await http?.shutdown();
  await session.close();
  log.info("daemon stopped");
  return 0;
}

/** Split `host:port` (IPv6 as `[::1]:port`). */
function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError(`daemon.metrics_listen: expected host:port, got '${listen}'`);
  return { hostname: m[1] ?? m[2], port: Number(m[3]) };
}
