/**
 * Object storage for tcfs: one small interface ({@linkcode ObjectStore}) with
 * a `file://` backend (the embedded default) and an `s3://` backend, shared
 * retries with backoff and jitter, a concurrency limiter, and a counting
 * wrapper for request budgets and metrics.
 *
 * ```ts
 * import { listAll, openStore } from "./lib/storage/mod.ts";
 * const store = await openStore("file:///srv/tcfs");
 * await store.put("hello/world", new TextEncoder().encode("hi"));
 * for await (const o of listAll(store, "hello/")) console.log(o.key, o.size);
 * await store.close();
 * ```
 *
 * The fault-injecting proxy for tests is in `fault_proxy.ts` and the shared
 * backend test suite in `contract.ts`; neither is re-exported here.
 *
 * @module
 */

export {
  type ByteRange,
  compareKeys,
  listAll,
  type ListOptions,
  type ListPage,
  MAX_PAGE_SIZE,
  type ObjectInfo,
  type ObjectStore,
  validateKey,
  validatePageSize,
  validatePrefix,
  validateRange,
} from "./store.ts";
export { FileStore, type FileStoreOptions } from "./file.ts";
export { type S3Credentials, type S3Location, type S3Options, S3Store } from "./s3.ts";
export { openStore, parseS3Url } from "./url.ts";
export {
  backoffDelay,
  errorCode,
  httpStatus,
  isRetryableError,
  RetriesExhaustedError,
  type RetryOptions,
  withRetry,
} from "./retry.ts";
export { Limiter, mapLimit } from "./limit.ts";
export {
  type CountingOptions,
  CountingStore,
  type OperationEvent,
  type OperationStats,
  STORE_OPERATIONS,
  type StoreOperation,
} from "./counting.ts";
