/**
 * A leader lease in a NATS KV bucket. nats-server 2.9 has no per-message
 * TTL, so expiry is not the server's job: the value carries the holder, the
 * renewal time and duration, and the fencing token, and every write is a
 * compare-and-set on the key's revision (`create` when absent, `update` with
 * the revision read), so of two racing candidates exactly one wins.
 *
 * @module
 */

import { JetStreamApiError } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { IntegrityError, LeaseError } from "../errors.ts";
import type { LeaseRecord, LeaseSnapshot, LeaseStore } from "./lease.ts";

/** The KV bucket of coordination state (leases and fences). */
export const COORDINATION_BUCKET = "tcfs_coordination";

/** JetStream's "wrong last sequence": a conditional write lost its race. */
const WRONG_LAST_SEQUENCE = 10071;

/** Open (creating it when missing) the coordination bucket; idempotent. */
export async function openCoordinationBucket(
  nc: NatsConnection,
  bucket: string = COORDINATION_BUCKET,
): Promise<KV> {
  try {
    return await new Kvm(nc).create(bucket, { history: 1 });
  } catch (err) {
    throw new LeaseError(
      `cannot open the NATS KV bucket ${bucket} (is JetStream enabled, nats-server -js?): ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
}

/** Whether `err` is a lost compare-and-set on a KV key. */
export function isRevisionConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE;
}

/** The stored form of a lease (snake case, like the other wire formats). */
interface WireLease {
  holder: string;
  token: number;
  acquired_ms: number;
  renewed_ms: number;
  duration_ms: number;
}

/** A lease kept under `lease.<name>` in a NATS KV bucket. */
export class NatsKvLease implements LeaseStore {
  readonly #kv: KV;
  readonly #key: string;
  /** Lease name and where it lives. */
  readonly description: string;

  /** The lease `name` in the bucket `kv` (see {@link openCoordinationBucket}). */
  constructor(kv: KV, name: string) {
    this.#kv = kv;
    this.#key = `lease.${name}`;
    this.description = `NATS KV lease ${name}`;
  }

  /** The current record, or null when none was ever written. */
  async read(): Promise<LeaseSnapshot | null> {
    const entry = await this.#kv.get(this.#key).catch((err) => {
      throw new LeaseError(`${this.description}: read failed: ${err.message}`, { cause: err });
    });
    if (!entry || entry.operation !== "PUT") return null;
    return { record: decodeLease(entry.string(), this.#key), version: String(entry.revision) };
  }

  /** Write `record` if the key is still at `version` (absent when null). */
  async write(record: LeaseRecord, version: string | null): Promise<LeaseSnapshot | null> {
    const body = JSON.stringify(
      {
        holder: record.holder,
        token: record.token,
        acquired_ms: record.acquiredMs,
        renewed_ms: record.renewedMs,
        duration_ms: record.durationMs,
      } satisfies WireLease,
    );
    try {
      const revision = version === null
        ? await this.#kv.create(this.#key, body)
        : await this.#kv.update(this.#key, body, Number(version));
      return { record, version: String(revision) };
    } catch (err) {
      if (isRevisionConflict(err)) return null;
      throw new LeaseError(`${this.description}: write failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

function decodeLease(text: string, key: string): LeaseRecord {
  let w: Partial<WireLease>;
  try {
    w = JSON.parse(text);
  } catch (err) {
    throw new IntegrityError(`${key}: the lease value is not JSON`, { cause: err });
  }
  const numbers = [w.token, w.acquired_ms, w.renewed_ms, w.duration_ms];
  if (typeof w.holder !== "string" || !numbers.every((n) => Number.isSafeInteger(n))) {
    throw new IntegrityError(`${key}: the lease value is malformed: ${text.slice(0, 200)}`);
  }
  return {
    holder: w.holder,
    token: w.token!,
    acquiredMs: w.acquired_ms!,
    renewedMs: w.renewed_ms!,
    durationMs: w.duration_ms!,
  };
}
