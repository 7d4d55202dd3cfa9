/**
 * Content files the mount reads and writes (a written file's working copy).
 * One descriptor per content file is shared by every open handle on it, and
 * each operation seeks and reads or writes under that file's own queue, so
 * concurrent requests never interleave their seeks. Files are independent:
 * a slow disk operation on one never delays another.
 *
 * @module
 */

/** One content file open for reading and writing. */
export class LocalFile {
  /** Path on disk. */
  readonly path: string;
  readonly #file: Deno.FsFile;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Open `path` (creating it empty, mode 0600, when `create`). */
  static async open(path: string, create = false): Promise<LocalFile> {
    const file = await Deno.open(path, { read: true, write: true, create, mode: 0o600 });
    return new LocalFile(path, file);
  }

  #run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Up to `length` bytes at `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array> {
    return this.#run(async () => {
      const buf = new Uint8Array(length);
      await this.#file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < length) {
        const n = await this.#file.read(buf.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    });
  }

  /** Write all of `data` at `offset`; returns its length. */
  write(offset: number, data: Uint8Array): Promise<number> {
    return this.#run(async () => {
      await this.#file.seek(offset, Deno.SeekMode.Start);
      for (let off = 0; off < data.length;) off += await this.#file.write(data.subarray(off));
      return data.length;
    });
  }

  /** Cut or extend the file to `size` bytes. */
  truncate(size: number): Promise<void> {
    return this.#run(() => this.#file.truncate(size));
  }

  /** fsync the file. */
  sync(): Promise<void> {
    return this.#run(() => this.#file.sync());
  }

  /** Set the file's modification time (the mtime a commit records). */
  utime(mtimeMs: number): Promise<void> {
    return this.#run(() => this.#file.utime(new Date(), new Date(mtimeMs)));
  }

  /** Current size and modification time (ms). */
  stat(): Promise<{ size: number; mtime: number }> {
    return this.#run(async () => {
      const info = await this.#file.stat();
      return { size: info.size, mtime: info.mtime?.getTime() ?? 0 };
    });
  }

  /** Close the descriptor once pending operations are done. */
  async close(): Promise<void> {
    await this.#queue;
    this.#file.close();
  }
}

interface Shared {
  opening: Promise<LocalFile>;
  refs: number;
}

/**
 * Open content files by id, shared and reference counted. Counts change
 * synchronously, so a release racing an acquire can never close a file the
 * acquirer is about to use.
 */
export class LocalFiles {
  readonly #open = new Map<string, Shared>();
  readonly #pathOf: (id: string) => string;

  /** A pool of content files located by `pathOf`. */
  constructor(pathOf: (id: string) => string) {
    this.#pathOf = pathOf;
  }

  /** Open content file `id` (creating it when `create`) and hold it until {@link release}. */
  async acquire(id: string, create = false): Promise<LocalFile> {
    let shared = this.#open.get(id);
    if (!shared) {
      shared = { opening: LocalFile.open(this.#pathOf(id), create), refs: 0 };
      this.#open.set(id, shared);
    }
    shared.refs++;
    try {
      return await shared.opening;
    } catch (err) {
      await this.#drop(id, shared);
      throw err;
    }
  }

  /** Stop holding content file `id`; the last holder closes it. */
  async release(id: string): Promise<void> {
    const shared = this.#open.get(id);
    if (shared) await this.#drop(id, shared);
  }

  async #drop(id: string, shared: Shared): Promise<void> {
    if (--shared.refs > 0) return;
    if (this.#open.get(id) === shared) this.#open.delete(id);
    const file = await shared.opening.catch(() => null);
    await file?.close();
  }

  /** Close every file still open. */
  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const s of all) {
      const file = await s.opening.catch(() => null);
      await file?.close();
    }
  }
}
