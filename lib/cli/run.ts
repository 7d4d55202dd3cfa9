/**
 * The top of the process: global flags, subcommand dispatch, help, and the
 * mapping of errors to exit codes (0 success, 1 failure, 2 usage error) and
 * to one-line messages (stack traces only with `--debug`).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type LoadedConfig } from "../config/mod.ts";
import { TcfsError, UsageError } from "../errors.ts";
import { type LogFormat, Logger, type LogSink } from "../log/mod.ts";
import type {
  Command,
  CommandEntry,
  Context,
  OptionSpec,
  OptionValues,
  ParsedArgs,
} from "./command.ts";
import { createOutput } from "./output.ts";
import { commandHelp, GLOBAL_OPTIONS, globalHelp } from "./help.ts";

/** Where the runner writes; injectable for tests. */
export interface RunIo {
  /** Result text (stdout). */
  stdout?: (text: string) => void;
  /** Diagnostics (stderr). */
  stderr?: LogSink;
  /** Whether stderr is a terminal (text logs, progress bars). */
  isTerminal?: boolean;
}

const encoder = new TextEncoder();

/**
 * Run the CLI with `argv` (without the program name) and return the exit
 * code. Lazy commands are loaded when they run, or all of them for the
 * command list.
 */
export async function runCli(
  argv: string[],
  commands: readonly CommandEntry[],
  io: RunIo = {},
): Promise<number> {
  const stdout = io.stdout ?? ((t: string) => Deno.stdout.writeSync(encoder.encode(t)));
  const stderr = io.stderr ?? ((l: string) => Deno.stderr.writeSync(encoder.encode(l + "\n")));
  let debug = argv.includes("--debug");
  try {
    const { globals, name, rest } = splitGlobal(argv);
    debug = globals.debug;
    if (name === undefined) {
      stdout(globalHelp(await Promise.all(commands.map(loaded))));
      return globals.help ? 0 : 2;
    }
    const entry = commands.find((c) => c.name === name);
    if (!entry) {
      throw new UsageError(`unknown command '${name}'${suggestCommand(name, commands)}`);
    }
    const command = await loaded(entry);
    const parsed = parseCommandArgs(command, rest);
    if (parsed.values.help || globals.help) {
      stdout(commandHelp(command));
      return 0;
    }
    const ctx = makeContext({
      json: globals.json || parsed.values.json === true,
      debug: debug || parsed.values.debug === true,
      configPath: globals.config ?? (parsed.values.config as string | undefined),
      stdout,
      stderr,
      isTerminal: io.isTerminal ?? Deno.stderr.isTerminal(),
    });
    debug = ctx.debug;
    return (await command.run(ctx, parsed)) ?? 0;
  } catch (err) {
    return reportError(err, debug, stderr);
  }
}

interface Globals {
  config?: string;
  json: boolean;
  debug: boolean;
  help: boolean;
}

/** Global flags may come before the subcommand name; the first other word is the name. */
function splitGlobal(argv: string[]): { globals: Globals; name?: string; rest: string[] } {
  const globals: Globals = { json: false, debug: false, help: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") globals.json = true;
    else if (arg === "--debug") globals.debug = true;
    else if (arg === "--help" || arg === "-h") globals.help = true;
    else if (arg === "--config") {
      if (i + 1 >= argv.length) throw new UsageError("--config needs a file path");
      globals.config = argv[++i];
    } else if (arg.startsWith("--config=")) globals.config = arg.slice("--config=".length);
    else if (arg.startsWith("-")) {
      throw new UsageError(`unknown global option '${arg}' (options of a command go after it)`);
    } else break;
  }
  return { globals, name: argv[i], rest: argv.slice(i + 1) };
}

function parseCommandArgs(command: Command, rest: string[]): ParsedArgs {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...command.options };
  for (const [long, spec] of Object.entries(all)) {
    options[long] = { type: spec.type, multiple: spec.multiple ?? false };
    if (spec.short) options[long].short = spec.short;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Only the user's mistakes are usage errors; a bad option table is a bug.
    if (!String((err as { code?: string }).code).startsWith("ERR_PARSE_ARGS")) throw err;
    throw new UsageError(`${command.name}: ${(err as Error).message.split("\n")[0]}`);
  }
  const positionals = parsed.positionals;
  if (!parsed.values.help) {
    if (positionals.length < (command.minArgs ?? 0)) {
      throw new UsageError(`${command.name}: missing arguments; usage: tcfs ${command.usage}`);
    }
    if (command.maxArgs !== undefined && positionals.length > command.maxArgs) {
      throw new UsageError(
        `${command.name}: too many arguments ('${
          positionals.slice(command.maxArgs).join(" ")
        }'); usage: tcfs ${command.usage}`,
      );
    }
  }
  return { positionals, values: parsed.values as OptionValues };
}

interface ContextOptions {
  json: boolean;
  debug: boolean;
  configPath?: string;
  stdout: (text: string) => void;
  stderr: LogSink;
  isTerminal: boolean;
}

function makeContext(o: ContextOptions): Context {
  // Logging starts with what flags say and is refined once the config is read.
  let log = new Logger({
    level: o.debug ? "debug" : "info",
    format: o.isTerminal ? "text" : "json",
    sink: o.stderr,
  });
  let loaded: Promise<LoadedConfig> | undefined;
  const ctx: Context = {
    json: o.json,
    debug: o.debug,
    configPath: o.configPath,
    get log() {
      return log;
    },
    out: createOutput(o.json, o.stdout),
    config() {
      loaded ??= loadConfig({ path: o.configPath }).then((lc) => {
        const format: LogFormat = lc.config.log.format === "auto"
          ? (o.isTerminal ? "text" : "json")
          : lc.config.log.format;
        log = new Logger({
          level: o.debug ? "debug" : lc.config.log.level,
          format,
          sink: o.stderr,
        });
        for (const s of [lc.config.s3.secret_access_key, lc.config.s3.session_token]) {
          if (s) log.addSecret(s);
        }
        return lc;
      });
      return loaded;
    },
  };
  return ctx;
}

function reportError(err: unknown, debug: boolean, stderr: LogSink): number {
  if (err instanceof UsageError) {
    stderr(`tcfs: ${err.message}`);
    stderr("Run 'tcfs --help' for the list of commands, 'tcfs <command> --help' for one.");
    return 2;
  }
  if (err instanceof TcfsError) {
    stderr(`tcfs: error: ${err.message}`);
    if (debug) stderr(String(err.stack));
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr(`tcfs: unexpected error: ${message.split("\n")[0]}`);
  stderr(debug ? String((err as Error)?.stack) : "Run again with --debug for details.");
  return 1;
}

/** The command of an entry, loading it if it is lazy. */
async function loaded(entry: CommandEntry): Promise<Command> {
  if (!("load" in entry)) return entry;
  const command = await entry.load();
  if (command.name !== entry.name) {
    throw new Error(`command '${entry.name}' loaded a command named '${command.name}'`);
  }
  return command;
}

function suggestCommand(name: string, commands: readonly CommandEntry[]): string {
  const close = commands.filter((c) => c.name.startsWith(name.slice(0, 2)));
  return close.length > 0 && close.length <= 3
    ? ` (did you mean ${close.map((c) => `'${c.name}'`).join(" or ")}?)`
    : "";
}
