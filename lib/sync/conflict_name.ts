/**
 * Names of conflict copies: `report (conflict 0123abcd 2026-11-25 10.31.07 #12).txt`.
 * The name depends only on the version (its device, time, and the sequence
 * number of the record that holds it), so every device materialises the same
 * copy under the same name, and two versions from one device within a second
 * never share a name.
 *
 * @module
 */

import type { PathVersion } from "../repo/mod.ts";

/** The conflict copy name of `rel` for version `v`. */
export function conflictCopyName(
  rel: string,
  v: Pick<PathVersion, "device" | "time" | "seq">,
): string {
  const slash = rel.lastIndexOf("/");
  const dir = rel.slice(0, slash + 1);
  const name = rel.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const when = new Date(v.time).toISOString().slice(0, 19).replace("T", " ").replaceAll(":", ".");
  return `${dir}${stem} (conflict ${v.device.slice(-8)} ${when} #${v.seq})${ext}`;
}
