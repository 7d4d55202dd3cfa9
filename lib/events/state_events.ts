/**
 * State events: what a device tells the others the moment it commits, so
 * they need not wait for their next poll of the commit logs. Each is one
 * NATS message on `STATE.<device>.<kind>` (file committed, deleted, renamed,
 * device online/offline, conflict resolved), sealed with the repository's
 * metadata key like a commit record, so the broker sees neither paths nor
 * names and a device of another repository cannot read (or forge) them.
 *
 * Events are a hint, never the truth: the commit records are. A lost event
 * (NATS down, a device offline) only means the change arrives at the next
 * poll instead of at once.
 *
 * @module
 */

import type { CommitRecord } from "../repo/mod.ts";

/** Subject prefix of state events; the `STATE` stream (lib/queue) stores `STATE.>`. */
export const STATE_SUBJECT_PREFIX = "STATE";

/** The kinds of state event. */
export const STATE_EVENT_KINDS = [
  "committed",
  "deleted",
  "renamed",
  "online",
  "offline",
  "conflict_resolved",
] as const;

/** A kind of state event. */
export type StateEventKind = (typeof STATE_EVENT_KINDS)[number];

/** Most paths an event lists; a bigger commit sets `truncated` (receivers sync everything). */
export const MAX_EVENT_PATHS = 500;

/** One state event. */
export interface StateEvent {
  /** Format version. */
  v: 1;
  /** Repository id (events of other repositories are ignored). */
  repo: string;
  /** The device it happened on. */
  device: string;
  /** What happened. */
  kind: StateEventKind;
  /** The commit record's sequence number in the device's log (0 for online/offline). */
  seq: number;
  /** Paths concerned (for `renamed`, the new names). */
  paths: string[];
  /** For `renamed`: the old name of each of `paths`, index for index. */
  from?: string[];
  /** More paths changed than are listed: treat the whole namespace as changed. */
  truncated?: boolean;
  /** When it happened (ms since the epoch, sender's clock). */
  time_ms: number;
}

/** The subject of an event: `STATE.<device>.<kind>`. */
export function stateSubject(device: string, kind: StateEventKind): string {
  return `${STATE_SUBJECT_PREFIX}.${device}.${kind}`;
}

/** The device and kind a subject names, or null when it is not a state event subject. */
export function parseStateSubject(
  subject: string,
): { device: string; kind: StateEventKind } | null {
  const parts = subject.split(".");
  if (parts.length !== 3 || parts[0] !== STATE_SUBJECT_PREFIX) return null;
  const kind = parts[2] as StateEventKind;
  return STATE_EVENT_KINDS.includes(kind) ? { device: parts[1], kind } : null;
}

/**
 * The events a commit record stands for: a tombstone and a new live version
 * of the same content in one record are a rename; other tombstones are
 * deletions; other live versions are commits. One event per kind present.
 */
export function eventsOfRecord(repo: string, record: CommitRecord): StateEvent[] {
  const live = record.versions.filter((v) => !v.deleted);
  const gone = record.versions.filter((v) => v.deleted);
  const renamedTo: string[] = [];
  const renamedFrom: string[] = [];
  const paired = new Set<string>();
  for (const v of live) {
    if (!v.manifestId) continue;
    const old = gone.find((g) => g.manifestId === v.manifestId && !paired.has(g.path));
    if (!old) continue;
    paired.add(old.path);
    paired.add(v.path);
    renamedTo.push(v.path);
    renamedFrom.push(old.path);
  }
  const base = { v: 1 as const, repo, device: record.device, seq: record.seq };
  const make = (kind: StateEventKind, paths: string[], from?: string[]): StateEvent => ({
    ...base,
    kind,
    time_ms: record.time,
    paths: paths.slice(0, MAX_EVENT_PATHS),
    ...(from ? { from: from.slice(0, MAX_EVENT_PATHS) } : {}),
    ...(paths.length > MAX_EVENT_PATHS ? { truncated: true } : {}),
  });
  const events: StateEvent[] = [];
  const committed = live.filter((v) => !paired.has(v.path)).map((v) => v.path);
  const deleted = gone.filter((v) => !paired.has(v.path)).map((v) => v.path);
  if (committed.length > 0) events.push(make("committed", committed));
  if (deleted.length > 0) events.push(make("deleted", deleted));
  if (renamedTo.length > 0) events.push(make("renamed", renamedTo, renamedFrom));
  return events;
}

/** Every path an event concerns (renames: old and new names). */
export function pathsOf(event: StateEvent): string[] {
  return [...event.paths, ...(event.from ?? [])];
}

/** Whether `value` has the shape of a {@link StateEvent}. */
export function isStateEvent(value: unknown): value is StateEvent {
  const e = value as StateEvent;
  return typeof e === "object" && e !== null && e.v === 1 && typeof e.repo === "string" &&
    typeof e.device === "string" && STATE_EVENT_KINDS.includes(e.kind) &&
    Number.isSafeInteger(e.seq) && Array.isArray(e.paths) &&
    e.paths.every((p) => typeof p === "string") &&
    (e.from === undefined || (Array.isArray(e.from) && e.from.every((p) => typeof p === "string")));
}
