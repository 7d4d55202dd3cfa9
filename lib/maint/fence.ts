/**
 * Fencing for maintenance runs. A leader-elected coordinator (lib/coord/)
 * hands a run a fence: a function that throws (FencedOutError) once the
 * caller's fencing token has been superseded. Runs call it before every
 * batch of deletions and before writing a snapshot, so a deposed leader
 * stops before it can change the repository.
 *
 * @module
 */

/** Throws when the caller may no longer change the repository; resolves otherwise. */
export type Fence = () => void | Promise<void>;
