/**
 * Turning configuration into text: the redacted view printed by
 * `tcfs config show`, the YAML written by `tcfs init`, and the generated
 * reference in `docs/config.md`.
 *
 * @module
 */

import { stringify } from "yaml";
import { allFields, type Config, envNameOf, SCHEMA } from "./schema.ts";

/** What replaces a secret value in any output. */
export const REDACTED = "<redacted>";

/** A deep copy of the config with every secret that is set replaced by {@link REDACTED}. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config) as Record<string, Record<string, unknown>>;
  for (const { section, key, field } of allFields()) {
    if (field.secret && copy[section][key] !== "") copy[section][key] = REDACTED;
  }
  return copy as Config;
}

/** Every secret value that is set, so that loggers can scrub them from any text. */
export function secretValues(config: Config): string[] {
  const values: string[] = [];
  const c = config as Record<string, Record<string, unknown>>;
  for (const { section, key, field } of allFields()) {
    const v = c[section][key];
    if (field.secret && typeof v === "string" && v !== "") values.push(v);
  }
  return values;
}

/** YAML of the given sections and keys, in schema order. */
export function renderConfigYaml(values: Partial<Record<string, Record<string, unknown>>>): string {
  const ordered: Record<string, Record<string, unknown>> = {};
  for (const section of Object.keys(SCHEMA)) {
    const body = values[section];
    if (body && Object.keys(body).length > 0) ordered[section] = body;
  }
  return stringify(ordered, { lineWidth: 0 });
}

/** The Markdown reference of every config key; `docs/config.md` is exactly this text. */
export function renderConfigDocs(): string {
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from lib/config/schema.ts by `deno task docs:config`; do not edit. -->",
    "",
    "tcfs reads one YAML file: the path given by `--config`, else `$TCFS_CONFIG`, else",
    "`$XDG_CONFIG_HOME/tcfs/config.yaml` (`~/.config/tcfs/config.yaml`). A file named with",
    "`--config` or `TCFS_CONFIG` must exist; the default one may be absent, and then every key",
    "has its default. Unknown keys and values of the wrong type are errors that name the key.",
    "",
    "Every key can be overridden by an environment variable `TCFS_<SECTION>_<KEY>` (upper",
    "case), which wins over the file. Lists are comma-separated, booleans are",
    "`true/false/1/0/yes/no`. An unknown `TCFS_*` variable is an error, so typos are caught.",
    "`tcfs config show` prints the effective values with secrets redacted.",
    "",
  ];
  for (const [section, keys] of Object.entries(SCHEMA)) {
    lines.push(`## \`${section}\``, "", "| key | type | default | env | description |");
    lines.push("|---|---|---|---|---|");
    for (const [key, f] of Object.entries(keys)) {
      const type = f.type === "enum" ? (f.values ?? []).join(" \\| ") : f.type;
      const def = f.docDefault ??
        (typeof f.default === "function" ? "(computed)" : JSON.stringify(f.default));
      const secret = "secret" in f && f.secret ? " **Secret.**" : "";
      lines.push(
        `| \`${key}\` | ${type} | \`${def}\` | \`${
          envNameOf(section, key)
        }\` | ${f.doc}${secret} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}
