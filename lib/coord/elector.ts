/**
 * Leader election over any {@link LeaseStore}: every candidate reads the
 * lease on a fixed period; the holder renews it, the others take it over
 * once it has expired (see {@link leaseExpired}), each write a
 * compare-and-set so at most one candidate wins a round. A holder that cannot
 * renew within its renew deadline (shorter than the lease) steps down on its
 * own, before any other candidate may take over. Every new holder gets a
 * higher fencing token (logged as `term`: the logger hides fields named
 * like tokens).
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import {
  leaseExpired,
  type LeaseObservation,
  type LeaseRecord,
  type LeaseSnapshot,
  type LeaseStore,
} from "./lease.ts";

type Timer = ReturnType<typeof setTimeout>;

/** Shortest pause between two rounds, so a failing store is never hammered. */
const MIN_ROUND_MS = 20;

/** Default margin for wall-clock disagreement between candidates (ms). */
export const DEFAULT_SKEW_MARGIN_MS = 2_000;

/** Options of {@link LeaderElector}. */
export interface ElectorOptions {
  /** Where the lease lives. */
  store: LeaseStore;
  /** This candidate's identity, unique per process (see {@link candidateIdentity}). */
  identity: string;
  /** How long a renewal holds the lease (ms). */
  durationMs: number;
  /** How often the leader renews (default a quarter of the duration). */
  renewMs?: number;
  /** How often a candidate reads the lease (default a tenth of the duration). */
  retryMs?: number;
  /** A leader that has not renewed for this long steps down (default two thirds of the duration). */
  renewDeadlineMs?: number;
  /** Allowed wall-clock disagreement between candidates (default 2 s). */
  skewMarginMs?: number;
  /** The lowest token a new holder may take (e.g. above a fence), default 1. */
  minToken?: () => Promise<number>;
  /** Logger. */
  log: Logger;
}

/** A term of leadership. */
export interface Leadership {
  /** This term's fencing token. */
  token: number;
  /** Aborted when the term ends (lease lost, not renewed in time, or stop). */
  signal: AbortSignal;
}

/** A unique candidate identity: host, pid and a random suffix. */
export function candidateIdentity(host: string = Deno.hostname()): string {
  const suffix = crypto.getRandomValues(new Uint8Array(4));
  return `${host}-${Deno.pid}-${
    Array.from(suffix, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** Campaigns for a lease and holds it while it can. */
export class LeaderElector {
  readonly #opts: Required<Omit<ElectorOptions, "minToken">> & Pick<ElectorOptions, "minToken">;
  #observed: LeaseObservation | null = null;
  #last: LeaseSnapshot | null = null;
  #term: { token: number; abort: AbortController; deadline: Timer } | null = null;
  #timer: Timer | undefined;
  #running = false;
  #tick: Promise<void> = Promise.resolve();
  #onElected: (lead: Leadership) => void = () => {};

  /** A candidate with `opts`; call {@link LeaderElector.start} to campaign. */
  constructor(opts: ElectorOptions) {
    this.#opts = {
      renewMs: Math.max(50, Math.floor(opts.durationMs / 4)),
      retryMs: Math.max(50, Math.floor(opts.durationMs / 10)),
      renewDeadlineMs: Math.floor((opts.durationMs * 2) / 3),
      skewMarginMs: DEFAULT_SKEW_MARGIN_MS,
      ...opts,
    };
  }

  /** This candidate's identity. */
  get identity(): string {
    return this.#opts.identity;
  }

  /** The current term, or null when not leading. */
  get leadership(): Leadership | null {
    const term = this.#term;
    return term ? { token: term.token, signal: term.abort.signal } : null;
  }

  /** Campaign until {@link LeaderElector.stop}; `onElected` is called at the start of each term. */
  start(onElected: (lead: Leadership) => void): void {
    this.#onElected = onElected;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stop campaigning; a leader ends its term and releases the lease for a fast takeover. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    // A round stuck on an unresponsive store must not hold the stop up for ever.
    let wait: Timer | undefined;
    await Promise.race([this.#tick, new Promise((r) => wait = setTimeout(r, this.#opts.renewMs))]);
    clearTimeout(wait);
    const wasLeader = this.#term !== null;
    this.#stepDown("stopping");
    const last = this.#last;
    if (!wasLeader || !last || last.record.holder !== this.#opts.identity) return;
    const released = { ...last.record, holder: "", renewedMs: Date.now() };
    try {
      if (await this.#opts.store.write(released, last.version)) {
        this.#opts.log.info("lease released", { lease: this.#opts.store.description });
      }
    } catch (err) {
      this.#opts.log.warn("lease not released; it expires by itself", {
        error: (err as Error).message,
      });
    }
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#round().finally(() => this.#schedule(this.#nextRoundMs()));
    }, ms);
  }

  /** A leader renews on its period; a candidate reads on its own, and again right at expiry. */
  #nextRoundMs(): number {
    if (this.#term) return this.#opts.renewMs;
    const seen = this.#observed;
    const holder = this.#last?.record.holder;
    if (!seen || !holder || holder === this.#opts.identity) return this.#opts.retryMs;
    const expiresIn = seen.seenAt + this.#last!.record.durationMs - performance.now();
    return Math.max(MIN_ROUND_MS, Math.min(this.#opts.retryMs, Math.ceil(expiresIn)));
  }

  async #round(): Promise<void> {
    const started = performance.now();
    try {
      const snap = await this.#opts.store.read();
      this.#observe(snap);
      if (!this.#running) return;
      if (snap === null) return await this.#acquire(null, started);
      const { record } = snap;
      if (record.holder === this.#opts.identity) return await this.#renew(snap, started);
      if (this.#term) this.#stepDown(`the lease is now held by ${record.holder}`);
      const expired = leaseExpired(
        record,
        this.#observed!,
        performance.now(),
        Date.now(),
        this.#opts.skewMarginMs,
      );
      if (expired) await this.#acquire(snap, started);
    } catch (err) {
      this.#opts.log.warn("lease round failed", {
        lease: this.#opts.store.description,
        error: (err as Error).message,
      });
    }
  }

  #observe(snap: LeaseSnapshot | null): void {
    this.#last = snap;
    if (snap && snap.version !== this.#observed?.version) {
      this.#observed = { version: snap.version, seenAt: performance.now() };
    }
  }

  async #acquire(snap: LeaseSnapshot | null, started: number): Promise<void> {
    const floor = this.#opts.minToken ? await this.#opts.minToken() : 1;
    const now = Date.now();
    const record: LeaseRecord = {
      holder: this.#opts.identity,
      token: Math.max(floor, (snap?.record.token ?? 0) + 1),
      acquiredMs: now,
      renewedMs: now,
      durationMs: this.#opts.durationMs,
    };
    const written = await this.#opts.store.write(record, snap?.version ?? null);
    if (!written) return; // another candidate won this round
    this.#observe(written);
    this.#begin(record.token, started, snap?.record.holder);
  }

  async #renew(snap: LeaseSnapshot, started: number): Promise<void> {
    const record = { ...snap.record, renewedMs: Date.now(), durationMs: this.#opts.durationMs };
    const written = await this.#opts.store.write(record, snap.version);
    if (!written) {
      this.#stepDown("lost the lease to another candidate");
      return;
    }
    this.#observe(written);
    // Still ours and unchanged since we held it: the term goes on (or resumes, same token).
    if (this.#term?.token === record.token) {
      clearTimeout(this.#term.deadline);
      this.#term.deadline = this.#deadline(started);
    } else this.#begin(record.token, started, snap.record.holder);
  }

  #begin(token: number, started: number, previous: string | undefined): void {
    this.#stepDown("a new term begins");
    if (!this.#running) return; // won after stop() gave up waiting: let the lease expire
    const abort = new AbortController();
    this.#term = { token, abort, deadline: this.#deadline(started) };
    this.#opts.log.info("elected leader", {
      lease: this.#opts.store.description,
      identity: this.#opts.identity,
      term: token,
      previous: previous || "none",
    });
    this.#onElected({ token, signal: abort.signal });
  }

  /**
   * A timer ending the term when no renewal started after `started` succeeds
   * within the renew deadline, even if the lease store stops answering.
   */
  #deadline(started: number): Timer {
    const left = started + this.#opts.renewDeadlineMs - performance.now();
    return setTimeout(() => this.#stepDown("the lease was not renewed in time"), Math.max(0, left));
  }

  #stepDown(reason: string): void {
    const term = this.#term;
    if (!term) return;
    this.#term = null;
    clearTimeout(term.deadline);
    this.#opts.log.info("leadership ended", { term: term.token, reason });
    term.abort.abort(reason);
  }
}
