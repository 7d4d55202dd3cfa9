/**
 * The shape of a subcommand and the context it runs in. Subcommands live in
 * `cmd/<name>.ts` and only wire library layers together; everything a
 * subcommand needs from the process (config, logger, output mode) comes
 * through {@link Context} so that it can be driven from tests and the daemon.
 *
 * @module
 */

import type { LoadedConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Output } from "./output.ts";

/** One command-line option of a subcommand. */
export interface OptionSpec {
  /** `string` takes a value; `boolean` is a switch. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
  /** May be given more than once (values collected in a list). */
  multiple?: boolean;
  /** Shown in help as `--name <valueName>`. */
  valueName?: string;
  /** One line for `--help`. */
  help: string;
}

/** Values of parsed options, by long name. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A subcommand's parsed arguments. */
export interface ParsedArgs {
  /** Arguments that are not options, in order. */
  positionals: string[];
  /** Options by long name. */
  values: OptionValues;
}

/** Everything a subcommand may use from the process that runs it. */
export interface Context {
  /** `--json`: print machine-readable results on stdout. */
  readonly json: boolean;
  /** `--debug`: debug logging and stack traces. */
  readonly debug: boolean;
  /** Config file from `--config`, if given. */
  readonly configPath?: string;
  /** Load (once) and return the effective configuration. */
  config(): Promise<LoadedConfig>;
  /** Logger writing to stderr. */
  readonly log: Logger;
  /** Result output on stdout. */
  readonly out: Output;
}

/** A subcommand of `tcfs`. */
export interface Command {
  /** Name as typed on the command line. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage line(s) without the leading `tcfs `, e.g. `push <local-path>... [--to <dir>]`. */
  usage: string;
  /** Longer help text, shown by `tcfs <name> --help`. */
  description?: string;
  /** Options besides the global ones. */
  options?: Record<string, OptionSpec>;
  /** Fewest positional arguments accepted. Default 0. */
  minArgs?: number;
  /** Most positional arguments accepted. Default unlimited. */
  maxArgs?: number;
  /** Run; resolves to the exit code (default 0). Throw TcfsError for failures. */
  run(ctx: Context, args: ParsedArgs): Promise<number | void>;
}

/**
 * A subcommand known by its name alone until it runs (or help lists it), so
 * that starting `tcfs` loads only the modules of the command being run.
 */
export interface LazyCommand {
  /** Name as typed on the command line: the same as the loaded command's. */
  name: string;
  /** Import the command's module. */
  load(): Promise<Command>;
}

/** A subcommand, loaded or to be loaded on demand. */
export type CommandEntry = Command | LazyCommand;

/** A {@link LazyCommand} named `name`, loaded by `load`. */
export function lazyCommand(name: string, load: () => Promise<Command>): LazyCommand {
  return { name, load };
}
