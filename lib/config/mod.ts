/**
 * Configuration: the schema of every key, loading with environment
 * overrides, redaction of secrets and the generated reference docs.
 *
 * @module
 */

export * from "./schema.ts";
export * from "./load.ts";
export * from "./render.ts";
export * from "./paths.ts";
export * from "./write.ts";
