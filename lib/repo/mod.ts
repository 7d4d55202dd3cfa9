/**
 * The repository layer: the on-bucket format (docs/FORMAT.md) — config,
 * wrapped keys, chunks and packs, manifests, per-device commit records and
 * their merge into a namespace. It reads and writes objects; walking local
 * files is the engine's job.
 *
 * @module
 */

export * from "./repository.ts";
export * from "./repo_config.ts";
export * from "./namespace.ts";
export * from "./record.ts";
export * from "./snapshot.ts";
export * from "./listing.ts";
export * from "./manifest.ts";
export * from "./chunk_writer.ts";
export * from "./codec.ts";
export { IN_THREAD_BELOW } from "./encode_pool.ts";
export * from "./paths.ts";
export * from "./version_vector.ts";
export { deviceKeyName } from "./keyring.ts";
