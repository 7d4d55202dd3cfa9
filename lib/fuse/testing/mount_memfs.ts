/**
 * Mounts a {@linkcode MemFs} holding `hello.txt` at the directory given as the
 * first argument, starts a `sleep` child that outlives it (as a daemon's
 * helpers might), prints "mounted <sleep pid>" on stdout and serves until
 * unmounted or killed. Tests kill it to check that a dead daemon leaves no
 * mount behind even while its children live on.
 *
 * Usage: `deno run -A lib/fuse/testing/mount_memfs.ts <dir> [fusermount|syscall]`
 *
 * @module
 */

import { mountFileSystem } from "../session.ts";
import { ROOT_INO } from "../ops.ts";
import { MemFs } from "./memfs.ts";

const [dir, method = "fusermount"] = Deno.args;
if (!dir || (method !== "fusermount" && method !== "syscall")) {
  console.error("usage: mount_memfs.ts <dir> [fusermount|syscall]");
  Deno.exit(2);
}
const fs = new MemFs();
fs.putFile(ROOT_INO, "hello.txt", new TextEncoder().encode("hello\n"));
const server = await mountFileSystem(fs, dir, { method, fsName: "memfs" });
const sleeper = new Deno.Command("sleep", { args: ["120"], stdin: "null", stdout: "null" }).spawn();
sleeper.unref();
console.log(`mounted ${sleeper.pid}`);
await server.closed;
