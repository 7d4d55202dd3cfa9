/**
 * Prometheus metrics for the tcfs daemon and workers: a small registry that
 * writes the text exposition format, the tcfs metric set, and the HTTP server
 * for `/metrics`, `/healthz` and `/readyz`. `docs/METRICS.md` lists every
 * metric.
 *
 * ```ts
 * import { createTcfsMetrics, instrumentStore, serveMetrics } from "./lib/metrics/mod.ts";
 * import { openStore } from "./lib/storage/mod.ts";
 * const metrics = createTcfsMetrics();
 * const store = instrumentStore(await openStore("file:///srv/tcfs"), metrics);
 * const server = serveMetrics({
 *   registry: metrics.registry,
 *   port: 9464,
 *   ready: async () => void (await store.head("config")),
 * });
 * ```
 *
 * @module
 */

export {
  CONTENT_TYPE,
  escapeHelp,
  escapeLabelValue,
  formatNumber,
  type MetricType,
  validateLabelName,
  validateMetricName,
} from "./exposition.ts";
export {
  type LabelArgs,
  type LabelDomain,
  type LabelSpec,
  type LabelValues,
  type MetricInfo,
  type MetricOptions,
  type NoLabels,
} from "./metric.ts";
export {
  Counter,
  Gauge,
  type GaugeOptions,
  Histogram,
  type HistogramOptions,
  type HistogramSnapshot,
} from "./metric_kinds.ts";
export { type AnyMetric, Registry } from "./registry.ts";
export {
  createTcfsMetrics,
  type Direction,
  DIRECTIONS,
  ERROR_KINDS,
  type ErrorKind,
  errorKind,
  GRPC_CODES,
  GRPC_METHOD_PATTERN,
  GRPC_SECONDS_BUCKETS,
  type GrpcCode,
  grpcCodeName,
  HYDRATION_OUTCOMES,
  HYDRATION_SECONDS_BUCKETS,
  type HydrationOutcome,
  instrumentStore,
  observeGrpc,
  type Outcome,
  OUTCOMES,
  recordError,
  recordStoreOperation,
  STORAGE_SECONDS_BUCKETS,
  TASK_KINDS,
  TASK_SECONDS_BUCKETS,
  type TaskKind,
  type TcfsMetrics,
  VERSION_PATTERN,
} from "./tcfs_metrics.ts";
export {
  type HandlerOptions,
  isLoopbackHostname,
  metricsHandler,
  type MetricsServer,
  type MetricsServerOptions,
  type ReadinessCheck,
  serveMetrics,
} from "./http.ts";
export { renderMetricsDocs } from "./docs.ts";
