/**
 * Push: upload local files and trees into the repository. Unchanged files
 * (same size, mtime and mode as the version in the namespace) are skipped
 * without being read; new content is chunked, deduplicated, stored, and
 * committed in batches. A file becomes visible in the namespace only with the
 * record that commits it, written after all of its chunks are stored, so an
 * interrupted push never leaves a half-visible file, and the upload journal
 * lets the next push skip what was already stored.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import {
  type ChunkLocation,
  ChunkWriter,
  joinRemote,
  type Namespace,
  type NewVersion,
  normalizeRemotePath,
  type Repository,
} from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import { UploadJournal } from "./journal.ts";
import { storeFile } from "./upload.ts";
import { type ProgressListener, ProgressTracker } from "./progress.ts";
import { type LocalEntry, walkLocal } from "./walk.ts";

/** Options of {@link push}. */
export interface PushOptions {
  /** Local files or directories. */
  sources: string[];
  /** Remote directory: files land in it, directories' contents land in it. */
  to?: string;
  /** This device's id (its commit log). */
  device: string;
  /** Uploads in flight at once. */
  concurrency: number;
  /** Upload journal file (resumable pushes); none: not resumable. */
  journalPath?: string;
  /** Progress listener. */
  onProgress?: ProgressListener;
  /** Logger for per-file problems. */
  log: Logger;
  /** Commit a record after this many new versions (default 5,000). */
  batchVersions?: number;
  /** Commit a record after this many milliseconds of uploading (default 30 s). */
  batchMs?: number;
  /**
   * The namespace as the caller already knows it (a session's): brought up
   * to date and used instead of reading every commit record again. It sees
   * this push's commits.
   */
  namespace?: Namespace;
}

/** What a push did. */
export interface PushSummary {
  /** New file versions committed. */
  filesPushed: number;
  /** Files skipped because they had not changed. */
  filesUnchanged: number;
  /** Directories and symlinks committed. */
  otherPushed: number;
  /** Bytes of file content read. */
  bytesRead: number;
  /** Bytes uploaded (encoded). */
  bytesUploaded: number;
  /** Objects uploaded. */
  objectsUploaded: number;
  /** Chunks that were already stored. */
  dedupHits: number;
  /** Commit records written. */
  records: number;
  /** Paths skipped or failed, with why. */
  errors: { path: string; error: string }[];
}

/** Files read at once: enough to keep uploads busy with small files. */
const FILE_CONCURRENCY = 8;

/** Push `opts.sources` into `repo`; see the module documentation. */
export async function push(repo: Repository, opts: PushOptions): Promise<PushSummary> {
  const summary: PushSummary = {
    filesPushed: 0,
    filesUnchanged: 0,
    otherPushed: 0,
    bytesRead: 0,
    bytesUploaded: 0,
    objectsUploaded: 0,
    dedupHits: 0,
    records: 0,
    errors: [],
  };
  const progress = new ProgressTracker(opts.onProgress);
  const ns = await repo.refresh(opts.namespace);
  const entries = await plan(opts, summary);
  progress.update({
    phase: "upload",
    filesTotal: entries.filter((e) => e.kind === "file").length,
    bytesTotal: entries.reduce((n, e) => n + (e.kind === "file" ? e.info.size : 0), 0),
  }, true);

  const journal = opts.journalPath ? new UploadJournal(opts.journalPath) : null;
  // Chunks the repository holds: referenced by live versions, or journaled by an earlier,
  // interrupted push.
  const known = journal ? await journal.load() : new Map<string, ChunkLocation>();
  ns.addReferencedChunks(known);
  let journalWrites = Promise.resolve();
  const writer = new ChunkWriter(repo.store, repo.codec, {
    known,
    concurrency: opts.concurrency,
    packThreshold: repo.config.packThreshold,
    packTarget: repo.config.packTarget,
    onDurable: journal
      ? (chunks) => journalWrites = journalWrites.then(() => journal.record(chunks))
      : undefined,
  });

  let pending: NewVersion[] = [];
  let batchStart = Date.now();
  const commitPending = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await writer.flush();
    await repo.commit(opts.device, ns, batch);
    summary.records++;
    batchStart = Date.now();
  };
  const batchVersions = opts.batchVersions ?? 5000;
  const batchMs = opts.batchMs ?? 30_000;

  try {
    // Directories and symlinks first, in order; then files in parallel.
    for (const e of entries) {
      if (e.kind === "file") continue;
      const v = await otherVersion(e, ns);
      if (v) {
        pending.push(v);
        summary.otherPushed++;
      }
    }
    await mapLimit(entries.filter((e) => e.kind === "file"), FILE_CONCURRENCY, async (e) => {
      const current = ns.get(e.remote);
      if (
        current?.kind === "file" && current.size === e.info.size &&
        current.mtime === e.info.mtime?.getTime() && current.mode === (e.info.mode! & 0o7777)
      ) {
        summary.filesUnchanged++;
        progress.addBytes(e.info.size);
        progress.fileDone();
        return;
      }
      try {
        pending.push(await fileVersion(repo, writer, e, progress));
        summary.filesPushed++;
        summary.bytesRead += e.info.size;
      } catch (err) {
        if (!(err instanceof TcfsError)) throw err;
        summary.errors.push({ path: e.local, error: err.message });
        opts.log.error("push failed for a file", { path: e.local, error: err.message });
      }
      progress.fileDone();
      if (pending.length >= batchVersions || Date.now() - batchStart >= batchMs) {
        progress.update({ phase: "commit" }, true);
        await commitPending();
        progress.update({ phase: "upload" });
      }
    });
    progress.update({ phase: "commit" }, true);
    await commitPending();
    await writer.flush();
    await journalWrites;
    await journal?.clear();
  } finally {
    await writer.close();
    journal?.close();
    Object.assign(summary, {
      bytesUploaded: writer.stats.bytesUploaded,
      objectsUploaded: writer.stats.objectsUploaded,
      dedupHits: writer.stats.dedupHits,
    });
  }
  return summary;
}

/** Map sources to remote paths (`rclone copy` rules for directories) and walk them. */
async function plan(opts: PushOptions, summary: PushSummary): Promise<LocalEntry[]> {
  const to = opts.to === undefined ? undefined : normalizeRemotePath(opts.to);
  const out: LocalEntry[] = [];
  const seen = new Map<string, string>();
  for (const source of opts.sources) {
    const info = await Deno.lstat(source).catch(() => null);
    if (!info) throw new TcfsError(`${source}: no such file or directory`);
    const name = basenameOf(source);
    // A directory's contents land in --to; without --to the directory keeps its name.
    const remote = info.isDirectory ? (to ?? joinRemote("/", name)) : joinRemote(to ?? "/", name);
    const skip = (path: string, why: string) => summary.errors.push({ path, error: why });
    for await (const e of walkLocal(source.replace(/\/+$/, "") || "/", remote, skip)) {
      if (e.remote === "/" && e.kind === "dir") continue;
      const other = seen.get(e.remote);
      if (other !== undefined) {
        throw new TcfsError(`${e.local} and ${other} would both be pushed to ${e.remote}`);
      }
      seen.set(e.remote, e.local);
      out.push(e);
    }
  }
  return out;
}

function basenameOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const abs = trimmed === "" ? "/" : trimmed;
  const name = abs.slice(abs.lastIndexOf("/") + 1);
  if (name === "" || name === "." || name === "..") {
    return basenameOf(Deno.realPathSync(abs));
  }
  return name;
}

async function otherVersion(e: LocalEntry, ns: Namespace): Promise<NewVersion | null> {
  const current = ns.get(e.remote);
  const mode = e.info.mode! & 0o7777;
  const mtime = e.info.mtime?.getTime() ?? 0;
  if (e.kind === "dir") {
    if (current?.kind === "dir" && current.mode === mode) return null;
    return { path: e.remote, deleted: false, kind: "dir", mode, mtime, size: 0 };
  }
  const target = await Deno.readLink(e.local);
  if (current?.kind === "symlink" && current.target === target) return null;
  return {
    path: e.remote,
    deleted: false,
    kind: "symlink",
    mode,
    mtime,
    size: target.length,
    target,
  };
}

/** Read, chunk and store one file; returns its new version. */
async function fileVersion(
  repo: Repository,
  writer: ChunkWriter,
  e: LocalEntry,
  progress: ProgressTracker,
): Promise<NewVersion> {
  const mtime = e.info.mtime?.getTime() ?? 0;
  const stored = await storeFile(repo, writer, e.local, { size: e.info.size, mtime }, progress);
  return {
    path: e.remote,
    deleted: false,
    kind: "file",
    mode: e.info.mode! & 0o7777,
    mtime,
    size: stored.size,
    manifestId: stored.manifestId,
    manifest: stored.manifest,
  };
}
