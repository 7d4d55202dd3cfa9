/**
 * Real services for integration tests and benchmarks: Ceph RGW (S3) and
 * nats-server, each on free loopback ports in its own temp dir and stopped by
 * its own PIDs, plus the FUSE precondition check.
 *
 * ```ts
 * import { startCephRgw } from "./tests/services/mod.ts";
 * await using s3 = await startCephRgw();
 * await s3.createBucket("data");
 * ```
 *
 * @module
 */

export {
  type CephRgwOptions,
  DEFAULT_MEMSTORE_BYTES,
  type S3Service,
  startCephRgw,
} from "./ceph_rgw.ts";
export { type NatsOptions, type NatsService, startNats } from "./nats.ts";
export { assertFuseAvailable, type FuseCheckOptions } from "./fuse.ts";
export { freePort, freePorts, LOOPBACK } from "./ports.ts";
export {
  Daemon,
  type DaemonSpec,
  findExecutable,
  isProcessAlive,
  processState,
  ServiceError,
  tailFile,
} from "./process.ts";
export { type RunOptions, Sandbox, type WaitOptions } from "./sandbox.ts";
export { apiGet, startPrometheus, type Target } from "./prometheus.ts";
