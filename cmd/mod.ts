/**
 * Every subcommand of `tcfs`, in the order `tcfs --help` lists them. Each is
 * loaded only when it runs (or the command list is shown), so that starting
 * `tcfs push` does not load the daemon, FUSE, queue or coordinator modules.
 * To add one: a `lazyCommand` entry with the name it is typed as.
 *
 * @module
 */

import { type CommandEntry, lazyCommand } from "../lib/cli/mod.ts";

/** All subcommands. */
export const COMMANDS: readonly CommandEntry[] = [
  lazyCommand("init", async () => (await import("./init.ts")).initCommand),
  lazyCommand("push", async () => (await import("./push.ts")).pushCommand),
  lazyCommand("pull", async () => (await import("./pull.ts")).pullCommand),
  lazyCommand("ls", async () => (await import("./ls.ts")).lsCommand),
  lazyCommand("sync", async () => (await import("./sync.ts")).syncCommand),
  lazyCommand("status", async () => (await import("./status.ts")).statusCommand),
  lazyCommand("conflicts", async () => (await import("./conflicts.ts")).conflictsCommand),
  lazyCommand("resolve", async () => (await import("./resolve.ts")).resolveCommand),
  lazyCommand("unsync", async () => (await import("./unsync.ts")).unsyncCommand),
  lazyCommand("hydrate", async () => (await import("./hydrate.ts")).hydrateCommand),
  lazyCommand("pin", async () => (await import("./pin.ts")).pinCommand),
  lazyCommand("unpin", async () => (await import("./unpin.ts")).unpinCommand),
  lazyCommand("trash", async () => (await import("./trash.ts")).trashCommand),
  lazyCommand("restore", async () => (await import("./restore.ts")).restoreCommand),
  lazyCommand("mount", async () => (await import("./mount.ts")).mountCommand),
  lazyCommand("unmount", async () => (await import("./unmount.ts")).unmountCommand),
  lazyCommand("daemon", async () => (await import("./daemon.ts")).daemonCommand),
  lazyCommand("events", async () => (await import("./events.ts")).eventsCommand),
  lazyCommand("worker", async () => (await import("./worker.ts")).workerCommand),
  lazyCommand("coordinator", async () => (await import("./coordinator.ts")).coordinatorCommand),
  lazyCommand("device", async () => (await import("./device.ts")).deviceCommand),
  lazyCommand("credentials", async () => (await import("./credentials.ts")).credentialsCommand),
  lazyCommand("sops", async () => (await import("./sops.ts")).sopsCommand),
  lazyCommand("config", async () => (await import("./config.ts")).configCommand),
  lazyCommand("version", async () => (await import("./version.ts")).versionCommand),
];
