/**
 * The upload journal: a local, append-only list of chunks stored by a push
 * that has not committed them yet. If the push is interrupted (even by
 * kill -9) the next push reads it and uploads only what is missing. It is
 * emptied once everything it lists is referenced by committed records.
 *
 * Format: one line per chunk, `<id>` for a chunk object or
 * `<id> <pack id> <offset> <length>` for a packed chunk.
 *
 * @module
 */

import type { ChunkLocation } from "../repo/mod.ts";

const encoder = new TextEncoder();

/** A journal file for one repository on this device. */
export class UploadJournal {
  readonly #path: string;
  #file: Deno.FsFile | null = null;

  /** Use the journal at `path` (created on first write). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Chunks recorded by earlier, unfinished pushes. Malformed lines (a torn write) are ignored. */
  async load(): Promise<Map<string, ChunkLocation>> {
    const out = new Map<string, ChunkLocation>();
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return out;
      throw err;
    }
    for (const line of text.split("\n")) {
      const f = line.split(" ");
      if (!/^[0-9a-f]{64}$/.test(f[0])) continue;
      if (f.length === 1) out.set(f[0], null);
      else if (f.length === 4 && /^[0-9a-f]{64}$/.test(f[1])) {
        out.set(f[0], { id: f[1], offset: Number(f[2]), length: Number(f[3]) });
      }
    }
    return out;
  }

  /** Append durable chunks. */
  async record(chunks: [string, ChunkLocation][]): Promise<void> {
    if (!this.#file) {
      await Deno.mkdir(this.#path.slice(0, this.#path.lastIndexOf("/")), { recursive: true });
      this.#file = await Deno.open(this.#path, { append: true, create: true, mode: 0o600 });
    }
    const lines = chunks.map(([id, loc]) =>
      loc ? `${id} ${loc.id} ${loc.offset} ${loc.length}\n` : `${id}\n`
    ).join("");
    await this.#file.write(encoder.encode(lines));
  }

  /** Forget everything: all journaled chunks are now referenced by commits. */
  async clear(): Promise<void> {
    this.close();
    await Deno.remove(this.#path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  /** Close the file handle. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}
