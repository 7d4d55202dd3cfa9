/**
 * The sync engine: two-way sync of local folders with the repository, with
 * the last synced state as the base of a three-way decision, conflicts that
 * keep both versions, tombstones with a trash, rename detection, ignore rules,
 * live-git protection and on-disk stubs.
 *
 * @module
 */

export * from "./engine.ts";
export * from "./plan.ts";
export * from "./roots.ts";
export * from "./scan.ts";
export * from "./conflict_name.ts";
export * from "./stubs.ts";
export * from "./status.ts";
export * from "./resolve.ts";
export * from "./trash.ts";
export * from "./watch.ts";
