/**
 * The transfer engine: walks local files and moves them in and out of a
 * repository (push, pull), with progress and resumable uploads.
 *
 * @module
 */

export * from "./push.ts";
export * from "./pull.ts";
export * from "./progress.ts";
export * from "./journal.ts";
export * from "./walk.ts";
export * from "./download.ts";
export * from "./chunk_source.ts";
export * from "./upload.ts";
