/**
 * The coordinator: while (and only while) it holds the leader lease, it
 * schedules the repository's periodic maintenance (compact, gc, scrub) by
 * publishing tasks to `SYNC_TASKS`. The schedule (each job's last run and run
 * number) lives in the fence, so every schedule write is fenced and a new
 * leader carries on where the old one stopped instead of running everything
 * again. Each task carries the leader's fencing token in a message header,
 * which a worker checks ({@link FenceGuard.check}) before running it.
 *
 * @module
 */

import { FencedOutError } from "../errors.ts";
import type { Logger } from "../log/mod.ts";
import type { LeaderElector, Leadership } from "./elector.ts";
import type { Fence } from "./fence.ts";

/** The maintenance jobs the coordinator schedules. */
export const SCHEDULED_JOBS = ["compact", "gc", "scrub"] as const;

/** A scheduled job. */
export type ScheduledJob = (typeof SCHEDULED_JOBS)[number];

/** The NATS message header carrying the fencing token of a coordinator's task. */
export const FENCE_TOKEN_HEADER = "Tcfs-Fence-Token";

/** The fencing token a task's headers carry, or null when it came from no coordinator. */
export function fenceTokenOf(headers: { get(name: string): string } | undefined): number | null {
  const value = headers?.get(FENCE_TOKEN_HEADER);
  if (!value) return null;
  const token = Number(value);
  return Number.isSafeInteger(token) && token > 0 ? token : null;
}

/** One job's schedule. */
export interface JobSchedule {
  /** Runs scheduled so far (across all leaders). */
  runs: number;
  /** When the last run was scheduled (ms since the epoch). */
  lastMs: number;
  /** Token of the leader that scheduled it. */
  token: number;
}

/** What the fence guards: the schedule of every job. */
export type ScheduleState = Partial<Record<ScheduledJob, JobSchedule>>;

/** A task to publish for a scheduled run. */
export interface ScheduledRun {
  /** Which job. */
  job: ScheduledJob;
  /** Its run number (stable across retries, so a republish is deduplicated). */
  run: number;
  /** The scheduling leader's fencing token. */
  token: number;
}

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  /** The candidate campaigning for the lease. */
  elector: LeaderElector;
  /** The fence holding the schedule. */
  fence: Fence<ScheduleState>;
  /** Publish the task of a run (idempotent per job and run number). */
  publish: (run: ScheduledRun) => Promise<void>;
  /** Interval of each job in ms; 0 turns a job off. */
  intervalsMs: Record<ScheduledJob, number>;
  /** How often a leader looks at the schedule (default 1 s). */
  tickMs?: number;
  /** Logger. */
  log: Logger;
}

/** Schedules maintenance while leader. */
export class Coordinator {
  readonly #opts: CoordinatorOptions;
  readonly #unpublished = new Map<ScheduledJob, ScheduledRun>();
  #term: Promise<void> = Promise.resolve();

  /** A coordinator with `opts`; {@link Coordinator.start} campaigns. */
  constructor(opts: CoordinatorOptions) {
    this.#opts = opts;
  }

  /** Campaign for the lease and schedule while leading. */
  start(): void {
    this.#opts.elector.start((lead) => {
      const previous = this.#term;
      this.#term = previous.then(() => this.#lead(lead));
    });
  }

  /** Stop campaigning (releasing the lease when held) and wait for the current term to end. */
  async stop(): Promise<void> {
    await this.#opts.elector.stop();
    await this.#term;
  }

  async #lead(lead: Leadership): Promise<void> {
    const { log } = this.#opts;
    try {
      // Before anything else: from now on nothing with a lower token gets through.
      await this.#opts.fence.raise(lead.token);
      // Runs an earlier term scheduled but could not publish carry its stale token: drop them.
      this.#unpublished.clear();
      while (!lead.signal.aborted) {
        await this.#tick(lead.token, lead.signal);
        await abortableSleep(this.#opts.tickMs ?? 1_000, lead.signal);
      }
    } catch (err) {
      if (err instanceof FencedOutError) {
        log.warn("fenced out: a newer leader exists; scheduling stops", { term: lead.token });
      } else if (!lead.signal.aborted) {
        log.error("coordinator term failed", { term: lead.token, error: (err as Error).message });
      }
    }
  }

  /** Schedule what is due, then publish what is scheduled and not yet published. */
  async #tick(token: number, signal: AbortSignal): Promise<void> {
    const now = Date.now();
    const due: ScheduledRun[] = [];
    await this.#opts.fence.update(token, (state) => {
      due.length = 0; // the change may run again after a lost compare-and-set
      const next = { ...state };
      for (const job of SCHEDULED_JOBS) {
        const interval = this.#opts.intervalsMs[job];
        const last = state[job];
        if (interval <= 0 || (last && now - last.lastMs < interval)) continue;
        const run = (last?.runs ?? 0) + 1;
        next[job] = { runs: run, lastMs: now, token };
        due.push({ job, run, token });
      }
      return next;
    }).then(() => {
      for (const run of due) this.#unpublished.set(run.job, run);
    }, (err) => {
      // A fenced-out write must end the term; anything else is retried next tick.
      if (err instanceof FencedOutError) throw err;
      this.#opts.log.warn("schedule not updated", { error: (err as Error).message });
    });
    for (const [job, run] of this.#unpublished) {
      if (signal.aborted) return;
      try {
        await this.#opts.publish(run);
        this.#unpublished.delete(job);
        this.#opts.log.info("scheduled", { job, run: run.run, term: run.token });
      } catch (err) {
        this.#opts.log.warn("task not published; retried next tick", {
          job,
          error: (err as Error).message,
        });
      }
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
