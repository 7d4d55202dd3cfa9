/**
 * Opening the sealed messages one device publishes for others (hydration
 * events, prefetch hints): sealed with the repository's metadata key for
 * their subject, and carrying the format version, repository id and device
 * they belong to.
 *
 * @module
 */

import type { Repository } from "../repo/mod.ts";

/** The fields every sealed message carries. */
export interface SealedMessage {
  /** Format version. */
  v: 1;
  /** Repository id. */
  repo: string;
  /** The device it is from or for. */
  device: string;
}

/**
 * Open a message received on `subject`; null unless it opens with the
 * repository's metadata key, is format version 1 of this repository for
 * `device`, and `valid` holds for its own fields.
 */
export async function openSealed<T extends SealedMessage>(
  repo: Pick<Repository, "codec" | "config">,
  device: string,
  subject: string,
  data: Uint8Array,
  valid: (message: T) => boolean,
): Promise<T | null> {
  let m: T;
  try {
    m = await repo.codec.decodeMeta<T>(subject, data);
  } catch {
    return null;
  }
  const ok = typeof m === "object" && m !== null && m.v === 1 && m.repo === repo.config.id &&
    m.device === device && valid(m);
  return ok ? m : null;
}
