/**
 * The Linux FUSE kernel protocol in TypeScript: mount a {@linkcode FileSystem}
 * (an inode-based interface, see ops.ts) over /dev/fuse and serve it, every
 * request as its own promise. Knows nothing of tcfs.
 *
 * ```ts
 * import { mountFileSystem } from "./lib/fuse/mod.ts";
 * const server = await mountFileSystem(myFs, "/mnt/x", { fsName: "tcfs", subtype: "tcfs" });
 * await server.notifier.invalEntry(1, "name.tc");
 * await server.unmount();
 * ```
 *
 * @module
 */

export * from "./ops.ts";
export { mountFileSystem } from "./session.ts";
export { isMounted, unmountPath } from "./mount.ts";
export { timespecToMs, toTimespec } from "./codec.ts";
