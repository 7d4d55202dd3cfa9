/**
 * A pool of worker threads that hash and encode chunks, so that a push uses
 * every core: the main thread reads, cuts and hashes the whole file while
 * the workers compute chunk ids, compress and seal. The same workers decode
 * (open, decompress and verify) chunks for readers:
 * {@linkcode EncodePool.decode}.
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
 * slower, never wrong.
 *
 * Workers are `node:worker_threads` workers talking over a MessageChannel.
 * Deno's web `Worker` would do the same work as fast, but it keeps the
 * process alive until terminated, so a pool that a caller forgot to close
 * (or that an exception skipped past) would hang the program at exit. Node
 * workers and ports can be unreferenced: a worker holds the process only
 * while it owes a reply. Chunks travel over a web MessagePort with
 * `onmessage` handlers: through the node worker's `postMessage`, or a port's
 * node-style `on("message")`, Deno copies them about a thousand times slower
 * (measured: 56 ms and 420 ms per MiB against 0.1-0.4 ms).
 * {@linkcode EncodePool.close} still stops the workers at once.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import { IntegrityError, TcfsError } from "../errors.ts";
import { type ChunkCoding, chunkIdOf, decodeChunkWith, encodeChunkWith } from "./codec.ts";

/** Chunks shorter than this are hashed and encoded in the calling thread. */
export const IN_THREAD_BELOW = 64 * 1024;

/** The worker module. A compiled binary needs `--include lib/repo/encode_worker.ts`. */
const WORKER_URL = new URL("./encode_worker.ts", import.meta.url);

/** Messages to a worker: `port` on the worker's own channel, then the rest on that port. */
export type ToWorker =
  | { op: "port"; port: MessagePort }
  | { op: "init"; coding: ChunkCoding }
  | { op: "hash"; seq: number; plain: Uint8Array }
  | { op: "encode"; seq: number }
  | { op: "drop"; seq: number }
  | { op: "decode"; seq: number; id: string; body: Uint8Array; size: number };

/** Messages from a worker. */
export type FromWorker =
  | { op: "ready" }
  | { op: "unavailable"; error: string }
  | { op: "id"; seq: number; id: string }
  | { op: "body"; seq: number; body: Uint8Array }
  | { op: "plain"; seq: number; plain: Uint8Array }
  | { op: "failed"; seq: number; error: string; integrity?: boolean };

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

/**
 * A port's node-compatible reference switches (Deno's MessagePort has them;
 * the web type does not declare them).
 */
interface Refable {
  ref(): void;
  unref(): void;
}

/** One worker, its end of the channel, and the replies it owes. */
class Slot {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly waiting = new Map<number, Waiter>();
  /** Chunks sent to it and not yet encoded or released: its load. */
  held = 0;
  dead = false;

  constructor(worker: Worker, port: MessagePort) {
    this.worker = worker;
    this.port = port;
  }

  /** Post `msg` and wait for the reply with the same `seq`. */
  call<T>(msg: ToWorker & { seq: number }, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(new TcfsError("a chunk encoder worker has stopped"));
    return new Promise<T>((resolve, reject) => {
      // Owing a reply keeps the process alive; an idle pool does not.
      if (this.waiting.size === 0) (this.port as unknown as Refable).ref();
      this.waiting.set(msg.seq, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage(msg, transfer);
    });
  }

  /** Hand a reply to its waiter. */
  settle(seq: number, outcome: { value: unknown } | { error: Error }): void {
    const waiter = this.waiting.get(seq);
    if (!waiter) return;
    this.waiting.delete(seq);
    if (this.waiting.size === 0) (this.port as unknown as Refable).unref();
    if ("error" in outcome) waiter.reject(outcome.error);
    else waiter.resolve(outcome.value);
  }

  /** Stop the worker and fail whatever it still owed. */
  kill(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.port.close();
    void this.worker.terminate();
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
  /** Set once the workers asked for are running (or known not to start). */
  #started = false;
  /** Chunks being decoded in this thread while the workers start. */
  #bridging = 0;
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
      this.#started = true;
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

  /**
   * The verified plaintext of chunk `id` from its stored form, as
   * `Codec.decodeChunk` gives it: on the least loaded worker, or in this
   * thread for chunks under {@link IN_THREAD_BELOW} bytes and for one chunk
   * at a time while the workers are still starting. A chunk that
   * fails verification rejects with an IntegrityError naming it. With
   * `transfer`, the memory of `body` may be moved to the worker (see
   * {@link hash}); otherwise it is copied.
   */
  async decode(id: string, body: Uint8Array, size: number, transfer = false): Promise<Uint8Array> {
    this.#checkOpen();
    if (size >= IN_THREAD_BELOW && this.#wanted > 0) {
      // Workers take 100-200 ms to start: one chunk at a time is decoded here meanwhile, so the
      // first read of a cold file does not wait for them.
      if (!this.#started && this.#bridging === 0) {
        return await this.#decodeWhileStarting(id, body, size);
      }
      await this.start();
      this.#checkOpen();
    }
    const slot = size < IN_THREAD_BELOW ? null : this.#leastLoaded();
    if (slot === null) return await decodeChunkWith(this.#coding, id, body, size);
    const owned = movable(body, transfer);
    slot.held++;
    try {
      return await slot.call<Uint8Array>(
        { op: "decode", seq: ++this.#seq, id, body: owned, size },
        [owned.buffer],
      );
    } finally {
      slot.held--;
    }
  }

  async #decodeWhileStarting(id: string, body: Uint8Array, size: number): Promise<Uint8Array> {
    this.start().catch(() => {}); // closed meanwhile: the decode below still answers
    this.#bridging++;
    try {
      return await decodeChunkWith(this.#coding, id, body, size);
    } finally {
      this.#bridging--;
    }
  }

  /** Forget a hashed chunk without encoding it (it is stored already). */
  release(chunk: HashedChunk): void {
    const held = this.#own(chunk);
    if (held.slot === null) return;
    held.slot.held--;
    if (!held.slot.dead && !this.#closed) {
      held.slot.port.postMessage({ op: "drop", seq: held.seq } satisfies ToWorker);
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
  if (transfer && whole) return plain as Uint8Array<ArrayBuffer>;
  // Not `plain.slice()`: on a Node Buffer (what S3 bodies are) that is a view, not a copy, and
  // moving its memory would empty the caller's buffer.
  const copy = new Uint8Array(plain.length);
  copy.set(plain);
  return copy;
}

/** Start one worker and wait for it to be ready; `null` if it cannot start. */
function startWorker(url: URL, coding: ChunkCoding): Promise<Slot | null> {
  // The worker starts from a one-line module that imports the real one by a
  // computed specifier: `deno test` type-checks the module graph of every
  // worker it starts (2-5 s per worker here), but not a computed import.
  // `deno check` still checks encode_worker.ts like any other file. A module
  // that cannot load is reported as a message rather than thrown, which
  // Deno would print as an uncaught error.
  const entry = `const m = ${JSON.stringify(url.href)}; import(m).catch((e) => ` +
    `import("node:worker_threads").then((w) => w.parentPort.postMessage(` +
    `{ op: "unavailable", error: String(e) })));`;
  let worker: Worker;
  try {
    worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`));
  } catch {
    return Promise.resolve(null);
  }
  const { port1, port2 } = new MessageChannel();
  const slot = new Slot(worker, port1);
  return new Promise((resolve) => {
    worker.on("message", (msg: FromWorker) => {
      if (msg.op === "unavailable") {
        slot.kill(`the chunk encoder worker did not load: ${msg.error}`);
        resolve(null);
      } else if (msg.op === "ready") {
        port1.onmessage = (e: MessageEvent<FromWorker>) => reply(slot, e.data);
        (port1 as unknown as Refable).unref();
        // Node's types want their own MessagePort; Deno's is the same object.
        const moved = port2 as never;
        worker.postMessage({ op: "port", port: port2 } satisfies ToWorker, [moved]);
        // Messages are handled in order: init completes before any chunk.
        port1.postMessage({ op: "init", coding } satisfies ToWorker);
        worker.unref();
        resolve(slot);
      }
    });
    worker.on("error", (err: Error) => {
      slot.kill(`a chunk encoder worker failed: ${err.message}`);
      resolve(null);
    });
    worker.on("exit", () => {
      slot.kill("a chunk encoder worker exited");
      resolve(null);
    });
  });
}

function reply(slot: Slot, msg: FromWorker): void {
  if (msg.op === "ready" || msg.op === "unavailable") return;
  if (msg.op === "failed") {
    // A chunk that fails verification keeps its message (it names the chunk); anything else
    // is the worker's fault.
    const error = msg.integrity
      ? new IntegrityError(msg.error)
      : new TcfsError(`coding a chunk failed: ${msg.error}`);
    slot.settle(msg.seq, { error });
  } else {
    slot.settle(msg.seq, {
      value: msg.op === "id" ? msg.id : msg.op === "plain" ? msg.plain : msg.body,
    });
  }
}
