/**
 * Hydration events: what a device made local on demand, for how long it
 * waited and how many bytes it took. Each is one NATS message on
 * `hydration.<device>`, kept by the `HYDRATION_EVENTS` stream (lib/queue),
 * sealed with the repository's metadata key like the state events, so the
 * broker sees no paths. Workers read them to send prefetch hints back
 * (lib/worker); the daemon's own metrics count every hydration as well.
 *
 * The daemon reports each hydration once, when it ends, through a
 * {@link HydrationReporter}: it feeds `tcfs_hydrations_total` and
 * `tcfs_hydration_seconds` and publishes the event (only successful ones;
 * a failure is a local matter). Publishing never waits for NATS and never
 * fails the hydration.
 *
 * @module
 */

import type { HydrationOutcome, TcfsMetrics } from "../metrics/mod.ts";
import type { Repository } from "../repo/mod.ts";
import { openSealed } from "./sealed.ts";

/** Subject prefix of hydration events; the `HYDRATION_EVENTS` stream stores `hydration.>`. */
export const HYDRATION_SUBJECT_PREFIX = "hydration";

/** One hydration, as published. */
export interface HydrationEvent {
  /** Format version. */
  v: 1;
  /** Repository id (events of other repositories are ignored). */
  repo: string;
  /** The device that hydrated. */
  device: string;
  /** Remote path of the file. */
  path: string;
  /** Bytes of the file made local. */
  bytes: number;
  /** How long the reader waited, in milliseconds. */
  ms: number;
  /** When it ended (ms since the epoch, sender's clock). */
  time_ms: number;
}

/** The subject of a device's hydration events: `hydration.<device>`. */
export function hydrationSubject(device: string): string {
  return `${HYDRATION_SUBJECT_PREFIX}.${device}`;
}

/** The device a hydration subject names, or null. */
export function deviceOfHydrationSubject(subject: string): string | null {
  const parts = subject.split(".");
  return parts.length === 2 && parts[0] === HYDRATION_SUBJECT_PREFIX ? parts[1] : null;
}

/** Seal `event` for its subject with the repository's metadata key. */
export async function encodeHydrationEvent(
  repo: Pick<Repository, "codec">,
  event: HydrationEvent,
): Promise<Uint8Array> {
  return await repo.codec.encodeMeta(hydrationSubject(event.device), event);
}

/**
 * Open a hydration event received on `subject`; null when it is not one of
 * this repository's (another key, another repository id, a device that
 * does not match its subject, or not an event at all).
 */
export async function decodeHydrationEvent(
  repo: Pick<Repository, "codec" | "config">,
  subject: string,
  data: Uint8Array,
): Promise<HydrationEvent | null> {
  const device = deviceOfHydrationSubject(subject);
  if (device === null) return null;
  return await openSealed<HydrationEvent>(
    repo,
    device,
    subject,
    data,
    (e) =>
      typeof e.path === "string" && e.path.startsWith("/") && Number.isSafeInteger(e.bytes) &&
      typeof e.ms === "number" && typeof e.time_ms === "number",
  );
}

/** What the file system tells the reporter about one finished hydration. */
export interface HydrationReport {
  /** Remote path of the file. */
  path: string;
  /** Bytes made local (the file's size for a full hydration). */
  bytes: number;
  /** How long it took, in milliseconds. */
  ms: number;
  /** How it ended. */
  outcome: HydrationOutcome;
}

/** Where a reporter publishes: a device's state-event link (lib/events/state_link.ts). */
export interface HydrationEventSink {
  /** Publish a sealed hydration event; a no-op while not connected. */
  publishHydration(event: HydrationEvent): Promise<void>;
}

/** Options of {@link HydrationReporter}. */
export interface HydrationReporterOptions {
  /** The repository (its id scopes events). */
  repo: Pick<Repository, "config">;
  /** This device's id. */
  device: string;
  /** Metrics to feed (`tcfs_hydrations_total`, `tcfs_hydration_seconds`). */
  metrics?: TcfsMetrics;
  /** Where events go; none (no NATS configured): metrics only. */
  sink?: HydrationEventSink | null;
}

/** Counts each finished hydration and tells the other side about it; see the module docs. */
export class HydrationReporter {
  readonly #opts: HydrationReporterOptions;

  /** A reporter with `opts`. */
  constructor(opts: HydrationReporterOptions) {
    this.#opts = opts;
  }

  /** Record one finished hydration; returns at once (publishing goes on in the background). */
  report(r: HydrationReport): void {
    const { metrics, sink, repo, device } = this.#opts;
    metrics?.hydrations.inc({ outcome: r.outcome });
    if (r.outcome !== "ok") return;
    metrics?.hydrationSeconds.observe(r.ms / 1000);
    void sink?.publishHydration({
      v: 1,
      repo: repo.config.id,
      device,
      path: r.path,
      bytes: r.bytes,
      ms: r.ms,
      time_ms: Date.now(),
    }).catch(() => {});
  }

  /**
   * Run `hydrate` and report it: ok when it resolves, cancelled when
   * `signal` was aborted by then, else error. Returns its result.
   */
  async track<T>(
    path: string,
    bytes: number,
    hydrate: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const started = performance.now();
    const done = (outcome: HydrationOutcome) =>
      this.report({ path, bytes, ms: performance.now() - started, outcome });
    try {
      const result: T = await hydrate();
      done("ok");
      return result;
    } catch (err) {
      done(signal?.aborted ? "cancelled" : "error");
      throw err;
    }
  }
}
