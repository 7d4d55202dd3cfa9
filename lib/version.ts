/**
 * The tcfs release version and the format versions it reads and writes.
 *
 * @module
 */

/** Release version of this build. */
export const VERSION = "0.1.0";
