/**
 * Choosing who runs a command: the daemon when one answers on the configured
 * socket (so one process owns the state), otherwise this process.
 *
 * @module
 */

import { DirectExecutor, type Executor } from "../app/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { DaemonClient } from "./client.ts";

/** A daemon client if a daemon is running, else a direct executor. */
export async function openExecutor(config: Config, log: Logger): Promise<Executor> {
  const daemon = await DaemonClient.connect(config.daemon.socket);
  if (daemon) {
    log.debug("using the running daemon", { socket: config.daemon.socket });
    return daemon;
  }
  return new DirectExecutor(config, log);
}
