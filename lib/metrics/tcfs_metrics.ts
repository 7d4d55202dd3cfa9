/**
 * The metrics tcfs exports: storage traffic, transfers, hydration, sync,
 * errors, the daemon's gRPC API, worker tasks, and process facts.
 *
 * Label values only ever come from the fixed lists below or, for gRPC, from
 * method names of the service definition; the registry refuses anything else.
 * File paths, object keys, URLs, error messages and credentials are never
 * label values. `docs/METRICS.md` is generated from these declarations.
 *
 * @module
 */

import {
  ConfigError,
  IntegrityError,
  KeyError,
  NotFoundError,
  NotImplementedError,
  StorageError,
  UsageError,
} from "../errors.ts";
import {
  CountingStore,
  type OperationEvent,
  STORE_OPERATIONS,
  type StoreOperation,
} from "../storage/counting.ts";
import type { ObjectStore } from "../storage/store.ts";
import { VERSION } from "../version.ts";
import type { Counter, Gauge, Histogram } from "./metric_kinds.ts";
import { Registry } from "./registry.ts";

/** How an operation ended. */
export const OUTCOMES = ["ok", "error"] as const;
/** One of {@linkcode OUTCOMES}. */
export type Outcome = typeof OUTCOMES[number];

/**
 * How a queued task ended: "fenced" when it came from a deposed coordinator
 * and was dropped unrun (or stopped before its next write).
 */
export const TASK_OUTCOMES = ["ok", "error", "fenced"] as const;
/** One of {@linkcode TASK_OUTCOMES}. */
export type TaskOutcome = typeof TASK_OUTCOMES[number];

/** How a hydration ended: "cancelled" when the reader went away or it was aborted. */
export const HYDRATION_OUTCOMES = ["ok", "error", "cancelled"] as const;
/** One of {@linkcode HYDRATION_OUTCOMES}. */
export type HydrationOutcome = typeof HYDRATION_OUTCOMES[number];

/** Transfer direction: "up" to the object store, "down" from it. */
export const DIRECTIONS = ["up", "down"] as const;
/** One of {@linkcode DIRECTIONS}. */
export type Direction = typeof DIRECTIONS[number];

/** Error kinds, one per shared error class (see {@linkcode errorKind}). */
export const ERROR_KINDS = [
  "usage",
  "config",
  "not_found",
  "integrity",
  "key",
  "storage",
  "not_implemented",
  "internal",
] as const;
/** One of {@linkcode ERROR_KINDS}. */
export type ErrorKind = typeof ERROR_KINDS[number];

/**
 * Kinds of queued task a worker runs (the `SYNC_TASKS` subjects `tasks.<kind>`,
 * see lib/queue); add new kinds here.
 */
export const TASK_KINDS = ["ingest", "compact", "gc", "scrub", "prefetch"] as const;
/** One of {@linkcode TASK_KINDS}. */
export type TaskKind = typeof TASK_KINDS[number];

/** gRPC status code names, indexed by their numeric code. */
export const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;
/** One of {@linkcode GRPC_CODES}. */
export type GrpcCode = typeof GRPC_CODES[number];

/** What a gRPC `method` label may hold: a bare method name of the service, e.g. `Push`. */
export const GRPC_METHOD_PATTERN: RegExp = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** What the `version` label of `tcfs_build_info` may hold: a semantic version. */
export const VERSION_PATTERN: RegExp = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;

/** Buckets of `tcfs_storage_request_seconds`: one object-store request. */
export const STORAGE_SECONDS_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];
/** Buckets of `tcfs_hydration_seconds`: fetching a whole file or range on open. */
export const HYDRATION_SECONDS_BUCKETS: readonly number[] = [
  0.01,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
];
/** Buckets of `tcfs_grpc_request_seconds`: unary calls are sub-millisecond, streams run long. */
export const GRPC_SECONDS_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.05,
  0.25,
  1,
  5,
  30,
  300,
];
/** Buckets of `tcfs_task_seconds`: one queued task, from pickup to ack. */
export const TASK_SECONDS_BUCKETS: readonly number[] = [
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
  30,
  60,
  300,
  900,
];

/** Every tcfs metric, registered in one {@linkcode Registry}. */
export interface TcfsMetrics {
  /** The registry holding them, for {@linkcode Registry.expose}. */
  readonly registry: Registry;
  /** `tcfs_storage_requests_total{op,outcome}`: object-store requests; fed by {@linkcode instrumentStore}. */
  readonly storageRequests: Counter<{ op: StoreOperation; outcome: Outcome }>;
  /** `tcfs_storage_bytes_total{direction}`: object bodies moved by successful requests. */
  readonly storageBytes: Counter<{ direction: Direction }>;
  /** `tcfs_storage_request_seconds{op}`: object-store request latency, failures included. */
  readonly storageRequestSeconds: Histogram<{ op: StoreOperation }>;
  /** `tcfs_objects_total{direction}`: chunks and manifests uploaded or downloaded by the engine. */
  readonly objects: Counter<{ direction: Direction }>;
  /** `tcfs_dedup_hits_total`: chunks not uploaded because the repository already had them. */
  readonly dedupHits: Counter;
  /** `tcfs_hydrations_total{outcome}`: stub files hydrated on demand or by request. */
  readonly hydrations: Counter<{ outcome: HydrationOutcome }>;
  /** `tcfs_hydration_seconds`: time to hydrate one file. */
  readonly hydrationSeconds: Histogram;
  /** `tcfs_sync_rounds_total{outcome}`: sync rounds (scan, plan, apply) finished. */
  readonly syncRounds: Counter<{ outcome: Outcome }>;
  /** `tcfs_conflicts_total`: concurrent versions kept side by side as conflicts. */
  readonly conflicts: Counter;
  /** `tcfs_errors_total{kind}`: errors reported to users or logs, by {@linkcode errorKind}. */
  readonly errors: Counter<{ kind: ErrorKind }>;
  /** `tcfs_credential_reloads_total{outcome}`: reloads of storage credentials. */
  readonly credentialReloads: Counter<{ outcome: Outcome }>;
  /** `tcfs_grpc_request_seconds{method,code}`: daemon API calls; streams count when they end. */
  readonly grpcRequestSeconds: Histogram<{ method: string; code: GrpcCode }>;
  /** `tcfs_tasks_total{kind,outcome}`: queued tasks finished by workers. */
  readonly tasks: Counter<{ kind: TaskKind; outcome: TaskOutcome }>;
  /** `tcfs_task_seconds{kind}`: time to run one queued task. */
  readonly taskSeconds: Histogram<{ kind: TaskKind }>;
  /** `tcfs_task_redeliveries_total{kind}`: tasks received again after a failed or lost attempt. */
  readonly taskRedeliveries: Counter<{ kind: TaskKind }>;
  /** `tcfs_dead_letters_total{kind}`: tasks given up on after their last attempt. */
  readonly deadLetters: Counter<{ kind: TaskKind }>;
  /** `tcfs_scrub_damaged_total`: damaged chunks and manifests found by scrub tasks. */
  readonly scrubDamaged: Counter;
  /** `tcfs_chunk_cache_hits_total`: chunk reads answered from the local chunk cache. */
  readonly chunkCacheHits: Counter;
  /** `tcfs_chunk_cache_misses_total`: chunks the cache fetched from the repository. */
  readonly chunkCacheMisses: Counter;
  /** `tcfs_chunk_cache_evictions_total`: chunks evicted to keep the cache under its quota. */
  readonly chunkCacheEvictions: Counter;
  /** `tcfs_chunk_cache_bytes`: bytes of chunk files in the cache. */
  readonly chunkCacheBytes: Gauge;
  /** `process_start_time_seconds`: Unix time the process started. */
  readonly processStartTime: Gauge;
  /** `process_resident_memory_bytes`: resident set size, read at scrape time. */
  readonly residentMemory: Gauge;
  /** `tcfs_build_info{version}`: always 1; the label carries the release version. */
  readonly buildInfo: Gauge<{ version: string }>;
}

/** Register every tcfs metric in `registry` (a new one by default). */
export function createTcfsMetrics(registry: Registry = new Registry()): TcfsMetrics {
  const metrics: Omit<TcfsMetrics, "buildInfo" | "processStartTime" | "residentMemory"> = {
    registry,
    storageRequests: registry.counter<{ op: StoreOperation; outcome: Outcome }>({
      name: "tcfs_storage_requests_total",
      help: "Object-store requests by operation and outcome.",
      labels: { op: STORE_OPERATIONS, outcome: OUTCOMES },
    }),
    storageBytes: registry.counter<{ direction: Direction }>({
      name: "tcfs_storage_bytes_total",
      help: "Object body bytes sent (up) and received (down) by successful object-store requests.",
      labels: { direction: DIRECTIONS },
    }),
    storageRequestSeconds: registry.histogram<{ op: StoreOperation }>({
      name: "tcfs_storage_request_seconds",
      help: "Object-store request duration in seconds, failed requests included.",
      labels: { op: STORE_OPERATIONS },
      buckets: STORAGE_SECONDS_BUCKETS,
    }),
    objects: registry.counter<{ direction: Direction }>({
      name: "tcfs_objects_total",
      help: "Chunks and manifests uploaded (up) or downloaded (down).",
      labels: { direction: DIRECTIONS },
    }),
    dedupHits: registry.counter({
      name: "tcfs_dedup_hits_total",
      help: "Chunks not uploaded because the repository already held them.",
    }),
    hydrations: registry.counter<{ outcome: HydrationOutcome }>({
      name: "tcfs_hydrations_total",
      help: "File hydrations by outcome.",
      labels: { outcome: HYDRATION_OUTCOMES },
    }),
    hydrationSeconds: registry.histogram({
      name: "tcfs_hydration_seconds",
      help: "Time to hydrate one file in seconds.",
      buckets: HYDRATION_SECONDS_BUCKETS,
    }),
    syncRounds: registry.counter<{ outcome: Outcome }>({
      name: "tcfs_sync_rounds_total",
      help: "Sync rounds finished by outcome.",
      labels: { outcome: OUTCOMES },
    }),
    conflicts: registry.counter({
      name: "tcfs_conflicts_total",
      help: "Concurrent versions kept side by side as conflicts.",
    }),
    errors: registry.counter<{ kind: ErrorKind }>({
      name: "tcfs_errors_total",
      help: "Errors by kind.",
      labels: { kind: ERROR_KINDS },
    }),
    credentialReloads: registry.counter<{ outcome: Outcome }>({
      name: "tcfs_credential_reloads_total",
      help: "Storage credential reloads by outcome.",
      labels: { outcome: OUTCOMES },
    }),
    grpcRequestSeconds: registry.histogram<{ method: string; code: GrpcCode }>({
      name: "tcfs_grpc_request_seconds",
      help: "Daemon gRPC call duration in seconds by method and status code.",
      labels: { method: GRPC_METHOD_PATTERN, code: GRPC_CODES },
      buckets: GRPC_SECONDS_BUCKETS,
    }),
    tasks: registry.counter<{ kind: TaskKind; outcome: TaskOutcome }>({
      name: "tcfs_tasks_total",
      help: "Queued tasks finished by kind and outcome (fenced: from a deposed coordinator).",
      labels: { kind: TASK_KINDS, outcome: TASK_OUTCOMES },
    }),
    taskSeconds: registry.histogram<{ kind: TaskKind }>({
      name: "tcfs_task_seconds",
      help: "Time to run one queued task in seconds.",
      labels: { kind: TASK_KINDS },
      buckets: TASK_SECONDS_BUCKETS,
    }),
    taskRedeliveries: registry.counter<{ kind: TaskKind }>({
      name: "tcfs_task_redeliveries_total",
      help: "Queued tasks delivered again after a failed or lost attempt.",
      labels: { kind: TASK_KINDS },
    }),
    deadLetters: registry.counter<{ kind: TaskKind }>({
      name: "tcfs_dead_letters_total",
      help: "Queued tasks given up on after their last attempt.",
      labels: { kind: TASK_KINDS },
    }),
    scrubDamaged: registry.counter({
      name: "tcfs_scrub_damaged_total",
      help: "Damaged chunks and manifests found by scrub tasks (see the worker log for which).",
    }),
    chunkCacheHits: registry.counter({
      name: "tcfs_chunk_cache_hits_total",
      help: "Chunk reads answered from the local chunk cache (memory or disk).",
    }),
    chunkCacheMisses: registry.counter({
      name: "tcfs_chunk_cache_misses_total",
      help: "Chunks the chunk cache fetched from the repository.",
    }),
    chunkCacheEvictions: registry.counter({
      name: "tcfs_chunk_cache_evictions_total",
      help: "Chunks evicted to keep the chunk cache under its quota.",
    }),
    chunkCacheBytes: registry.gauge({
      name: "tcfs_chunk_cache_bytes",
      help: "Bytes of chunk files in the chunk cache.",
    }),
  };
  const buildInfo = registry.gauge<{ version: string }>({
    name: "tcfs_build_info",
    help: "Always 1; the version label is the tcfs release version.",
    labels: { version: VERSION_PATTERN },
  });
  buildInfo.set({ version: VERSION }, 1);
  const processStartTime = registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch in seconds.",
  });
  processStartTime.set(performance.timeOrigin / 1000);
  const residentMemory = registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().rss),
  });
  return { ...metrics, buildInfo, processStartTime, residentMemory };
}

/** Count one finished object-store operation (the {@linkcode CountingStore} hook). */
export function recordStoreOperation(metrics: TcfsMetrics, event: OperationEvent): void {
  metrics.storageRequests.inc({ op: event.op, outcome: event.ok ? "ok" : "error" });
  metrics.storageRequestSeconds.observe({ op: event.op }, event.durationMs / 1000);
  // A failed put reports the body it tried to send; only bytes that arrived count.
  if (event.ok && event.bytes > 0) {
    metrics.storageBytes.inc({ direction: event.op === "get" ? "down" : "up" }, event.bytes);
  }
}

/** Wrap `store` so that every request it serves feeds the storage metrics. */
export function instrumentStore(store: ObjectStore, metrics: TcfsMetrics): CountingStore {
  return new CountingStore(store, { onOperation: (e) => recordStoreOperation(metrics, e) });
}

/** The {@linkcode ErrorKind} of an error, from its class alone (never its message). */
export function errorKind(error: unknown): ErrorKind {
  if (error instanceof UsageError) return "usage";
  if (error instanceof ConfigError) return "config";
  if (error instanceof NotFoundError) return "not_found";
  if (error instanceof IntegrityError) return "integrity";
  if (error instanceof KeyError) return "key";
  if (error instanceof StorageError) return "storage";
  if (error instanceof NotImplementedError) return "not_implemented";
  return "internal";
}

/** Count `error` in `tcfs_errors_total` under its {@linkcode errorKind}; returns the kind. */
export function recordError(metrics: TcfsMetrics, error: unknown): ErrorKind {
  const kind = errorKind(error);
  metrics.errors.inc({ kind });
  return kind;
}

/** The name of a numeric gRPC status code; codes outside 0-16 are "UNKNOWN". */
export function grpcCodeName(code: number): GrpcCode {
  return GRPC_CODES[code] ?? "UNKNOWN";
}

/**
 * Observe one finished gRPC call. `method` is the bare method name (`Push`,
 * not `/tcfs.v1.Daemon/Push`); the path form is reduced to it.
 */
export function observeGrpc(
  metrics: TcfsMetrics,
  method: string,
  code: number | GrpcCode,
  seconds: number,
): void {
  const name = method.slice(method.lastIndexOf("/") + 1);
  const codeName = typeof code === "number" ? grpcCodeName(code) : code;
  metrics.grpcRequestSeconds.observe({ method: name, code: codeName }, seconds);
}
