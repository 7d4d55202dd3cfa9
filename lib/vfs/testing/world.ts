/**
 * Test fixtures for the mount's file system: a temp directory holding a
 * real file:// repository (request-counting), a real chunk cache and the
 * write journal; helpers to commit files as another device, to read what
 * the repository holds, and to call file system methods without a kernel.
 *
 * @module
 */

import { join } from "node:path";
import { createTestRepo } from "../../../tests/fixtures/repo.ts";
import { ChunkCache } from "../../cache/mod.ts";
import { storeFile } from "../../engine/mod.ts";
import type { DirEntry, DirList, EntryReply, Notifier, RequestContext } from "../../fuse/ops.ts";
import { Logger } from "../../log/mod.ts";
import { ChunkWriter, inlineBytes, type NewVersion, type Repository } from "../../repo/mod.ts";
import { CountingStore, FileStore } from "../../storage/mod.ts";
import { TcfsFileSystem } from "../filesystem.ts";
import { GatedStore } from "./gated_store.ts";
import type { VfsOptions } from "../control.ts";

/** The device the mount commits as. */
export const MOUNT_DEVICE = "00000000000000aa";
/** Another device committing to the same repository. */
export const OTHER_DEVICE = "00000000000000bb";

/** One notification the file system sent. */
export type Notice = ["entry", number, string] | ["inode", number];

/** A notifier that records what it is told. */
export function recordingNotifier(notices: Notice[]): Notifier {
  return {
    invalEntry: (parent, name) => (notices.push(["entry", parent, name]), Promise.resolve(true)),
    invalInode: (ino) => (notices.push(["inode", ino]), Promise.resolve(true)),
    delete: (
      parent,
      _child,
      name,
    ) => (notices.push(["entry", parent, name]), Promise.resolve(true)),
  };
}

/** A request context for direct calls. */
export function ctx(signal: AbortSignal = new AbortController().signal): RequestContext {
  return { uid: 0, gid: 0, pid: 0, unique: 0, signal };
}

/** List a directory through opendir/readdir/releasedir; returns the names (no dots). */
export async function listNames(fs: TcfsFileSystem, ino: number): Promise<string[]> {
  const entries: DirEntry[] = [];
  const list: DirList = {
    plus: false,
    add: (e) => (entries.push(e), true),
    addPlus: () => false,
  };
  const { fh } = await fs.opendir(ctx(), ino);
  await fs.readdir(ctx(), ino, fh, 0, list);
  await fs.releasedir(ctx(), ino, fh);
  return entries.map((e) => e.name).filter((n) => n !== "." && n !== "..");
}

/** Look a name up and fail the test if it does not exist. */
export async function lookupOk(fs: TcfsFileSystem, parent: number, name: string) {
  const r = await fs.lookup(ctx(), parent, name);
  if ("negative" in r) throw new Error(`${name} does not exist`);
  return r as EntryReply;
}

/** Read a whole file through open/read/release. */
export async function readAll(fs: TcfsFileSystem, ino: number, piece = 128 * 1024) {
  const { fh } = await fs.open(ctx(), ino, 0);
  const parts: Uint8Array[] = [];
  for (let at = 0;; at += piece) {
    const got = await fs.read(ctx(), ino, fh, at, piece);
    if (got.length === 0) break;
    parts.push(got.slice());
    if (got.length < piece) break;
  }
  await fs.release(ctx(), ino, fh, 0);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** A repository, a cache and a journal in a temp directory. */
export class VfsWorld implements AsyncDisposable {
  /** The temp directory. */
  readonly tmp: string;
  /** The repository. */
  readonly repo: Repository;
  /** Its store, counting requests. */
  readonly store: CountingStore;
  /** Below the counting store: holds back or fails chosen reads. */
  readonly gate: GatedStore;
  /** The chunk cache. */
  readonly cache: ChunkCache;
  /** A quiet logger (errors recorded in {@link logLines}). */
  readonly log: Logger;
  /** Lines logged. */
  readonly logLines: string[] = [];
  /** Notifications sent by file systems opened with {@link open}. */
  readonly notices: Notice[] = [];
  readonly #opened: TcfsFileSystem[] = [];

  private constructor(
    tmp: string,
    repo: Repository,
    store: CountingStore,
    gate: GatedStore,
    cache: ChunkCache,
  ) {
    this.tmp = tmp;
    this.repo = repo;
    this.store = store;
    this.gate = gate;
    this.cache = cache;
    this.log = new Logger({ level: "debug", sink: (l) => this.logLines.push(l) });
  }

  /** Make a world (plain repository unless `encrypted`). */
  static async create(encrypted = false): Promise<VfsWorld> {
    const tmp = await Deno.makeTempDir({ prefix: "tcfs-vfs-" });
    const gate = new GatedStore(await FileStore.open(join(tmp, "repo")));
    const store = new CountingStore(gate);
    const { repo } = await createTestRepo(store, encrypted);
    const cache = await ChunkCache.open(repo, { dir: join(tmp, "cache"), maxBytes: 256 << 20 });
    return new VfsWorld(tmp, repo, store, gate, cache);
  }

  /** Open a file system on this world (INIT done with a recording notifier). */
  async open(opts: Partial<VfsOptions> = {}): Promise<TcfsFileSystem> {
    const fs = await TcfsFileSystem.open({
      repo: this.repo,
      device: MOUNT_DEVICE,
      ns: await this.repo.refresh(),
      cache: this.cache,
      journalDir: join(this.tmp, "journal"),
      commitDelayMs: 60_000,
      log: this.log,
      ...opts,
    });
    fs.init({
      protoMajor: 7,
      protoMinor: 31,
      maxWrite: 1 << 20,
      maxReadahead: 1 << 20,
      readdirplus: false,
      notifier: recordingNotifier(this.notices),
    });
    this.#opened.push(fs);
    return fs;
  }

  /** Commit files (path → content) and directories as {@link OTHER_DEVICE}. */
  async commitAsOther(files: Record<string, Uint8Array | string>, dirs: string[] = []) {
    const ns = await this.repo.refresh();
    const writer = new ChunkWriter(this.repo.store, this.repo.codec, {
      known: new Map(),
      concurrency: 4,
      packThreshold: this.repo.config.packThreshold,
      packTarget: this.repo.config.packTarget,
    });
    const versions: NewVersion[] = dirs.map((path) => ({
      path,
      deleted: false,
      kind: "dir",
      mode: 0o755,
      mtime: 1_700_000_000_000,
      size: 0,
    }));
    const src = await Deno.makeTempFile({ dir: this.tmp });
    try {
      for (const [path, content] of Object.entries(files)) {
        const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
        await Deno.writeFile(src, bytes);
        const mtime = (await Deno.stat(src)).mtime!.getTime();
        const stored = await storeFile(this.repo, writer, src, { size: bytes.length, mtime });
        versions.push({
          path,
          deleted: false,
          kind: "file",
          mode: 0o644,
          mtime,
          size: stored.size,
          manifestId: stored.manifestId,
          manifest: stored.manifest,
        });
      }
      await writer.flush();
      await this.repo.commit(OTHER_DEVICE, ns, versions);
    } finally {
      await writer.close();
      await Deno.remove(src);
    }
  }

  /** What a fresh reader of the repository sees at `path` (null: nothing live). */
  async readRepo(path: string) {
    const ns = await this.repo.refresh();
    const v = ns.get(path);
    if (!v) return null;
    if (v.kind !== "file") return { version: v, bytes: null };
    const m = await this.repo.manifestOf(v);
    if (m.inline !== undefined) return { version: v, bytes: inlineBytes(m) };
    const bytes = new Uint8Array(m.size);
    for (const c of m.chunks) bytes.set(await this.repo.readChunk(c), c.offset);
    return { version: v, bytes };
  }

  /** Close what was opened and remove the temp directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const fs of this.#opened) await fs.close().catch(() => {});
    await this.cache.close();
    await this.store.close();
    await Deno.remove(this.tmp, { recursive: true });
  }
}
