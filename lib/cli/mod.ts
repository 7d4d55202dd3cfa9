/**
 * The command-line framework: subcommand type, dispatch, help and output.
 *
 * @module
 */

export * from "./command.ts";
export * from "./output.ts";
export * from "./run.ts";
export * from "./help.ts";
export * from "./progress.ts";
export * from "./prompt.ts";
