/**
 * A process that mounts a world's repository and then waits to be killed:
 * the kill -9 durability test runs it as a child, writes through the mount,
 * SIGKILLs it and checks that a new process recovers every acknowledged
 * write from the journal.
 *
 * Usage: `deno run -A mount_child.ts <world tmp dir> <mountpoint>`; prints
 * `mounted` on stdout once the mount serves requests.
 *
 * @module
 */

import { join } from "node:path";
import { ChunkCache } from "../../cache/mod.ts";
import { mountFileSystem } from "../../fuse/session.ts";
import { Logger } from "../../log/mod.ts";
import { Repository } from "../../repo/mod.ts";
import { FileStore } from "../../storage/mod.ts";
import { TcfsFileSystem } from "../filesystem.ts";
import { MOUNT_DEVICE } from "./world.ts";

const [tmp, mountpoint] = Deno.args;
const repo = await Repository.open(await FileStore.open(join(tmp, "repo")));
const cache = await ChunkCache.open(repo, { dir: join(tmp, "cache-child"), maxBytes: 64 << 20 });
const fs = await TcfsFileSystem.open({
  repo,
  device: MOUNT_DEVICE,
  ns: await repo.refresh(),
  cache,
  journalDir: join(tmp, "journal"),
  // Nothing is committed before the kill: only the journal can save the writes.
  commitDelayMs: 600_000,
  log: new Logger({ level: "error" }),
});
await fs.recover();
await mountFileSystem(fs, mountpoint, { fsName: "tcfs-child" });
// The mount exists; a stat through it proves the session answers.
await Deno.stat(mountpoint);
console.log("mounted");
await new Promise(() => {});
