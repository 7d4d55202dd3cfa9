/**
 * Reading and writing many Deno KV keys within its per-call limits, as
 * measured on Deno 2.9.6: `getMany` takes at most 10 keys; an atomic
 * operation at most 1,000 mutations, 100 checks, 81,920 bytes of keys and
 * 819,200 bytes in all (a set counts its key twice, plus its value).
 *
 * @module
 */

import { keySize } from "./schema.ts";

/** Keys per `getMany` call. */
export const GET_MANY_KEYS = 10;
/** `getMany` calls kept in flight: 4 read ~1.7x faster than 1 here, 8 no faster. */
const GET_MANY_IN_FLIGHT = 4;
const BATCH_MUTATIONS = 1000;
const BATCH_KEY_BYTES = 80_000;
const BATCH_BYTES = 800_000;

/** A value to set, or null to delete the key. */
export type Mutation = [key: Deno.KvKey, value: Uint8Array | null];

/** Read any number of keys, in order. */
export async function getManyBatched(
  kv: Deno.Kv,
  keys: Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<unknown>[]> {
  const out: Deno.KvEntryMaybe<unknown>[] = [];
  const round = GET_MANY_KEYS * GET_MANY_IN_FLIGHT;
  for (let at = 0; at < keys.length; at += round) {
    const calls: Promise<Deno.KvEntryMaybe<unknown>[]>[] = [];
    for (let i = at; i < Math.min(keys.length, at + round); i += GET_MANY_KEYS) {
      calls.push(kv.getMany(keys.slice(i, i + GET_MANY_KEYS)));
    }
    for (const r of await Promise.all(calls)) out.push(...r);
  }
  return out;
}

/**
 * Commit `mutations` in order, in atomic operations as full as the limits
 * allow, each carrying `check`. False if the check failed (that batch and
 * the rest are not applied); the batches before it are.
 */
export async function writeBatched(
  kv: Deno.Kv,
  mutations: Iterable<Mutation>,
  check?: Deno.AtomicCheck,
): Promise<boolean> {
  const base = check ? 2 * keySize(check.key) : 0;
  let op: Deno.AtomicOperation | null = null;
  let count = 0;
  let keyBytes = base;
  let bytes = base;
  for (const [key, value] of mutations) {
    const k = keySize(key);
    const size = 2 * k + (value?.length ?? 0);
    const full = count === BATCH_MUTATIONS || keyBytes + k > BATCH_KEY_BYTES ||
      bytes + size > BATCH_BYTES;
    if (op && full) {
      if (!(await op.commit()).ok) return false;
      op = null;
    }
    if (!op) {
      op = kv.atomic();
      if (check) op.check(check);
      count = 0;
      keyBytes = base;
      bytes = base;
    }
    if (value === null) op.delete(key);
    else op.set(key, value);
    count++;
    keyBytes += k;
    bytes += size;
  }
  return op ? (await op.commit()).ok : true;
}
