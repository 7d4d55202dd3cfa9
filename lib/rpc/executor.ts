/**
 * Choosing who runs a command: the daemon when one answers on the configured
 * socket (so one process owns the state), otherwise this process.
 *
 * @module
 */

import { DirectExecutor, type Executor } from "../app/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";

/** A daemon client if a daemon is running, else a direct executor. */
export async function openExecutor(config: Config, log: Logger): Promise<Executor> {
  try {
    await Deno.lstat(config.daemon.socket);
  } catch {
    return new DirectExecutor(config, log);
  }
  // gRPC is loaded only when a daemon socket exists: without a daemon, loading it would be
  // most of a short command's start-up (~40 ms).
  const { DaemonClient } = await import("./client.ts");
  const daemon = await DaemonClient.connect(config.daemon.socket);
  if (daemon) {
    log.debug("using the running daemon", { socket: config.daemon.socket });
    return daemon;
  }
  return new DirectExecutor(config, log);
}
