/**
 * The write journal: what the mount changed that is not committed to the
 * repository yet, kept on local disk so that a crash or kill -9 of the
 * daemon loses nothing the kernel acknowledged.
 *
 * ```text
 * <dir>/files/<id>          content of a written file (the working copy the mount reads and writes)
 * <dir>/journal/<seq>.log   a segment: the line {"v":1}, then one JSON change per line
 * <dir>/pins.json           paths pinned with `tcfs pin` (a JSON array)
 * ```
 *
 * Changes are appended to the current segment (one write for every change
 * made meanwhile) before the request that made them is answered; later lines
 * override earlier ones path by path. A write goes straight into its content
 * file, whose data the kernel's page cache keeps across a process kill;
 * `fsync` from an application syncs the content file and appends the path's
 * change with fdatasync, which also covers power loss. At each commit round
 * the journal moves to a new segment; once the round is done, what is still
 * pending is appended again and the older segments are deleted. A torn last
 * line (a power loss mid-append) is ignored.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { TcfsError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import type { VersionVector } from "../repo/mod.ts";
import type { FileContent, NodeKind } from "./inodes.ts";

/** One pending change of one path: the state the path must have in the repository. */
export interface Change {
  /** Repository path. */
  path: string;
  /** Kind of the entry (for deletions, the kind deleted). */
  kind: NodeKind;
  /** The path was deleted. */
  deleted: boolean;
  /** Permission bits. */
  mode: number;
  /** Modification time (ms); for files with a content file, that file's mtime wins. */
  mtime: number;
  /** Symlink target. */
  target?: string;
  /** Content file id: the file's bytes are in `files/<id>`. */
  local?: string;
  /** Committed content reused as is (a renamed or chmod-ed file that was not written). */
  content?: FileContent & { size: number };
  /** Vector of the committed version this change supersedes (absent: nothing was there). */
  base?: VersionVector;
}

/** A change read back with the batch it came from. */
export interface JournaledChange {
  /** Sequence number of its batch. */
  seq: number;
  /** The change. */
  change: Change;
}

const SEGMENT = /^(\d{12})\.log$/;
const HEADER = '{"v":1}';
const encoder = new TextEncoder();

interface QueuedWrite {
  bytes: Uint8Array;
  durable: boolean;
  done: (error?: unknown) => void;
}

/** The journal directory of one repository on this device. */
export class WriteJournal {
  /** The journal's root directory. */
  readonly dir: string;
  #seq = 0;
  #file: Deno.FsFile | null = null;
  #queue: QueuedWrite[] = [];
  #draining: Promise<void> | null = null;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Open (creating) the journal at `dir` and read every change it holds, in
   * the order they were made. New changes go to a new segment.
   */
  static async open(dir: string): Promise<{ journal: WriteJournal; changes: JournaledChange[] }> {
    const journal = new WriteJournal(dir);
    await Deno.mkdir(`${dir}/files`, { recursive: true, mode: 0o700 });
    await Deno.mkdir(`${dir}/journal`, { recursive: true, mode: 0o700 });
    const seqs: number[] = [];
    for await (const e of Deno.readDir(`${dir}/journal`)) {
      const m = SEGMENT.exec(e.name);
      if (m) seqs.push(Number(m[1]));
    }
    seqs.sort((a, b) => a - b);
    const changes: JournaledChange[] = [];
    for (const seq of seqs) {
      for (const change of await readSegment(journal.#segmentPath(seq))) {
        changes.push({ seq, change });
      }
      journal.#seq = seq;
    }
    journal.#seq++;
    return { journal, changes };
  }

  /** Path of content file `id`. */
  contentPath(id: string): string {
    return `${this.dir}/files/${id}`;
  }

  /** A new, unused content file id. */
  newContentId(): string {
    return toHex(crypto.getRandomValues(new Uint8Array(12)));
  }

  /** Ids of every content file on disk. */
  async contentIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const e of Deno.readDir(`${this.dir}/files`)) if (e.isFile) ids.push(e.name);
    return ids;
  }

  /** Remove content file `id` (absent is fine). */
  async removeContent(id: string): Promise<void> {
    await Deno.remove(this.contentPath(id)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** Paths pinned in the mount (kept local across restarts). */
  async readPins(): Promise<string[]> {
    try {
      const pins = JSON.parse(await Deno.readTextFile(`${this.dir}/pins.json`));
      return Array.isArray(pins) ? pins.filter((p) => typeof p === "string") : [];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw new TcfsError(`${this.dir}/pins.json is unreadable: ${(err as Error).message}`);
    }
  }

  /** Record the pinned paths (written whole, then renamed into place). */
  async writePins(paths: string[]): Promise<void> {
    const path = `${this.dir}/pins.json`;
    await Deno.writeTextFile(path + ".tmp", JSON.stringify(paths.sort()));
    await Deno.rename(path + ".tmp", path);
  }

  /**
   * Append changes; resolves with the segment they went to once they are
   * written (and with `durable`, synced to the disk).
   */
  async append(changes: Change[], durable = false): Promise<number> {
    const text = changes.map((c) => JSON.stringify(c) + "\n").join("");
    const seq = this.#seq;
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({
        bytes: encoder.encode(text),
        durable,
        done: (err) => err === undefined ? resolve() : reject(err),
      });
      this.#draining ??= this.#drain();
    });
    return seq;
  }

  /** Start a new segment; returns the number of the last one, which takes no more changes. */
  async rotate(): Promise<number> {
    while (this.#draining) await this.#draining;
    const closed = this.#seq++;
    this.#file?.close();
    this.#file = null;
    return closed;
  }

  /** Delete every segment up to and including `seq` (committed or appended again since). */
  async drop(seq: number): Promise<void> {
    for await (const e of Deno.readDir(`${this.dir}/journal`)) {
      const m = SEGMENT.exec(e.name);
      if (m && Number(m[1]) <= seq) {
        await Deno.remove(`${this.dir}/journal/${e.name}`).catch(() => {});
      }
    }
  }

  /** Close the current segment. */
  async close(): Promise<void> {
    while (this.#draining) await this.#draining;
    this.#file?.close();
    this.#file = null;
  }

  /**
   * Write everything queued, a batch at a time (changes made meanwhile share
   * one write). The drain marks itself finished in the same step that finds
   * the queue empty: cleared any later (a `.finally`), an append made in
   * between would see a drain still running and never be written.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          // Always suspends, so the caller has stored this drain before it can finish.
          const file = await this.#segment();
          const bytes = batch.length === 1
            ? batch[0].bytes
            : concatBytes(batch.map((w) => w.bytes));
          for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
          if (batch.some((w) => w.durable)) await file.syncData();
          for (const w of batch) w.done();
        } catch (err) {
          for (const w of batch) w.done(err);
        }
      }
    } finally {
      this.#draining = null;
    }
  }

  async #segment(): Promise<Deno.FsFile> {
    if (this.#file) return this.#file;
    const path = this.#segmentPath(this.#seq);
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    try {
      if ((await file.stat()).size === 0) {
        await file.write(encoder.encode(HEADER + "\n"));
        await file.syncData();
        await syncDir(`${this.dir}/journal`);
      }
    } catch (err) {
      file.close();
      throw err;
    }
    this.#file = file;
    return file;
  }

  #segmentPath(seq: number): string {
    return `${this.dir}/journal/${String(seq).padStart(12, "0")}.log`;
  }
}

/** The changes of one segment; a torn last line is dropped, any other damage is an error. */
async function readSegment(path: string): Promise<Change[]> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  lines.pop(); // "" after the final newline, or a line cut short by a power loss
  const damaged = (why: string) =>
    new TcfsError(
      `write journal segment ${path} ${why}; move it away to start without it ` +
        "(its changes are then lost)",
    );
  if (lines.length === 0) return [];
  if (lines[0] !== HEADER) throw damaged("has an unknown format");
  const out: Change[] = [];
  for (const line of lines.slice(1)) {
    try {
      out.push(JSON.parse(line));
    } catch {
      throw damaged("is damaged");
    }
  }
  return out;
}

/** fsync a directory, so the names created in it survive a power loss. */
export async function syncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}
