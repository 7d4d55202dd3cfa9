/**
 * What a leader lease is, independent of where it is stored: a record naming
 * the holder, when it was acquired and last renewed, how long it lasts, and a
 * fencing token that grows with every change of holder. A {@link LeaseStore}
 * reads it with a version and writes it only if that version is still
 * current (optimistic concurrency), which is all leader election needs.
 *
 * @module
 */

/** The lease as stored. */
export interface LeaseRecord {
  /** Who holds it; "" when released. */
  holder: string;
  /**
   * Fencing token: strictly greater for every new holder, never lower. Writes
   * and tasks carry it so that a deposed leader's late ones can be refused.
   */
  token: number;
  /** When the current holder acquired it (ms since the epoch, holder's clock). */
  acquiredMs: number;
  /** When the holder last renewed it (ms since the epoch, holder's clock). */
  renewedMs: number;
  /** How long a renewal holds (ms). */
  durationMs: number;
}

/** A lease record as read, with the version a conditional write must name. */
export interface LeaseSnapshot {
  /** The record. */
  record: LeaseRecord;
  /** Opaque version (NATS KV revision, Kubernetes resourceVersion). */
  version: string;
}

/** Where a lease lives, with compare-and-set writes. */
export interface LeaseStore {
  /** A human-readable name of the lease and its backend, for logs. */
  readonly description: string;
  /** The current record, or null when no lease was ever created. */
  read(): Promise<LeaseSnapshot | null>;
  /**
   * Write `record` if the stored version is still `version` (`null`: only if
   * no lease exists yet). Resolves to the new snapshot, or null when another
   * writer got there first.
   */
  write(record: LeaseRecord, version: string | null): Promise<LeaseSnapshot | null>;
}

/** What a candidate knows of the lease it does not hold. */
export interface LeaseObservation {
  /** The version last read. */
  version: string;
  /** `performance.now()` when that version was first seen. */
  seenAt: number;
}

/**
 * Whether a lease held by someone else may be taken over. Two rules, either
 * suffices:
 *
 * - the record has not changed for a whole lease duration by the candidate's
 *   own monotonic clock (immune to wall-clock skew: only the clocks' rates
 *   matter, and the holder gives up before a full duration has passed since
 *   its last renewal began);
 * - by the candidate's wall clock the lease ran out more than `skewMarginMs`
 *   ago (lets a candidate that just started take over a long-dead lease at
 *   once; safe while the clocks disagree by less than the margin).
 */
export function leaseExpired(
  record: LeaseRecord,
  seen: LeaseObservation,
  nowMono: number,
  nowWall: number,
  skewMarginMs: number,
): boolean {
  if (record.holder === "") return true;
  if (nowMono - seen.seenAt >= record.durationMs) return true;
  return nowWall > record.renewedMs + record.durationMs + skewMarginMs;
}
