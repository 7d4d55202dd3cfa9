/**
 * Prefetch hints: a worker's advice to one device to warm its chunk cache
 * with chunks it will likely read soon (lib/worker makes them from that
 * device's hydration events: the other files of a directory it opened).
 * Each is one NATS message on `STATE.<device>.prefetch`, sealed with the
 * repository's metadata key like the state events, listing chunk
 * references the device can fetch directly, without reading manifests.
 *
 * A hint is advice, never an order: a device that is offline, has no chunk
 * cache or is busy may ignore it, and the chunks are fetched at background
 * priority, behind every read a user waits for.
 *
 * @module
 */

import type { ChunkRef, Repository } from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import { openSealed } from "./sealed.ts";
import { STATE_SUBJECT_PREFIX } from "./state_events.ts";

/** The last subject token of a prefetch hint. */
export const PREFETCH_HINT_KIND = "prefetch";

/** Most chunk references one hint carries (keeps it well under NATS's 1 MiB payload limit). */
export const MAX_HINT_CHUNKS = 2_000;

/** One prefetch hint. */
export interface PrefetchHint {
  /** Format version. */
  v: 1;
  /** Repository id (hints of other repositories are ignored). */
  repo: string;
  /** The device that should warm its cache. */
  device: string;
  /** The files the chunks belong to (remote paths), for logs. */
  paths: string[];
  /** The chunks to warm, each once. */
  chunks: ChunkRef[];
  /** Plaintext bytes of those chunks. */
  bytes: number;
  /** When it was made (ms since the epoch). */
  time_ms: number;
}

/** The subject of hints for `device`: `STATE.<device>.prefetch`. */
export function prefetchHintSubject(device: string): string {
  return `${STATE_SUBJECT_PREFIX}.${device}.${PREFETCH_HINT_KIND}`;
}

/** Seal `hint` for its subject with the repository's metadata key. */
export async function encodePrefetchHint(
  repo: Pick<Repository, "codec">,
  hint: PrefetchHint,
): Promise<Uint8Array> {
  return await repo.codec.encodeMeta(prefetchHintSubject(hint.device), hint);
}

/**
 * Open a hint received on `subject` for `device`; null when it is not a
 * well-formed hint of this repository addressed to that device.
 */
export async function decodePrefetchHint(
  repo: Pick<Repository, "codec" | "config">,
  device: string,
  subject: string,
  data: Uint8Array,
): Promise<PrefetchHint | null> {
  if (subject !== prefetchHintSubject(device)) return null;
  return await openSealed<PrefetchHint>(
    repo,
    device,
    subject,
    data,
    (h) =>
      Array.isArray(h.paths) && Array.isArray(h.chunks) && h.chunks.length <= MAX_HINT_CHUNKS &&
      h.chunks.every(isChunkRef),
  );
}

function isChunkRef(c: ChunkRef): boolean {
  return typeof c === "object" && c !== null && typeof c.id === "string" &&
    /^[0-9a-f]{64}$/.test(c.id) && Number.isSafeInteger(c.offset) && Number.isSafeInteger(c.size) &&
    (c.pack === undefined ||
      (typeof c.pack.id === "string" && /^[0-9a-f]{64}$/.test(c.pack.id) &&
        Number.isSafeInteger(c.pack.offset) && Number.isSafeInteger(c.pack.length)));
}

/** A chunk cache a hint can warm (lib/cache's ChunkCache is one). */
export interface WarmableCache {
  /** Read chunk `ref` through the cache, keeping it (a hit costs nothing). */
  read(
    ref: ChunkRef,
    opts: { signal?: AbortSignal; priority?: "urgent" | "background"; keep?: boolean },
  ): Promise<Uint8Array>;
}

/** What warming from a hint did. */
export interface WarmReport {
  /** Chunks now in the cache (fetched, or there already). */
  warmed: number;
  /** Chunks that could not be read (the reader of the file will see the error, if any). */
  failed: number;
}

/**
 * Read every chunk of `hint` through `cache` at background priority, a few
 * at a time, so that the files they belong to open without a round trip.
 * Failures are counted, not thrown (a hint is advice); an abort of
 * `signal` stops it and rejects.
 */
export async function warmFromHint(
  hint: PrefetchHint,
  cache: WarmableCache,
  opts: { signal?: AbortSignal; concurrency?: number } = {},
): Promise<WarmReport> {
  const report: WarmReport = { warmed: 0, failed: 0 };
  await mapLimit(hint.chunks, opts.concurrency ?? 2, async (ref) => {
    opts.signal?.throwIfAborted();
    try {
      await cache.read(ref, { signal: opts.signal, priority: "background", keep: true });
      report.warmed++;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      report.failed++;
    }
  });
  return report;
}

/** Options of {@link prefetchWarmer}. */
export interface PrefetchWarmerOptions {
  /** Stops warming (e.g. at unmount). */
  signal?: AbortSignal;
  /** Hints waiting behind the one being warmed; more are dropped (default 4). */
  maxWaiting?: number;
  /** Told when a hint has been warmed. */
  onWarmed?: (hint: PrefetchHint, report: WarmReport) => void;
}

/**
 * A hint handler for a device's state-event link (`onPrefetchHint`) that
 * warms `cache` from one hint at a time, in arrival order, dropping hints
 * when too many wait (a hint is advice; the newest matter as much as old).
 */
export function prefetchWarmer(
  cache: WarmableCache,
  opts: PrefetchWarmerOptions = {},
): (hint: PrefetchHint) => void {
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;
  return (hint) => {
    if (opts.signal?.aborted || waiting > (opts.maxWaiting ?? 4)) return;
    waiting++;
    tail = tail.then(async () => {
      waiting--;
      if (opts.signal?.aborted) return;
      const report = await warmFromHint(hint, cache, { signal: opts.signal }).catch(() => null);
      if (report) opts.onWarmed?.(hint, report);
    });
  };
}
