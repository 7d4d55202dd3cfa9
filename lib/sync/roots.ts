/**
 * Sync roots: local directories kept in step with a remote directory. A root
 * is written `LOCAL` (remote `/<basename>`) or `LOCAL=REMOTE` in
 * `sync.roots`; `tcfs sync <dir>` also accepts a directory that is not
 * configured, with the same default mapping.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { normalizeRemotePath } from "../repo/mod.ts";

/** A local directory and the remote directory it mirrors. */
export interface SyncRoot {
  /** Absolute local path, no trailing slash. */
  local: string;
  /** Normalised remote path. */
  remote: string;
}

function absolute(path: string, cwd: string): string {
  const abs = path.startsWith("/") ? path : `${cwd}/${path}`;
  const parts: string[] = [];
  for (const p of abs.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

/** Parse one `sync.roots` entry. */
export function parseRoot(spec: string, cwd: string = Deno.cwd()): SyncRoot {
  const eq = spec.indexOf("=");
  const local = absolute(eq === -1 ? spec : spec.slice(0, eq), cwd);
  if (local === "/") throw new UsageError("the file system root cannot be a sync root");
  const remote = eq === -1
    ? `/${local.slice(local.lastIndexOf("/") + 1)}`
    : normalizeRemotePath(spec.slice(eq + 1));
  return { local, remote };
}

/**
 * The configured root containing `path` (the innermost one), with the path's
 * position inside it (`""` for the root itself), or null.
 */
export function findRoot(
  roots: SyncRoot[],
  path: string,
  cwd: string = Deno.cwd(),
): { root: SyncRoot; rel: string } | null {
  const abs = absolute(path, cwd);
  let best: { root: SyncRoot; rel: string } | null = null;
  for (const root of roots) {
    if (abs === root.local || abs.startsWith(root.local + "/")) {
      const rel = abs === root.local ? "" : abs.slice(root.local.length + 1);
      if (!best || root.local.length > best.root.local.length) best = { root, rel };
    }
  }
  return best;
}

/** The remote path of `rel` inside `root`. */
export function remotePathOf(root: SyncRoot, rel: string): string {
  if (rel === "") return root.remote;
  return root.remote === "/" ? `/${rel}` : `${root.remote}/${rel}`;
}

/** A key identifying a root in the state database. */
export function rootKey(root: SyncRoot): string {
  return `${root.local}=${root.remote}`;
}
