/**
 * BLAKE3 hashing, plain and keyed (the standard `keyed_hash` mode with a
 * 32-byte key), one-shot and streaming, all synchronous.
 *
 * Two libraries, each where bench/primitives.ts measured it faster under
 * Deno on a 2-core x86-64 machine:
 * - `blake3-jit` for plain one-shot hashes: ~1.2 GB/s on 1 MiB (WASM SIMD).
 *   Its keyed and incremental modes run without SIMD (~0.47 GB/s).
 * - `hash-wasm` for keyed one-shot hashes and every streaming hasher:
 *   ~0.73 GB/s in all modes.
 *
 * hash-wasm creates its instances asynchronously. This module loads one at
 * import time (top-level await) and multiplexes every hasher over it by
 * saving and restoring the ~2 KiB hash state whenever a different hasher
 * uses it, which costs nothing measurable for updates of 64 KiB or more. The
 * keyed starting state of a key also needs one asynchronous step: call
 * {@linkcode initBlake3} with the key once (opening a repository is the
 * natural place). Until that has finished, keyed hashing with that key
 * still works, with blake3-jit's slower keyed mode, and the first use starts
 * the preparation in the background.
 *
 * @module
 */

import { createKeyed as jitKeyed, hash as jitHash, type Hasher as JitHasher } from "blake3-jit";
import { createBLAKE3, type IHasher } from "hash-wasm";
import { IntegrityError, KeyError } from "../errors.ts";

/** A 32-byte BLAKE3 output. */
export type Digest = Uint8Array;

/** Length of a digest and of a key, in bytes. */
export const DIGEST_LENGTH = 32;

/** An incremental hasher; `digest()` ends it (further calls throw). */
export interface Blake3Hasher {
  /** Add the next bytes of the message. */
  update(data: Uint8Array): void;
  /** The hash of everything added so far; the hasher cannot be used afterwards. */
  digest(): Digest;
}

// The one hash-wasm instance every hasher shares, and the streaming hasher
// whose state is currently loaded in it (null: none, the instance is free).
const shared: IHasher = await createBLAKE3(256);
const plainStart: Uint8Array = shared.init().save();
let owner: WasmHasher | null = null;

// Starting state of each prepared key, by key in hex. Keys are few (one per
// repository), so the map is capped instead of evicting.
const keyedStart = new Map<string, Uint8Array>();
const preparing = new Map<string, Promise<void>>();
const MAX_KEYS = 64;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== DIGEST_LENGTH) {
    throw new KeyError(
      `a BLAKE3 key must be ${DIGEST_LENGTH} bytes, got ${
        key instanceof Uint8Array ? key.length : typeof key
      }`,
    );
  }
}

/**
 * Prepare fast keyed hashing with `key` (idempotent; resolves when ready).
 * Without a key it resolves at once: plain hashing needs no preparation.
 */
export function initBlake3(key?: Uint8Array): Promise<void> {
  if (key === undefined) return Promise.resolve();
  checkKey(key);
  const id = toHex(key);
  if (keyedStart.has(id)) return Promise.resolve();
  let pending = preparing.get(id);
  if (pending === undefined) {
    pending = createBLAKE3(256, key).then((h) => {
      if (keyedStart.size < MAX_KEYS) keyedStart.set(id, h.init().save());
    }).finally(() => preparing.delete(id));
    preparing.set(id, pending);
  }
  return pending;
}

/** The prepared starting state for `key`, or undefined (and preparation begins). */
function startFor(key: Uint8Array): Uint8Array | undefined {
  const start = keyedStart.get(toHex(key));
  if (start === undefined && keyedStart.size < MAX_KEYS) {
    // Fall back for now; the next call with this key takes the fast path.
    initBlake3(key).catch(() => {});
  }
  return start;
}

/** Free the shared instance: the streaming hasher loaded in it keeps its state. */
function evictOwner(): void {
  if (owner !== null) {
    owner.parked = shared.save();
    owner = null;
  }
}

/**
 * BLAKE3 of `data`, or its keyed hash when a 32-byte `key` is given
 * (equal to `b3sum` / `b3sum --keyed`). Synchronous.
 */
export function blake3(data: Uint8Array, key?: Uint8Array): Digest {
  if (key === undefined) return jitHash(data);
  checkKey(key);
  const start = startFor(key);
  if (start === undefined) return jitKeyed(key).update(data).finalize();
  evictOwner();
  return shared.load(start).update(data).digest("binary");
}

class WasmHasher implements Blake3Hasher {
  /** The hash state while another hasher holds the shared instance. */
  parked: Uint8Array | null;

  constructor(start: Uint8Array) {
    this.parked = start;
  }

  update(data: Uint8Array): void {
    this.#acquire();
    shared.update(data);
  }

  digest(): Digest {
    this.#acquire();
    owner = null;
    this.parked = null;
    return shared.digest("binary");
  }

  #acquire(): void {
    if (owner === this) return;
    if (this.parked === null) throw new IntegrityError("BLAKE3 hasher used after digest()");
    evictOwner();
    shared.load(this.parked);
    owner = this;
  }
}

class JitKeyedHasher implements Blake3Hasher {
  #inner: JitHasher | null;

  constructor(key: Uint8Array) {
    this.#inner = jitKeyed(key);
  }

  update(data: Uint8Array): void {
    this.#live().update(data);
  }

  digest(): Digest {
    const out = this.#live().finalize();
    this.#inner = null;
    return out;
  }

  #live(): JitHasher {
    if (this.#inner === null) throw new IntegrityError("BLAKE3 hasher used after digest()");
    return this.#inner;
  }
}

/**
 * A streaming BLAKE3 hasher (keyed when `key` is given), for data too large
 * to hold at once. Any number may be in use at the same time. Synchronous.
 */
export function createBlake3(key?: Uint8Array): Blake3Hasher {
  if (key === undefined) return new WasmHasher(plainStart);
  checkKey(key);
  const start = startFor(key);
  return start === undefined ? new JitKeyedHasher(key) : new WasmHasher(start);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** Bytes of a hex string (either case); throws IntegrityError if it is not hex. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    const shown = typeof hex === "string" ? JSON.stringify(hex.slice(0, 80)) : typeof hex;
    throw new IntegrityError(`expected an even-length hex string, got ${shown}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
