/**
 * Every subcommand of `tcfs`, in the order `tcfs --help` lists them.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { initCommand } from "./init.ts";
import { pushCommand } from "./push.ts";
import { pullCommand } from "./pull.ts";
import { lsCommand } from "./ls.ts";
import { syncCommand } from "./sync.ts";
import { conflictsCommand } from "./conflicts.ts";
import { resolveCommand } from "./resolve.ts";
import { trashCommand } from "./trash.ts";
import { restoreCommand } from "./restore.ts";
import { pinCommand } from "./pin.ts";
import { unpinCommand } from "./unpin.ts";
import { statusCommand } from "./status.ts";
import { unsyncCommand } from "./unsync.ts";
import { hydrateCommand } from "./hydrate.ts";
import { mountCommand } from "./mount.ts";
import { unmountCommand } from "./unmount.ts";
import { daemonCommand } from "./daemon.ts";
import { eventsCommand } from "./events.ts";
import { workerCommand } from "./worker.ts";
import { coordinatorCommand } from "./coordinator.ts";
import { configCommand } from "./config.ts";
import { credentialsCommand } from "./credentials.ts";
import { sopsCommand } from "./sops.ts";
import { deviceCommand } from "./device.ts";
import { versionCommand } from "./version.ts";

/** All subcommands. */
export const COMMANDS: readonly Command[] = [
  initCommand,
  pushCommand,
  pullCommand,
  lsCommand,
  syncCommand,
  statusCommand,
  conflictsCommand,
  resolveCommand,
  unsyncCommand,
  hydrateCommand,
  pinCommand,
  unpinCommand,
  trashCommand,
  restoreCommand,
  mountCommand,
  unmountCommand,
  daemonCommand,
  eventsCommand,
  workerCommand,
  coordinatorCommand,
  deviceCommand,
  credentialsCommand,
  sopsCommand,
  configCommand,
  versionCommand,
];
