/**
 * Object keys of a repository, relative to the store root. This is the one
 * place that knows the bucket layout (docs/FORMAT.md, "Layout").
 *
 * @module
 */

/** The repository config object (plain JSON, no secrets). */
export const CONFIG_KEY = "config";

/** Prefix of wrapped master keys. */
export const KEYS_PREFIX = "keys/";

/** Prefix of standalone chunk objects. */
export const DATA_PREFIX = "data/";

/** Prefix of pack objects holding many small chunks. */
export const PACKS_PREFIX = "packs/";

/** Prefix of large manifests stored apart from their commit record. */
export const MANIFESTS_PREFIX = "manifests/";

/** Prefix of the per-device commit logs. */
export const LOG_PREFIX = "log/";

/** Prefix of namespace snapshots (one folder per snapshot: `head` and `part-<n>` objects). */
export const SNAPSHOTS_PREFIX = "snapshots/";

/** Prefix of per-directory listings, content-addressed (docs/FORMAT.md, "Listings"). */
export const LISTINGS_PREFIX = "listings/";

/** Width of the zero-padded sequence number in commit record keys. */
export const SEQ_DIGITS = 12;

/** Key of a wrapped master key, e.g. `keys/device-0123abcd...` or `keys/recovery`. */
export function keyObjectKey(name: string): string {
  return `${KEYS_PREFIX}${name}`;
}

/** Key of a standalone chunk: `data/<first two hex digits>/<id>`. */
export function chunkKey(id: string): string {
  return `${DATA_PREFIX}${id.slice(0, 2)}/${id}`;
}

/** Key of a pack: `packs/<first two hex digits>/<pack id>`. */
export function packKey(id: string): string {
  return `${PACKS_PREFIX}${id.slice(0, 2)}/${id}`;
}

/** Key of a stored manifest: `manifests/<first two hex digits>/<id>`. */
export function manifestKey(id: string): string {
  return `${MANIFESTS_PREFIX}${id.slice(0, 2)}/${id}`;
}

/** Key of a directory listing: `listings/<first two hex digits>/<listing id>`. */
export function listingKey(id: string): string {
  return `${LISTINGS_PREFIX}${id.slice(0, 2)}/${id}`;
}

/** Prefix of one device's commit log. */
export function deviceLogPrefix(device: string): string {
  return `${LOG_PREFIX}${device}/`;
}

/** Key of a commit record: `log/<device>/<seq, 12 digits>`. */
export function recordKey(device: string, seq: number): string {
  return `${deviceLogPrefix(device)}${String(seq).padStart(SEQ_DIGITS, "0")}`;
}

/** Parse a commit record key back into device and sequence; `null` if it is not one. */
export function parseRecordKey(key: string): { device: string; seq: number } | null {
  const m = /^log\/([0-9a-f]{16})\/(\d{12})$/.exec(key);
  return m ? { device: m[1], seq: Number(m[2]) } : null;
}

/**
 * The authenticated context of a metadata object: its key. Binding it into
 * the AEAD tag means an object moved or copied to another key no longer opens.
 */
export function objectContext(key: string): Uint8Array {
  return new TextEncoder().encode(`tcfs:${key}`);
}

/**
 * The authenticated context of a chunk: its id, wherever it is stored (in an
 * object of its own or inside a pack), so a blob swapped for another fails.
 */
export function chunkContext(id: string): Uint8Array {
  return new TextEncoder().encode(`tcfs:chunk:${id}`);
}
