/**
 * Remote paths: the names files have inside the repository. They are
 * absolute, `/`-separated and normalised (`/a/b`, root is `/`). Names read
 * from the bucket are untrusted: {@link checkRemoteName} rejects anything that
 * could escape a destination directory when pulled.
 *
 * @module
 */

import { IntegrityError, UsageError } from "../errors.ts";

/** Longest file name component accepted (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/**
 * Why a single path component is unsafe, or `null` if it is fine: empty, `.`
 * or `..`, a separator or NUL inside it, or longer than NAME_MAX bytes.
 */
export function unsafeNameReason(name: string): string | null {
  if (name === "") return "empty name";
  if (name === "." || name === "..") return `'${name}' is not allowed as a name`;
  if (name.includes("/")) return "separator '/' inside a name";
  if (name.includes("\\")) return "separator '\\' inside a name";
  if (name.includes("\0")) return "NUL inside a name";
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) {
    return `name longer than ${MAX_NAME_BYTES} bytes`;
  }
  return null;
}

/** Throw an IntegrityError unless `name` is a safe component of a stored path. */
export function checkRemoteName(name: string, where: string): void {
  const why = unsafeNameReason(name);
  if (why) throw new IntegrityError(`unsafe name in the repository at ${where}: ${why}`);
}

/**
 * Validate a path read from the repository: absolute, normalised, every
 * component safe. Returns it unchanged.
 */
export function checkStoredPath(path: string): string {
  if (path === "/") return path;
  if (!path.startsWith("/")) {
    throw new IntegrityError(`unsafe path in the repository: ${JSON.stringify(path)} is relative`);
  }
  for (const part of path.slice(1).split("/")) checkRemoteName(part, JSON.stringify(path));
  return path;
}

/**
 * Normalise a remote path typed by the user: a leading `/` is implied,
 * repeated and trailing separators are dropped, `.` is ignored; `..` and NUL
 * are refused (a usage error, not an integrity one).
 */
export function normalizeRemotePath(input: string): string {
  const parts: string[] = [];
  for (const part of input.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." || part.includes("\0")) {
      throw new UsageError(`remote path ${JSON.stringify(input)}: '..' and NUL are not allowed`);
    }
    parts.push(part);
  }
  return "/" + parts.join("/");
}

/** Join a normalised directory path and a name. */
export function joinRemote(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** The parent of a normalised path (`/` for top-level entries and for `/`). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** The last component of a normalised path (`""` for `/`). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
