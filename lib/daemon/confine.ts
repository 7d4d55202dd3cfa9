/**
 * Confinement of request paths to the sync roots. Every local path a daemon
 * request names is made absolute, normalised, and resolved through symlinks
 * (for a path that does not exist yet, through its nearest existing
 * ancestor); it must then lie inside a configured root, whoever asks. This
 * is what stops a request for `/etc/passwd` or `../../x`.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";

/** A request named a path outside every sync root. */
export class PathOutsideRootsError extends TcfsError {}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

async function realPathOfPrefix(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = await Deno.realPath(current);
      return rest.length === 0 ? real : normalize(`${real}/${rest.reverse().join("/")}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || current === "/") throw err;
      rest.push(current.slice(current.lastIndexOf("/") + 1));
      current = current.slice(0, current.lastIndexOf("/")) || "/";
    }
  }
}

/**
 * Resolve `path` (which must be absolute) and check that it is inside one of
 * `roots`; returns the resolved path.
 */
export async function confinePath(path: string, roots: string[]): Promise<string> {
  if (!path.startsWith("/")) {
    throw new PathOutsideRootsError(`refused: ${JSON.stringify(path)} is not an absolute path`);
  }
  if (path.includes("\0")) throw new PathOutsideRootsError("refused: a path contains NUL");
  const resolved = await realPathOfPrefix(normalize(path));
  for (const root of roots) {
    const realRoot = await realPathOfPrefix(normalize(root));
    if (resolved === realRoot || resolved.startsWith(realRoot + "/")) return resolved;
  }
  throw new PathOutsideRootsError(
    `refused: ${path} is outside the sync roots (${roots.join(", ") || "none configured"})`,
  );
}
