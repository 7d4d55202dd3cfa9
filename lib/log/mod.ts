/**
 * Logging: leveled, text or JSON lines, with secrets scrubbed.
 *
 * @module
 */

export * from "./logger.ts";
