/**
 * A pool of worker threads that hash and encode chunks, so that a push uses
 * every core: the main thread reads, cuts and hashes the whole file while
 * the workers compute chunk ids, compress and seal.
 *
 * Each chunk takes two steps, so that a chunk the repository already holds
 * is never compressed or sealed:
 *
 * 1. {@linkcode EncodePool.hash} hands the plaintext to a worker (moved, not
 *    copied, when the caller allows it) and resolves with the chunk id. The
 *    worker keeps the plaintext.
 * 2. The caller checks the id against what is stored, then either
 *    {@linkcode EncodePool.encode}s the chunk (resolves with the stored
 *    form, moved back) or {@linkcode EncodePool.release}s it.
 *
 * A worker takes the next message while the previous chunk is being sealed
 * (WebCrypto runs AES-GCM off the JavaScript thread), so two chunks per
 * worker keep it busy. Chunks below {@linkcode IN_THREAD_BELOW} bytes are
 * handled in the calling thread, where they cost less than a message.
 *
 * When workers cannot start (a runtime without them, or a compiled binary
 * that lacks the worker module), the pool encodes in the calling thread:
 * slower, never wrong. Workers keep the process alive, so the pool must be
 * {@linkcode EncodePool.close}d.
 *
 * @module
 */

import { TcfsError } from "../errors.ts";
import { type ChunkCoding, chunkIdOf, encodeChunkWith } from "./codec.ts";

/** Chunks shorter than this are hashed and encoded in the calling thread. */
export const IN_THREAD_BELOW = 64 * 1024;

/** The worker module. A compiled binary needs `--include lib/repo/encode_worker.ts`. */
const WORKER_URL = new URL("./encode_worker.ts", import.meta.url);

/** Messages to a worker. */
export type ToWorker =
  | { op: "init"; coding: ChunkCoding }
  | { op: "hash"; seq: number; plain: Uint8Array }
  | { op: "encode"; seq: number }
  | { op: "drop"; seq: number };

/** Messages from a worker. */
export type FromWorker =
  | { op: "ready" }
  | { op: "unavailable"; error: string }
  | { op: "id"; seq: number; id: string }
  | { op: "body"; seq: number; body: Uint8Array }
  | { op: "failed"; seq: number; error: string };

/** A chunk whose id is known, waiting to be encoded or released. */
export interface HashedChunk {
  /** The chunk id (hex). */
  readonly id: string;
  /** Plaintext length in bytes. */
  readonly size: number;
}

/** A chunk held by a worker (`slot`), or by the calling thread (`plain`). */
class Held implements HashedChunk {
  /** Set once encoded or released. */
  done = false;

  constructor(
    readonly pool: EncodePool,
    readonly id: string,
    readonly size: number,
    readonly slot: Slot | null,
    readonly seq: number,
    readonly plain: Uint8Array | null,
  ) {}
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** One worker and the replies it owes. */
class Slot {
  readonly worker: Worker;
  readonly waiting = new Map<number, Waiter>();
  /** Chunks sent to it and not yet encoded or released: its load. */
  held = 0;
  dead = false;

  constructor(worker: Worker) {
    this.worker = worker;
  }

  /** Post `msg` and wait for the reply with the same `seq`. */
  call<T>(msg: ToWorker & { seq: number }, transfer: Transferable[] = []): Promise<T> {
    if (this.dead) return Promise.reject(new TcfsError("a chunk encoder worker has stopped"));
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(msg.seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Stop the worker and fail whatever it still owed. */
  kill(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.worker.terminate();
    for (const w of this.waiting.values()) w.reject(new TcfsError(why));
    this.waiting.clear();
  }
}

/** Hashes and encodes chunks on worker threads; see the module documentation. */
export class EncodePool {
  readonly #coding: ChunkCoding;
  readonly #wanted: number;
  readonly #workerUrl: URL;
  #slots: Slot[] = [];
  #starting: Promise<Slot[]> | null = null;
  #seq = 0;
  #closed = false;

  /**
   * A pool of up to `workers` workers for chunks coded with `coding`. No
   * worker starts before the first chunk that needs one (or {@link start}),
   * so a pool that only ever sees small chunks costs nothing. With `0`,
   * every chunk is handled in the calling thread. `workerUrl` is the worker
   * module (tests point it elsewhere to see the fallback).
   */
  constructor(coding: ChunkCoding, workers: number, workerUrl: URL = WORKER_URL) {
    this.#coding = coding;
    this.#wanted = Math.max(0, Math.floor(workers));
    this.#workerUrl = workerUrl;
  }

  /**
   * Start the workers now (idempotent) and resolve with how many run: fewer
   * than asked, down to 0, when workers cannot start here.
   */
  async start(): Promise<number> {
    this.#checkOpen();
    this.#starting ??= Promise.all(
      Array.from({ length: this.#wanted }, () => startWorker(this.#workerUrl, this.#coding)),
    ).then((started) => {
      const slots = started.filter((s): s is Slot => s !== null);
      // Closed while they were starting: nothing will ever stop them otherwise.
      if (this.#closed) { for (const s of slots) s.kill("the chunk encoder pool was closed"); }
      return this.#slots = slots;
    });
    await this.#starting;
    return this.workers;
  }

  /** Workers running now (0 before they start, or when everything runs in this thread). */
  get workers(): number {
    return this.#slots.filter((s) => !s.dead).length;
  }

  /**
   * Compute the id of `plain`; the pool keeps the chunk until
   * {@link encode} or {@link release}. With `transfer`, the memory of
   * `plain` may be moved to a worker: `plain` is then empty (detached) on
   * return, so pass `transfer` only for a buffer nothing else will read.
   */
  async hash(plain: Uint8Array, transfer = false): Promise<HashedChunk> {
    this.#checkOpen();
    const size = plain.length;
    if (size >= IN_THREAD_BELOW && this.#wanted > 0) {
      await this.start();
      this.#checkOpen();
    }
    const slot = size < IN_THREAD_BELOW ? null : this.#leastLoaded();
    if (slot === null) {
      return new Held(this, chunkIdOf(this.#coding, plain), size, null, 0, plain);
    }
    const owned = movable(plain, transfer);
    const seq = ++this.#seq;
    slot.held++;
    try {
      const id = await slot.call<string>({ op: "hash", seq, plain: owned }, [owned.buffer]);
      return new Held(this, id, size, slot, seq, null);
    } catch (err) {
      slot.held--;
      throw err;
    }
  }

  /** The stored form of a hashed chunk (compressed when smaller, then sealed). */
  async encode(chunk: HashedChunk): Promise<Uint8Array> {
    this.#checkOpen();
    const held = this.#own(chunk);
    if (held.slot === null) return await encodeChunkWith(this.#coding, held.id, held.plain!);
    try {
      return await held.slot.call<Uint8Array>({ op: "encode", seq: held.seq });
    } finally {
      held.slot.held--;
    }
  }

  /** Forget a hashed chunk without encoding it (it is stored already). */
  release(chunk: HashedChunk): void {
    const held = this.#own(chunk);
    if (held.slot === null) return;
    held.slot.held--;
    if (!held.slot.dead && !this.#closed) {
      held.slot.worker.postMessage({ op: "drop", seq: held.seq } satisfies ToWorker);
    }
  }

  /**
   * Stop the workers (waiting for any still starting); chunks still in
   * them fail with a TcfsError. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting;
    for (const s of this.#slots) s.kill("the chunk encoder pool was closed");
  }

  /** Same as {@link close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #leastLoaded(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.#slots) {
      if (!s.dead && (best === null || s.held < best.held)) best = s;
    }
    return best;
  }

  #own(chunk: HashedChunk): Held {
    if (!(chunk instanceof Held) || chunk.pool !== this || chunk.done) {
      throw new TcfsError("chunk was not hashed by this pool, or was encoded or released already");
    }
    chunk.done = true;
    return chunk;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TcfsError("the chunk encoder pool was closed");
  }
}

/** `plain` itself when it may move to another thread, else a copy that may. */
function movable(plain: Uint8Array, transfer: boolean): Uint8Array<ArrayBuffer> {
  // Only a view spanning a whole (unshared) buffer can move without taking its neighbours along.
  const whole = plain.buffer instanceof ArrayBuffer && plain.byteOffset === 0 &&
    plain.byteLength === plain.buffer.byteLength;
  return transfer && whole ? plain as Uint8Array<ArrayBuffer> : plain.slice();
}

/** Start one worker and wait for it to be ready; `null` if it cannot start. */
function startWorker(url: URL, coding: ChunkCoding): Promise<Slot | null> {
  // The worker starts from a one-line module that imports the real one by a
  // computed specifier: `deno test` type-checks the module graph of every
  // worker it starts, which took 2-5 s per worker here, but not a computed
  // import. `deno check` still checks encode_worker.ts like any other file.
  // A module that cannot load is reported as a message rather than thrown,
  // which Deno would print as an uncaught error.
  const entry = `data:text/javascript,const m = ${JSON.stringify(url.href)}; ` +
    `import(m).catch((e) => postMessage({ op: "unavailable", error: String(e) }));`;
  let worker: Worker;
  try {
    worker = new Worker(entry, { type: "module" });
  } catch {
    return Promise.resolve(null);
  }
  const slot = new Slot(worker);
  return new Promise((resolve) => {
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.op === "unavailable") {
        slot.kill(`the chunk encoder worker did not load: ${e.data.error}`);
        resolve(null);
      }
      if (e.data.op !== "ready") return;
      worker.onmessage = (e: MessageEvent<FromWorker>) => reply(slot, e.data);
      // The worker handles messages in order: init completes before any chunk.
      worker.postMessage({ op: "init", coding } satisfies ToWorker);
      resolve(slot);
    };
    worker.onerror = (e: ErrorEvent) => {
      // Handled here: an unhandled worker error would end the whole process.
      e.preventDefault();
      slot.kill(`a chunk encoder worker failed: ${e.message}`);
      resolve(null);
    };
    worker.onmessageerror = () => slot.kill("a chunk encoder worker sent an unreadable message");
  });
}

function reply(slot: Slot, msg: FromWorker): void {
  if (msg.op === "ready" || msg.op === "unavailable") return;
  const waiter = slot.waiting.get(msg.seq);
  if (!waiter) return;
  slot.waiting.delete(msg.seq);
  if (msg.op === "failed") waiter.reject(new TcfsError(`encoding a chunk failed: ${msg.error}`));
  else waiter.resolve(msg.op === "id" ? msg.id : msg.body);
}
