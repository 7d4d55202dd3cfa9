/**
 * The local state of one device: per sync root, the last synced state of
 * every path, in Deno KV ({@link StateStore}); and the merged remote
 * namespace, cached in a file so a sync reads only newer commit records
 * ({@link NamespaceCache}). docs/STATE.md describes both.
 *
 * @module
 */

export {
  type ConflictCopy,
  type ConflictEntry,
  type EntryCounts,
  MAX_CONFLICT_COPIES,
  StateStore,
} from "./state_store.ts";
export {
  type EntryState,
  type Hydration,
  MAX_ENTRY_BYTES,
  type SyncedEntry,
} from "./entry_codec.ts";
export {
  compareRel,
  isStorableRel,
  type Migration,
  MIGRATIONS,
  SCHEMA_VERSION,
  StateError,
} from "./schema.ts";
export { NamespaceCache } from "./namespace_cache.ts";
