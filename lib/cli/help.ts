/**
 * Help text for `tcfs --help` and `tcfs <command> --help`.
 *
 * @module
 */

import type { Command, OptionSpec } from "./command.ts";

/** Options every subcommand accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: {
    type: "string",
    valueName: "file",
    help: "config file (default $TCFS_CONFIG, else ~/.config/tcfs/config.yaml)",
  },
  json: { type: "boolean", help: "print machine-readable JSON on stdout" },
  debug: { type: "boolean", help: "debug logging and stack traces on errors" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

/** The overview: what tcfs is, the commands and the global options. */
export function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [
    "tcfs - self-hosted, S3-first file sync with files that hydrate on open",
    "",
    "Usage: tcfs [global options] <command> [options] [arguments]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Global options:",
    ...formatOptions(GLOBAL_OPTIONS),
    "",
    "Run 'tcfs <command> --help' for a command's options. Docs: docs/ in the source tree.",
    "",
  ];
  return lines.join("\n");
}

/** Help of one subcommand. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: tcfs ${command.usage}`, "", command.summary];
  if (command.description) lines.push("", command.description.trimEnd());
  if (command.options && Object.keys(command.options).length > 0) {
    lines.push("", "Options:", ...formatOptions(command.options));
  }
  lines.push("", "Global options:", ...formatOptions(GLOBAL_OPTIONS), "");
  return lines.join("\n");
}

function formatOptions(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([long, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "    ";
    const value = spec.type === "string" ? ` <${spec.valueName ?? "value"}>` : "";
    return [`  ${short}--${long}${value}`, spec.help + (spec.multiple ? " (repeatable)" : "")];
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right);
}
