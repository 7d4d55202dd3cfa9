/**
 * The `file://` backend: an object store in a local directory, the embedded
 * default that needs nothing installed.
 *
 * On-disk layout. A key "a/b/c" is stored as `<root>/a%2F/b%2F/c`: every
 * folder level is named after its key prefix "a/" percent-encoded, and every
 * object file after its last key segment, with '%' itself written as "%25".
 * Folder names therefore always end in "%2F" and file names never do, so the
 * keys "a" and "a/b" can both exist, as they can in S3. Names that no key
 * encodes to, like the temp folder `%tmp`, never appear in listings.
 *
 * Writes go to a temp file in `<root>/%tmp/`, are fsynced, then renamed (put)
 * or hard-linked (putIfAbsent, atomic against other writers) into place, and
 * the folder is fsynced: a reader or a crash never sees half an object.
 *
 * @module
 */

import { fileURLToPath, pathToFileURL } from "node:url";
import { NotFoundError, StorageError } from "../errors.ts";
import { mapLimit } from "./limit.ts";
import {
  type ByteRange,
  compareKeys,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  validateKey,
  validatePageSize,
  validatePrefix,
  validateRange,
} from "./store.ts";

/** Options of {@linkcode FileStore.open}. */
export interface FileStoreOptions {
  /** Temp files older than this (left by a crash) are removed on open; default one hour. */
  staleTempMs?: number;
}

const TEMP_DIR = "%tmp";
const DIR_SUFFIX = "%2F";
/** Tries of "create the parent folder, then move in" against a concurrent delete pruning it. */
const PLACE_TRIES = 5;

/** An {@linkcode ObjectStore} in a local directory. */
export class FileStore implements ObjectStore {
  /** `file://` URL of the root directory. */
  readonly url: string;
  /** Absolute path of the root directory. */
  readonly root: string;
  #tempDir: string;

  private constructor(root: string) {
    this.root = root;
    this.url = pathToFileURL(root).href;
    this.#tempDir = `${root}/${TEMP_DIR}`;
  }

  /**
   * Open (creating if needed) a store rooted at an absolute path or `file:` URL,
   * and clear temp files a crashed writer left behind.
   */
  static async open(location: string | URL, options: FileStoreOptions = {}): Promise<FileStore> {
    const path = typeof location === "string" ? location : fileURLToPath(location);
    if (!path.startsWith("/")) {
      throw new StorageError(`file store root must be an absolute path, got ${path}`);
    }
    const root = path.length > 1 ? path.replace(/\/+$/, "") : path;
    const store = new FileStore(root);
    try {
      await Deno.mkdir(store.#tempDir, { recursive: true });
    } catch (err) {
      throw store.#fail("open", root, err);
    }
    await store.#removeStaleTemps(options.staleTempMs ?? 3_600_000);
    return store;
  }

  /** Read an object or a range of it. */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    validateKey(key);
    const path = this.#pathOf(key);
    try {
      if (range === undefined) return await Deno.readFile(path, { signal });
      validateRange(range);
      using file = await Deno.open(path, { read: true });
      const size = (await file.stat()).size;
      const end = Math.min(size, range.offset + range.length);
      const out = new Uint8Array(Math.max(0, end - range.offset));
      await file.seek(range.offset, Deno.SeekMode.Start);
      for (let n = 0; n < out.length;) {
        signal?.throwIfAborted();
        const got = await file.read(out.subarray(n));
        if (got === null) return out.subarray(0, n);
        n += got;
      }
      return out;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`object ${key} not found in ${this.url}`, { cause: err });
      }
      throw this.#fail("get", key, err, signal);
    }
  }

  /** Write an object atomically, replacing any previous one. */
  async put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    validateKey(key);
    const path = this.#pathOf(key);
    const temp = await this.#writeTemp(key, body, signal);
    try {
      await this.#place(key, () => Deno.rename(temp, path));
    } catch (err) {
      await removeQuietly(temp);
      throw this.#fail("put", key, err, signal);
    }
  }

  /** Write an object unless the key exists; a hard link makes the check-and-create atomic. */
  async putIfAbsent(key: string, body: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    validateKey(key);
    const path = this.#pathOf(key);
    const temp = await this.#writeTemp(key, body, signal);
    try {
      await this.#place(key, () => Deno.link(temp, path));
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return false;
      throw this.#fail("putIfAbsent", key, err, signal);
    } finally {
      await removeQuietly(temp);
    }
  }

  /** Describe an object, or null if absent. */
  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    validateKey(key);
    signal?.throwIfAborted();
    try {
      return info(key, await Deno.stat(this.#pathOf(key)));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw this.#fail("head", key, err);
    }
  }

  /** List one page of keys under `prefix` in S3 order; see {@linkcode ObjectStore.listPage}. */
  async listPage(prefix: string, opts: ListOptions = {}, signal?: AbortSignal): Promise<ListPage> {
    validatePrefix(prefix);
    const pageSize = validatePageSize(opts.pageSize);
    const delimiter = opts.delimiter === "" ? undefined : opts.delimiter;
    let after = opts.startAfter;
    // Keys under `skip` were already rolled up into a common prefix.
    let skip: string | undefined;
    if (opts.token !== undefined) {
      const resume = decodeToken(opts.token);
      if (after === undefined || compareKeys(resume.after, after) > 0) after = resume.after;
      skip = resume.skip;
    }
    const prune = (dirPrefix: string): boolean =>
      (skip !== undefined && dirPrefix.startsWith(skip)) ||
      (after !== undefined && compareKeys(dirPrefix, after) < 0 && !after.startsWith(dirPrefix));

    const keys: string[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let more = false;
    const slash = prefix.lastIndexOf("/");
    try {
      for await (
        const key of this.#walk(prefix.slice(0, slash + 1), prefix.slice(slash + 1), prune)
      ) {
        signal?.throwIfAborted();
        if (after !== undefined && compareKeys(key, after) <= 0) continue;
        if (skip !== undefined && key.startsWith(skip)) continue;
        const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
        if (keys.length + prefixes.length === pageSize) {
          more = true;
          break;
        }
        if (cut >= 0) {
          skip = key.slice(0, cut + (delimiter?.length ?? 0));
          prefixes.push(skip);
          last = `p:${skip}`;
        } else {
          keys.push(key);
          last = `k:${key}`;
        }
      }
      const stats = await mapLimit(keys, 16, async (key) => {
        try {
          return info(key, await Deno.stat(this.#pathOf(key)));
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) return null; // deleted meanwhile
          throw err;
        }
      });
      const objects = stats.filter((o): o is ObjectInfo => o !== null);
      return { objects, prefixes, nextToken: more ? last : undefined };
    } catch (err) {
      throw this.#fail("list", prefix, err, signal);
    }
  }

  /** Remove an object and any folders it leaves empty. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    validateKey(key);
    signal?.throwIfAborted();
    const path = this.#pathOf(key);
    try {
      await Deno.remove(path);
      await syncDir(parentOf(path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw this.#fail("delete", key, err);
    }
    // Empty folders would slow every later listing; a non-empty one stops the climb.
    for (let dir = parentOf(path); dir !== this.root; dir = parentOf(dir)) {
      try {
        await Deno.remove(dir);
      } catch {
        break;
      }
    }
  }

  /** Nothing to release: every call opens and closes its own handles. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #pathOf(key: string): string {
    const segments = key.split("/");
    const name = encodeSegment(segments.pop()!);
    return `${this.#dirPathOf(segments)}/${name}`.replace(/^\/\//, "/");
  }

  /** Path of the folder holding keys that start with `segments` joined by '/' plus '/'. */
  #dirPathOf(segments: string[]): string {
    if (segments.length === 0) return this.root;
    const dirs = segments.map((s) => encodeSegment(s) + DIR_SUFFIX).join("/");
    return this.root === "/" ? `/${dirs}` : `${this.root}/${dirs}`;
  }

  async #writeTemp(key: string, body: Uint8Array, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    const temp = `${this.#tempDir}/${crypto.randomUUID()}`;
    try {
      using file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
      for (let n = 0; n < body.length;) n += await file.write(body.subarray(n));
      await file.syncData();
      return temp;
    } catch (err) {
      await removeQuietly(temp);
      throw this.#fail("put", key, err);
    }
  }

  /** Move a finished temp file into place with `move`, creating parent folders as needed. */
  async #place(key: string, move: () => Promise<void>): Promise<void> {
    const dir = parentOf(this.#pathOf(key));
    for (let attempt = 1;; attempt++) {
      try {
        await move();
        break;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound) || attempt === PLACE_TRIES) throw err;
        await this.#makeDir(dir);
      }
    }
    await syncDir(dir);
  }

  /** mkdir -p that fsyncs each parent it adds an entry to, so new folders survive a crash. */
  async #makeDir(dir: string): Promise<void> {
    if (dir === this.root) return;
    try {
      await Deno.mkdir(dir);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return;
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await this.#makeDir(parentOf(dir));
      try {
        await Deno.mkdir(dir);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      }
    }
    await syncDir(parentOf(dir));
  }

  /** Keys under the folder `dirKey` ("" or ending in '/') whose next segment starts with `first`, in key order. */
  async *#walk(
    dirKey: string,
    first: string,
    prune: (dirPrefix: string) => boolean,
  ): AsyncGenerator<string> {
    const dirPath = this.#dirPathOf(dirKey.split("/").slice(0, -1));
    const entries: { name: string; dir: boolean }[] = [];
    try {
      for await (const entry of Deno.readDir(dirPath)) {
        const decoded = decodeEntry(entry.name);
        if (decoded === undefined || !decoded.name.startsWith(first)) continue;
        if (decoded.dir ? entry.isDirectory : entry.isFile) entries.push(decoded);
      }
    } catch (err) {
      // The folder vanished (its last object was deleted) or never existed.
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return;
      throw err;
    }
    entries.sort((a, b) => compareKeys(a.name, b.name));
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (!entry.dir) yield key;
      else if (!prune(key)) yield* this.#walk(key, "", prune);
    }
  }

  async #removeStaleTemps(maxAgeMs: number): Promise<void> {
    const cutoff = Date.now() - maxAgeMs;
    try {
      for await (const entry of Deno.readDir(this.#tempDir)) {
        const path = `${this.#tempDir}/${entry.name}`;
        const stat = await Deno.lstat(path);
        if ((stat.mtime?.getTime() ?? 0) < cutoff) await removeQuietly(path);
      }
    } catch (err) {
      throw this.#fail("open", this.root, err);
    }
  }

  #fail(op: string, what: string, err: unknown, signal?: AbortSignal): unknown {
    if (signal?.aborted) return signal.reason;
    if (err instanceof StorageError || err instanceof NotFoundError) return err;
    const hint = err instanceof Deno.errors.PermissionDenied
      ? " (check the permissions of the store directory)"
      : "";
    const message = err instanceof Error ? err.message : String(err);
    return new StorageError(`${op} ${what} in ${this.url} failed: ${message}${hint}`, {
      cause: err,
    });
  }
}

function encodeSegment(segment: string): string {
  return segment.replaceAll("%", "%25");
}

/** Invert the layout's naming; undefined for names no key produces (temp folder, strays). */
function decodeEntry(fsName: string): { name: string; dir: boolean } | undefined {
  const dir = fsName.endsWith(DIR_SUFFIX);
  const encoded = dir ? fsName.slice(0, -DIR_SUFFIX.length) : fsName;
  const name = encoded.replaceAll("%25", "%");
  if (name === "" || name === "." || name === ".." || encodeSegment(name) !== encoded) {
    return undefined;
  }
  return dir ? { name: name + "/", dir } : { name, dir };
}

function decodeToken(token: string): { after: string; skip?: string } {
  const value = token.slice(2);
  if (token.startsWith("k:") && value !== "") return { after: value };
  if (token.startsWith("p:") && value !== "") return { after: value, skip: value };
  throw new StorageError(`invalid listing token ${JSON.stringify(token)}`);
}

function info(key: string, stat: Deno.FileInfo): ObjectInfo {
  const mtime = stat.mtime ?? undefined;
  // Every write makes a new inode (rename or link of a fresh temp file), so
  // inode + mtime + size changes whenever the content does.
  const etag = [stat.ino ?? 0, mtime?.getTime() ?? 0, stat.size].map((n) => n.toString(16))
    .join("-");
  return { key, size: stat.size, etag, lastModified: mtime };
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

async function syncDir(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Already gone or never made; nothing to clean.
  }
}
