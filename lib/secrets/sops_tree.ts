/**
 * Walking a SOPS document the way sops walks its tree: which scalars are
 * leaves, in which order, under which key path, and where comments sit.
 *
 * Facts this relies on:
 *
 * - Leaves are visited in document order; that order is the MAC's order.
 * - A leaf's path is the list of mapping keys from the top; list positions
 *   add nothing (`a: [x, y]` gives both items the path `a`). The additional
 *   data a value is sealed with is the path joined with `:` plus a trailing
 *   `:` (`a:b:`; `:` for a comment at the top).
 * - Null values are skipped entirely: not encrypted, not in the MAC.
 * - A comment belongs to the mapping or list it appears in; its additional
 *   data is that container's path. sops's YAML library and the `yaml`
 *   package sometimes attach a comment between two blocks to different
 *   containers, so {@linkcode CommentRef.candidates} lists the nearest
 *   container first and then every other one; the AES-GCM tag tells which
 *   one was used.
 *
 * Both YAML and JSON files are read with the `yaml` package (JSON is a
 * subset of YAML 1.2), which keeps key order and comments.
 *
 * @module
 */

import { type Document, isAlias, isCollection, isMap, isScalar, isSeq, type Scalar } from "yaml";
import { IntegrityError } from "../errors.ts";
import { keyText } from "./sops_scalar.ts";

/** A scalar leaf of the tree. */
export interface Leaf {
  /** The node; decryption replaces its value. */
  node: Scalar;
  /** Mapping keys from the top. */
  path: string[];
  /** The path for messages, with list positions: `a.b[2]`. */
  where: string;
}

/** A comment text attached to a node (one or more lines joined with `\n`). */
export interface CommentRef {
  /** The lines, without their `#`. */
  read(): string;
  /** Replace the lines. */
  write(text: string): void;
  /** Key paths of the containers it may belong to, nearest first. */
  candidates: string[][];
  /** The nearest container's path, for messages. */
  where: string;
}

/** The result of {@linkcode scanDocument}. */
export interface TreeScan {
  /** The scalar leaves, in document (and MAC) order. */
  leaves: Leaf[];
  /** Every comment text, wherever it is attached. */
  comments: CommentRef[];
}

type Commented = { commentBefore?: string | null; comment?: string | null };

/**
 * List the leaves and comments of one document, in document order.
 *
 * @param json the document is JSON (affects how keys are typed)
 * @throws {IntegrityError} for a non-string key, a YAML alias, or a top
 *   level that is not a mapping
 */
export function scanDocument(doc: Document, json: boolean, source: string): TreeScan {
  const leaves: Leaf[] = [];
  const near: { ref: Omit<CommentRef, "candidates">; path: string[] }[] = [];
  const containers = new Map<string, string[]>();

  const noteComments = (node: Commented, path: string[]) => {
    for (const field of ["commentBefore", "comment"] as const) {
      if (typeof node[field] === "string" && node[field] !== "") {
        near.push({
          path,
          ref: {
            read: () => node[field] ?? "",
            write: (t: string) => (node[field] = t),
            where: path.join(".") || "top level",
          },
        });
      }
    }
  };

  const walk = (node: unknown, path: string[], where: string, parent: string[]): void => {
    if (node === null || node === undefined) return;
    if (isAlias(node)) {
      throw new IntegrityError(`${source}: YAML aliases are not supported (at ${where || "top"})`);
    }
    if (isCollection(node)) {
      noteComments(node, path);
      containers.set(path.join("\0"), path);
    } else if (isScalar(node) || typeof node === "object") {
      noteComments(node as Commented, parent);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = keyText(pair.key, json);
        if (key === null) {
          throw new IntegrityError(
            `${source}: a key under ${where || "the top level"} is not a string ` +
              "(SOPS files support string keys only)",
          );
        }
        if (pair.key !== null && typeof pair.key === "object") noteComments(pair.key, path);
        walk(pair.value, [...path, key], where ? `${where}.${key}` : key, path);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, path, `${where}[${i}]`, path));
    } else if (isScalar(node)) {
      leaves.push({ node, path, where });
    }
  };

  noteComments(doc, []);
  containers.set("", []);
  const top = doc.contents;
  if (top !== null && !isMap(top)) {
    throw new IntegrityError(`${source}: the top level of a SOPS document must be a mapping`);
  }
  walk(top, [], "", []);

  const all = [...containers.values()];
  const comments = near.map(({ ref, path }) => {
    const seen = new Set<string>();
    const candidates: string[][] = [];
    const add = (p: string[]) => {
      const k = p.join("\0");
      if (!seen.has(k)) {
        seen.add(k);
        candidates.push(p);
      }
    };
    for (let n = path.length; n >= 0; n--) add(path.slice(0, n));
    all.forEach(add);
    return { ...ref, candidates };
  });
  return { leaves, comments };
}

/** The additional data a value at `path` is sealed with. */
export function additionalData(path: readonly string[]): string {
  return path.join(":") + ":";
}

/**
 * Remove the top-level `sops` entry of a document.
 *
 * @returns its value as plain data, or `undefined` if there is none
 */
export function takeMetadata(doc: Document): unknown {
  const top = doc.contents;
  if (!isMap(top)) return undefined;
  const i = top.items.findIndex((p) => isScalar(p.key) && p.key.value === "sops");
  if (i < 0) return undefined;
  const [pair] = top.items.splice(i, 1);
  const value = pair.value;
  return value !== null && typeof value === "object" && "toJSON" in value
    ? (value as { toJSON(): unknown }).toJSON()
    : value;
}

/** Render one document as indented JSON (tabs, as sops writes JSON), keeping key order. */
export function renderJson(doc: Document): string {
  return jsonOf(doc.contents, "") + "\n";
}

function jsonOf(node: unknown, indent: string): string {
  const inner = indent + "\t";
  if (isMap(node)) {
    if (node.items.length === 0) return "{}";
    const items = node.items.map((p) =>
      `${inner}${JSON.stringify(String(isScalar(p.key) ? p.key.value : p.key))}: ${
        jsonOf(p.value, inner)
      }`
    );
    return `{\n${items.join(",\n")}\n${indent}}`;
  }
  if (isSeq(node)) {
    if (node.items.length === 0) return "[]";
    return `[\n${node.items.map((v) => inner + jsonOf(v, inner)).join(",\n")}\n${indent}]`;
  }
  const v = isScalar(node) ? node.value : node;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return JSON.stringify(btoa(String.fromCharCode(...v)));
  return JSON.stringify(v ?? null) ?? "null";
}
