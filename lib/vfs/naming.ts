/**
 * How the mount names its entries. With `names: "stubs"` a file that is not
 * local is listed as `name.tc` and a directory never listed as `name.tcf`,
 * as on a plain disk synced with stubs; looking up either spelling reaches
 * the entry. With `names: "real"` every entry shows under its real name.
 *
 * A real entry whose name happens to end in `.tc` wins over a stub spelling
 * that collides with it: the stub is then reachable only by its real name.
 *
 * @module
 */

import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { InodeView, Node } from "./inodes.ts";

/** Naming of the mount's entries. */
export type NamesMode = "stubs" | "real";

/** A name in a directory as the kernel sees it. */
export interface VisibleEntry {
  /** The name listed. */
  name: string;
  /** The node it stands for. */
  node: Node;
  /** Whether the name is the node itself or its stub alias. */
  view: InodeView;
}

/** Whether a node shows as a stub: a file not wholly local, or a directory never listed. */
export type StubTest = (node: Node) => boolean;

/** The name a child shows under. */
export function visibleName(node: Node, mode: NamesMode, isStub: StubTest): string {
  if (mode === "real" || !isStub(node)) return node.name;
  return node.name + (node.kind === "dir" ? DIR_STUB_SUFFIX : FILE_STUB_SUFFIX);
}

/** The visible entries of a directory, in name order, without collisions. */
export function listVisible(dir: Node, mode: NamesMode, isStub: StubTest): VisibleEntry[] {
  const children = dir.children ?? new Map<string, Node>();
  const out: VisibleEntry[] = [];
  for (const node of children.values()) {
    const name = visibleName(node, mode, isStub);
    if (name === node.name) out.push({ name, node, view: "node" });
    // A real child of the same name hides the stub spelling.
    else if (!children.has(name)) out.push({ name, node, view: "stub" });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a name looked up in a directory reaches. */
export interface Resolved {
  /** The node. */
  node: Node;
  /** The node itself, or its stub alias (`name.tc`, `name.tcf` while they are listed). */
  view: InodeView;
}

/**
 * Resolve `name` in `dir`: the child of that real name, else (stubs view)
 * the child a stub spelling stands for. A stub spelling of a node that is no
 * longer a stub reaches nothing: it was renamed to its real name.
 */
export function resolveName(
  dir: Node,
  name: string,
  mode: NamesMode,
  isStub: StubTest,
): Resolved | undefined {
  const direct = dir.children?.get(name);
  if (direct) return { node: direct, view: "node" };
  if (mode === "real") return undefined;
  for (const [suffix, kind] of [[FILE_STUB_SUFFIX, "file"], [DIR_STUB_SUFFIX, "dir"]] as const) {
    if (!name.endsWith(suffix) || name.length === suffix.length) continue;
    const node = dir.children?.get(name.slice(0, -suffix.length));
    if (node?.kind === kind && isStub(node)) return { node, view: "stub" };
  }
  return undefined;
}
