/**
 * The layout and version history of the local state database (Deno KV), and
 * the migrations that carry an older database forward. docs/STATE.md
 * explains the same in prose.
 *
 * Schema version 1. Keys are Deno KV tuples; `id` is a root's number as a
 * bigint (2 key bytes where a float would take 9, and keys are stored twice:
 * in the table and in Deno KV's expiry index), `...rel` is a relative path
 * split at `/`, one key part per component.
 *
 * ```text
 * ["schema"]             number      schema version (absent: version 0, a new database)
 * ["rseq"]               number      the last root id handed out; ids are never reused
 * ["r", root]            number      the id of a root (any string the caller names roots by)
 * ["gc", id]             true        a deleted root whose keys are still being removed
 * ["e", id, ...rel]      Uint8Array  the SyncedEntry of a path (entry_codec.ts)
 * ["c", id, ...rel]      object      a conflict: { copies, detectedAt } (structured clone)
 * ["m", name]            any         small metadata (structured clone)
 * ```
 *
 * Splitting paths into components makes Deno KV's order the order of a
 * depth-first walk that visits names in UTF-8 byte order, with each
 * directory directly followed by everything under it ({@link compareRel}),
 * and makes a prefix listing of `a` match `a/b` but never `a b` or `a0`.
 *
 * Version history:
 * - 0: no `["schema"]` key: an empty database.
 * - 1: the layout above.
 *
 * To change the layout: add a {@link Migration} from the current version to
 * the next at the end of {@link MIGRATIONS} (which bumps
 * {@link SCHEMA_VERSION}), update the table above and docs/STATE.md, and add
 * a test that builds a database of the old shape by hand and opens it.
 *
 * @module
 */

import { IntegrityError, TcfsError } from "../errors.ts";

/** A problem with the local state database that is not corruption. */
export class StateError extends TcfsError {}

/** Key prefixes (see the module documentation). */
export const KEY = {
  schema: ["schema"],
  rootSeq: ["rseq"],
  root: "r",
  gc: "gc",
  entry: "e",
  conflict: "c",
  meta: "m",
} as const;

/** Deno KV's key size limit for writes. */
export const MAX_KEY_BYTES = 2048;

/**
 * The components of a relative path (`""`, the root itself, has none).
 * Throws StateError for paths that are not relative and normalised.
 */
export function relParts(rel: string): string[] {
  if (rel === "") return [];
  const parts = rel.split("/");
  for (const p of parts) {
    if (p === "" || p === "." || p === ".." || p.includes("\0")) {
      throw new StateError(
        `invalid relative path ${JSON.stringify(rel)} for the state database: expected ` +
          `'/'-separated names without empty, '.' or '..' components or NUL`,
      );
    }
  }
  return parts;
}

/** UTF-8 length of a string (lone surrogates count as the 3 bytes of U+FFFD). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return n;
}

/**
 * Upper bound of a key's encoded size, as Deno KV counts it against its
 * limits: a string part is a type byte, its UTF-8 and a terminator (paths
 * hold no NUL, which would be escaped); a bigint at most 9 bytes.
 */
export function keySize(key: Deno.KvKey): number {
  let n = 0;
  for (const p of key) n += typeof p === "string" ? 2 + utf8Length(p) : 9;
  return n;
}

/** The key of a path's entry (or conflict, with `prefix` "c"); StateError if it cannot be one. */
export function pathKey(prefix: string, id: bigint, rel: string): Deno.KvKey {
  const key = [prefix, id, ...relParts(rel)];
  const bytes = keySize(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new StateError(
      `path too long for the state database (key of ${bytes} bytes, at most ${MAX_KEY_BYTES}): ` +
        `${rel.slice(0, 60)}...`,
    );
  }
  return key;
}

/** The relative path of a key made by {@link pathKey}. */
export function relOfKey(key: Deno.KvKey): string {
  return key.slice(2).join("/");
}

/**
 * Whether `rel` can be stored: relative, normalised and short enough for a
 * Deno KV key (about 2,000 bytes of UTF-8, a little less for deep paths).
 * A sync engine skips (and reports) paths for which this is false.
 */
export function isStorableRel(rel: string): boolean {
  try {
    pathKey(KEY.entry, 0n, rel);
    return true;
  } catch {
    return false;
  }
}

/** Maps a UTF-16 code unit so that comparing mapped units compares code points. */
function weight(c: number): number {
  if (c === 0x2f) return -1; // '/' ends a component, which sorts before any longer name
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000; // surrogates: code points above U+FFFF
  if (c >= 0xe000) return c - 0x800;
  return c;
}

/**
 * The order in which {@link StateStore.listEntries} yields paths, which is
 * Deno KV's key order: component by component, each compared by its UTF-8
 * bytes (code point order, not JavaScript's `<`, which compares UTF-16 code
 * units), a name before any longer name it begins. So a directory comes
 * directly before everything under it: `a`, `a/b`, `a b`, `a0`. A directory
 * walk that sorts each directory's names with this function and visits
 * children right after their parent produces the same sequence, so the two
 * can be merge-joined. Returns a negative number, 0 or a positive number.
 */
export function compareRel(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return weight(x) - weight(y);
  }
  return a.length - b.length;
}

/** One step of the schema: from version `from` to `from + 1`. */
export interface Migration {
  /** The version it upgrades. */
  from: number;
  /** What changes, for error messages. */
  description: string;
  /**
   * Rewrite the database. It must be idempotent: a crash (or a second
   * process) may run it again before the version is bumped. Large rewrites
   * go in atomic batches of at most 1,000 mutations.
   */
  run(kv: Deno.Kv): Promise<void>;
}

/** Every migration, in order: `MIGRATIONS[n]` upgrades version n. */
export const MIGRATIONS: readonly Migration[] = [
  {
    from: 0,
    description: "start a new database",
    async run(kv) {
      // Version 0 means "no schema key": fine for an empty database, but data
      // without one was written by something else, and is left alone.
      for await (const { key } of kv.list({ prefix: [] }, { limit: 2 })) {
        if (key.length === 1 && key[0] === KEY.schema[0]) continue;
        throw new StateError(
          `not a tcfs state database (it has keys but no schema version, e.g. ${
            JSON.stringify(key, (_, v) => typeof v === "bigint" ? `${v}n` : v)
          })`,
        );
      }
    },
  },
];

/** The schema version this tcfs writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** The schema version recorded in `kv` (0 when none is). */
export async function readSchemaVersion(kv: Deno.Kv): Promise<number> {
  return (await schemaEntry(kv)).version;
}

async function schemaEntry(kv: Deno.Kv): Promise<{ version: number; stamp: string | null }> {
  const e = await kv.get<unknown>(KEY.schema);
  if (e.versionstamp === null) return { version: 0, stamp: null };
  if (!Number.isSafeInteger(e.value) || (e.value as number) < 1) {
    throw new IntegrityError(`state database: bad schema version ${JSON.stringify(e.value)}`);
  }
  return { version: e.value as number, stamp: e.versionstamp };
}

/**
 * Bring `kv` to the last version of `migrations` (default: this tcfs's
 * schema), one step at a time, and return that version. Refuses, with
 * StateError, a database written by a newer tcfs. Safe when several
 * processes open the same database at once. `where` names it in messages.
 */
export async function migrate(
  kv: Deno.Kv,
  where: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number> {
  migrations.forEach((m, i) => {
    if (m.from !== i) throw new TypeError(`migration ${i} says it upgrades version ${m.from}`);
  });
  const latest = migrations.length;
  for (;;) {
    const { version, stamp } = await schemaEntry(kv);
    if (version > latest) {
      throw new StateError(
        `${where}: state written by a newer tcfs (schema version ${version}; this tcfs reads up ` +
          `to ${latest}): upgrade tcfs`,
      );
    }
    if (version === latest) return version;
    const step = migrations[version];
    try {
      await step.run(kv);
    } catch (err) {
      // Another process may have finished this step while ours failed.
      if ((await schemaEntry(kv)).version > version) continue;
      throw new StateError(
        `${where}: upgrading the state database from schema ${version} (${step.description}): ` +
          (err as Error).message,
        { cause: err },
      );
    }
    // If another process bumped the version meanwhile, the check fails and the loop re-reads.
    await kv.atomic().check({ key: KEY.schema, versionstamp: stamp }).set(KEY.schema, version + 1)
      .commit();
  }
}
