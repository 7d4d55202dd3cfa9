/**
 * The object-store interface every storage backend implements, and the few
 * helpers that belong to the contract itself (key rules, key order, paging).
 *
 * The interface is deliberately small: it is the subset of S3 that tcfs relies
 * on, so any backend that offers it (a local directory, Ceph RGW, AWS, R2 ...)
 * behaves the same to the layers above.
 *
 * @module
 */

import { StorageError } from "../errors.ts";

/** What a backend knows about one stored object. */
export interface ObjectInfo {
  /** Key relative to the store root. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Opaque version tag without quotes; changes when the content changes. */
  etag?: string;
  /** When the object was last written. */
  lastModified?: Date;
}

/** One page of a listing. */
export interface ListPage {
  /** Objects on this page, in key order. */
  objects: ObjectInfo[];
  /** Common prefixes (each ends with the delimiter) when a delimiter was given, in key order. */
  prefixes: string[];
  /** Pass back as `ListOptions.token` to get the next page; absent on the last page. */
  nextToken?: string;
}

/** Options of {@linkcode ObjectStore.listPage}. */
export interface ListOptions {
  /** Roll keys that contain this string after the prefix up into `prefixes`. */
  delimiter?: string;
  /** Only list keys that sort after this key. */
  startAfter?: string;
  /** Most entries (objects plus prefixes) per page: 1 to 1000, default 1000. */
  pageSize?: number;
  /** `nextToken` of the previous page. */
  token?: string;
}

/** A byte range of an object: `length` bytes from `offset`. */
export interface ByteRange {
  /** First byte, counted from 0. */
  offset: number;
  /** Number of bytes; fewer come back when the object ends first. */
  length: number;
}

/**
 * A flat store of immutable-by-convention byte objects addressed by
 * '/'-separated keys relative to the store root.
 */
export interface ObjectStore {
  /** Human-readable location without credentials, e.g. "s3://bucket/prefix" or "file:///srv/repo". */
  readonly url: string;
  /** Read an object, or a range of it; throws NotFoundError if it is absent. */
  get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array>;
  /** Write an object, replacing any previous content; readers never see a partial object. */
  put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Write an object only if the key is free; false if it already existed. Atomic. */
  putIfAbsent(key: string, body: Uint8Array, signal?: AbortSignal): Promise<boolean>;
  /** Describe an object, or null if it is absent. */
  head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null>;
  /** List one page of keys starting with `prefix`, in key order. */
  listPage(prefix: string, opts?: ListOptions, signal?: AbortSignal): Promise<ListPage>;
  /** Remove an object; removing an absent object is not an error. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Release connections and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** Largest page a listing returns (the S3 limit). */
export const MAX_PAGE_SIZE: number = 1000;

/** Iterate all objects under a prefix across pages. */
export async function* listAll(
  store: ObjectStore,
  prefix: string,
  opts: Omit<ListOptions, "token"> = {},
): AsyncGenerator<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await store.listPage(prefix, { ...opts, token });
    yield* page.objects;
    token = page.nextToken;
  } while (token !== undefined);
}

/**
 * Check that a key is safe to hand to any backend; throws StorageError if not.
 *
 * Keys are '/'-separated relative paths. Empty segments, "." and ".." segments,
 * a leading or trailing '/', and NUL are rejected so that no key can escape the
 * store root of a directory-backed store, and so that every backend accepts
 * exactly the same keys.
 */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new StorageError(`invalid object key ${JSON.stringify(key)}: ${problem}`);
  }
}

/**
 * Check a listing prefix; throws StorageError if it is unsafe.
 *
 * A prefix is any start of a valid key: "" lists everything, "a/" lists under
 * a folder, "a/b" also matches "a/bc".
 */
export function validatePrefix(prefix: string): void {
  if (prefix === "") return;
  const slash = prefix.lastIndexOf("/");
  const problem = prefix.includes("\0")
    ? "contains NUL"
    : slash < 0
    ? undefined
    : keyProblem(prefix.slice(0, slash));
  if (problem !== undefined) {
    throw new StorageError(`invalid listing prefix ${JSON.stringify(prefix)}: ${problem}`);
  }
}

/** Check a byte range; throws StorageError unless offset and length are non-negative integers. */
export function validateRange(range: ByteRange): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw new StorageError(
      `invalid byte range offset=${range.offset} length=${range.length}: ` +
        "both must be non-negative integers",
    );
  }
}

/** Check a listing page size and apply the default; sizes above the maximum are capped like S3 does. */
export function validatePageSize(pageSize: number | undefined): number {
  if (pageSize === undefined) return MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new StorageError(`invalid listing page size ${pageSize}: use 1 to ${MAX_PAGE_SIZE}`);
  }
  return Math.min(pageSize, MAX_PAGE_SIZE);
}

function keyProblem(key: string): string | undefined {
  if (key === "") return "it is empty";
  if (key.includes("\0")) return "contains NUL";
  if (key.startsWith("/")) return "starts with '/'";
  if (key.endsWith("/")) return "ends with '/'";
  for (const segment of key.split("/")) {
    if (segment === "") return "contains an empty segment ('//')";
    if (segment === "." || segment === "..") return `contains a '${segment}' segment`;
  }
  return undefined;
}

/**
 * Compare two keys in the order S3 lists them: by UTF-8 bytes.
 *
 * JavaScript's `<` compares UTF-16 code units, which disagrees with UTF-8 byte
 * order when a surrogate pair meets a code unit in U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // A surrogate encodes a code point above U+FFFF, which outranks any BMP unit.
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
