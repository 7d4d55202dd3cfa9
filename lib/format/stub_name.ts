/**
 * Names of stubs on disk: `NAME.tc` stands for the remote file `NAME`,
 * `NAME.tcf` for the remote directory `NAME`.
 *
 * A real file whose name ends in `.tc` cannot be told from a stub by its name
 * alone, so these helpers only do the spelling; deciding what an entry is
 * belongs to code that has the path's state record.
 *
 * @module
 */

import { checkName, located, quote, StubFormatError } from "./stub_syntax.ts";

/** Name suffix of a file stub. */
export const FILE_STUB_SUFFIX = ".tc";

/** Name suffix of a directory stub. */
export const DIR_STUB_SUFFIX = ".tcf";

/** True when `name` is a stub's name: a valid real name followed by `.tc` or `.tcf`. */
export function isStubName(name: string): boolean {
  const real = stripSuffix(name);
  if (real === undefined) return false;
  try {
    checkName(real, "name");
    return true;
  } catch {
    return false;
  }
}

function stripSuffix(name: string): string | undefined {
  if (name.endsWith(FILE_STUB_SUFFIX)) return name.slice(0, -FILE_STUB_SUFFIX.length);
  if (name.endsWith(DIR_STUB_SUFFIX)) return name.slice(0, -DIR_STUB_SUFFIX.length);
  return undefined;
}

/** The name of the stub standing for the file or directory `name`. */
export function stubNameFor(name: string, kind: "file" | "dir"): string {
  located("cannot make a stub name", () => checkName(name, "name"));
  return name + (kind === "dir" ? DIR_STUB_SUFFIX : FILE_STUB_SUFFIX);
}

/** The real name behind a stub name; throws {@linkcode StubFormatError} if it is not one. */
export function realNameOf(stubName: string): string {
  const real = stripSuffix(stubName);
  if (real === undefined || !isStubName(stubName)) {
    throw new StubFormatError(
      `not a stub name: ${quote(stubName)} (expected <name>.tc or <name>.tcf)`,
    );
  }
  return real;
}
