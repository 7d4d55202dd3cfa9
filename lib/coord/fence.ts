/**
 * Fencing: refuse what a deposed leader does late. A leader's writes and
 * tasks carry its fencing token; a {@link Fence} is a NATS KV key holding the
 * highest token admitted so far together with the state the leader guards
 * (its schedule). A new leader raises the fence to its own token before doing
 * anything, and every guarded write is one compare-and-set of that key that
 * only goes through while the stored token is not higher than the writer's.
 * So once the new leader has raised the fence, no write of the old one can
 * land there, however late it arrives. {@link FenceGuard} adds the lease's
 * own token, which is raised at the takeover itself, for checks made before
 * the new leader's first write (the `fence` hook of maintenance jobs, the
 * worker's check of a task's token).
 *
 * @module
 */

import type { KV } from "@nats-io/kv";
import { FencedOutError, IntegrityError, LeaseError } from "../errors.ts";
import type { LeaseStore } from "./lease.ts";
import { isRevisionConflict } from "./nats_lease.ts";

/** The fence's content: the highest token admitted and the guarded state. */
export interface FenceValue<S> {
  /** Highest token admitted. */
  token: number;
  /** State written by the holder of that token. */
  state: S;
}

/** Attempts of a guarded write that keeps losing its compare-and-set to other writers. */
const MAX_ATTEMPTS = 20;

/** A fenced key `fence.<name>` in a NATS KV bucket, guarding state of type `S`. */
export class Fence<S> {
  readonly #kv: KV;
  readonly #key: string;
  readonly #empty: S;

  /** The fence `name` in `kv`; `empty` is the state before any write. */
  constructor(kv: KV, name: string, empty: S) {
    this.#kv = kv;
    this.#key = `fence.${name}`;
    this.#empty = empty;
  }

  /** The stored token and state (token 0 and `empty` when never written). */
  async read(): Promise<FenceValue<S> & { revision: number }> {
    const entry = await this.#kv.get(this.#key).catch((err) => {
      throw new LeaseError(`fence ${this.#key}: read failed: ${err.message}`, { cause: err });
    });
    if (!entry || entry.operation !== "PUT") return { token: 0, state: this.#empty, revision: 0 };
    let value: FenceValue<S>;
    try {
      value = entry.json<FenceValue<S>>();
    } catch (err) {
      throw new IntegrityError(`fence ${this.#key}: the value is not JSON`, { cause: err });
    }
    if (!Number.isSafeInteger(value.token)) {
      throw new IntegrityError(`fence ${this.#key}: the value has no token`);
    }
    return { ...value, revision: entry.revision };
  }

  /**
   * Replace the state with `change(state)` on behalf of the holder of
   * `token`, raising the stored token to it. Throws {@link FencedOutError}
   * when a higher token is stored; retries when another writer of an equal
   * or lower token wrote in between.
   */
  async update(token: number, change: (state: S) => S): Promise<S> {
    for (let attempt = 1;; attempt++) {
      const current = await this.read();
      if (current.token > token) {
        throw new FencedOutError(
          `fencing token ${token} is stale: the fence ${this.#key} is at ${current.token}, ` +
            "so a newer leader has taken over; this one must stop",
        );
      }
      const next: FenceValue<S> = { token, state: change(current.state) };
      try {
        const body = JSON.stringify(next);
        if (current.revision === 0) await this.#kv.create(this.#key, body);
        else await this.#kv.update(this.#key, body, current.revision);
        return next.state;
      } catch (err) {
        if (!isRevisionConflict(err)) {
          throw new LeaseError(`fence ${this.#key}: write failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (attempt >= MAX_ATTEMPTS) {
          throw new LeaseError(`fence ${this.#key}: too much contention (${attempt} attempts)`);
        }
      }
    }
  }

  /** Raise the stored token to `token` (a new leader's first act); returns the state. */
  async raise(token: number): Promise<S> {
    return await this.update(token, (s) => s);
  }
}

/**
 * Checks a fencing token against everything that knows a newer one: the
 * lease (raised at takeover) and the fence (raised by the new leader right
 * after). This is the check the maintenance jobs' `fence` hook and the
 * worker call before acting on a leader's behalf.
 */
export class FenceGuard {
  readonly #lease: LeaseStore;
  readonly #fence: Fence<unknown>;

  /** Check against `lease` and `fence`. */
  constructor(lease: LeaseStore, fence: Fence<unknown>) {
    this.#lease = lease;
    this.#fence = fence;
  }

  /** The highest token either store knows (0 when neither was written). */
  async currentToken(): Promise<number> {
    const [lease, fence] = await Promise.all([this.#lease.read(), this.#fence.read()]);
    return Math.max(lease?.record.token ?? 0, fence.token);
  }

  /** Throw {@link FencedOutError} unless `token` is the newest one known. */
  async check(token: number): Promise<void> {
    const current = await this.currentToken();
    if (current > token) {
      throw new FencedOutError(
        `fencing token ${token} is stale (current ${current}): it comes from a deposed ` +
          "coordinator, so the work it asks for is refused",
      );
    }
  }
}
