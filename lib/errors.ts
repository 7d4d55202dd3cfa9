/**
 * Typed errors shared by every layer.
 *
 * Each error carries a one-line message that says what went wrong and, where
 * it helps, what to do about it. The CLI prints `message` alone (no stack)
 * unless `--debug` is given, so messages must stand on their own.
 *
 * @module
 */

/** Base class of every error tcfs raises on purpose. */
export class TcfsError extends Error {
  /** Process exit code the CLI uses when this error reaches it. */
  readonly exitCode: number;

  /** Make an error with a self-contained, actionable one-line message. */
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** The command line was wrong (unknown subcommand, bad flag): exit code 2. */
export class UsageError extends TcfsError {
  /** Make a usage error; the CLI adds a pointer to `--help`. */
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** Configuration is missing, unreadable or invalid. */
export class ConfigError extends TcfsError {}

/** An object or file that was expected to exist does not. */
export class NotFoundError extends TcfsError {}

/** Stored data failed verification (bad MAC, hash mismatch, malformed format). */
export class IntegrityError extends TcfsError {}

/** A key, identity or passphrase is missing or does not open the data. */
export class KeyError extends TcfsError {}

/** The storage backend failed in a way retries did not fix. */
export class StorageError extends TcfsError {}

/** A feature that a later release fills in. */
export class NotImplementedError extends TcfsError {
  /** Name the missing feature. */
  constructor(what: string) {
    super(`${what} is not implemented yet`);
  }
}

/**
 * A write carried a fencing token lower than one already seen: its writer was
 * a leader once but has been deposed, so the write is refused.
 */
export class FencedOutError extends TcfsError {}

/** Leader election could not read or write its lease (an API or broker failure). */
export class LeaseError extends TcfsError {}

/**
 * A maintenance run (garbage collection, compaction) stopped before deleting
 * anything because it could not learn enough to be safe, e.g. an unreadable
 * manifest or commit record.
 */
export class MaintenanceAbortedError extends TcfsError {}
