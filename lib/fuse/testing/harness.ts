/**
 * Test harness for real FUSE mounts: mount a file system in a fresh temp
 * directory, run a test body, and always leave no mount behind.
 *
 * @module
 */

import { isMounted, unmountPath } from "../mount.ts";
import type { FileSystem, FuseServer, MountOptions } from "../ops.ts";
import { mountFileSystem } from "../session.ts";

/**
 * How long one shell command may run. A file-system bug that leaves a request
 * unanswered must fail the test, not hang the suite: `timeout` kills the
 * whole process group, and a process waiting on a FUSE request dies on SIGKILL.
 */
const SHELL_TIMEOUT_SECONDS = 600;

/** Outcome of a shell command run by {@linkcode sh}. */
export interface ShellResult {
  /** Exit code. */
  code: number;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

/**
 * Run `script` with bash in `cwd`; never throws on a non-zero exit. The
 * script changes directory itself: a process that serves a mount must not
 * spawn with its cwd inside that mount, because the spawn suspends the parent
 * until the child's chdir, which waits on the parent to answer.
 */
export async function sh(script: string, cwd?: string): Promise<ShellResult> {
  const cd = cwd === undefined ? "" : `cd '${cwd.replaceAll("'", "'\\''")}' && `;
  const out = await new Deno.Command("timeout", {
    args: ["-s", "KILL", String(SHELL_TIMEOUT_SECONDS), "bash", "-c", cd + script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  // timeout(1) exits 137 when it had to kill the command.
  const stderr = out.code === 137
    ? `killed after ${SHELL_TIMEOUT_SECONDS} s (hung?)\n${d.decode(out.stderr)}`
    : d.decode(out.stderr);
  return { code: out.code, stdout: d.decode(out.stdout), stderr };
}

/** Run `script`; throw with its stderr unless it exits 0; resolve its stdout. */
export async function shOk(script: string, cwd?: string): Promise<string> {
  const r = await sh(script, cwd);
  if (r.code !== 0) throw new Error(`\`${script}\` exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Mount `fs` in a fresh temp directory, run `body`, then unmount (lazily if
 * needed) and remove the directory, whether `body` failed or not.
 */
export async function withMount(
  fs: FileSystem,
  body: (mountpoint: string, server: FuseServer) => Promise<void>,
  options: MountOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-fuse-" });
  const mountpoint = `${dir}/mnt`;
  await Deno.mkdir(mountpoint);
  let server: FuseServer | undefined;
  try {
    server = await mountFileSystem(fs, mountpoint, { fsName: "memfs", ...options });
    await body(mountpoint, server);
  } finally {
    if (server && await isMounted(server.mountpoint)) {
      await server.unmount({ lazy: true }).catch(() => {});
    }
    await server?.closed;
    if (await isMounted(mountpoint).catch(() => false)) {
      await unmountPath(mountpoint, { lazy: true }).catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
