/**
 * Loading the effective configuration: schema defaults, then the YAML file,
 * then `TCFS_*` environment overrides. Every problem is a {@link ConfigError}
 * that names the file and the key.
 *
 * @module
 */

import { parse as parseYaml, YAMLParseError } from "yaml";
import { ConfigError } from "../errors.ts";
import { allFields, type Config, defaultOf, envNameOf, type Field, SCHEMA } from "./schema.ts";
import { defaultConfigPath, expandHome } from "./paths.ts";

/** Environment variables starting with `TCFS_` that are not config overrides. */
const NON_OVERRIDE_ENV = new Set(["TCFS_CONFIG"]);

/** Where a config value came from. */
export type ValueSource = "default" | "file" | "env";

/** The result of {@link loadConfig}. */
export interface LoadedConfig {
  /** Effective values. */
  config: Config;
  /** Path of the config file that was read or would be read. */
  path: string;
  /** Whether that file existed. */
  fileFound: boolean;
  /** Source of every value, keyed `section.key`. */
  sources: Record<string, ValueSource>;
}

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** Config file path from `--config`; else `TCFS_CONFIG`; else the XDG default. */
  path?: string;
  /** Environment to read overrides from (defaults to the process environment). */
  env?: Record<string, string>;
  /** Treat a missing file as empty even when named explicitly (`tcfs init` creates it). */
  allowMissing?: boolean;
}

/**
 * Resolve which config file is meant and whether the user named it explicitly.
 * An explicitly named file must exist; the default one may be absent.
 */
export function resolveConfigPath(
  path?: string,
  env: Record<string, string> = Deno.env.toObject(),
): { path: string; explicit: boolean } {
  const named = path ?? env.TCFS_CONFIG;
  if (named !== undefined && named !== "") return { path: expandHome(named), explicit: true };
  return { path: defaultConfigPath(), explicit: false };
}

/** Load, validate and return the effective configuration. */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? Deno.env.toObject();
  const { path, explicit } = resolveConfigPath(opts.path, env);
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound) || (explicit && !opts.allowMissing)) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new ConfigError(`cannot read config file ${path}: ${why}`, { cause: err });
    }
  }
  const fromFile = text === undefined ? {} : parseConfigText(text, path);
  return { ...resolveValues(fromFile, env, path), path, fileFound: text !== undefined };
}

/** Parse and validate config YAML; returns the keys the file sets, as `section.key`. */
export function parseConfigText(text: string, path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos
      ? ` (line ${err.linePos[0].line})`
      : "";
    throw new ConfigError(`${path}${where}: not valid YAML: ${firstLine(err)}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new ConfigError(`${path}: the top level must be a mapping`);
  const out: Record<string, unknown> = {};
  for (const [section, body] of Object.entries(doc)) {
    const keys = (SCHEMA as Record<string, Record<string, Field<unknown>>>)[section];
    if (!keys) throw new ConfigError(`${path}: unknown key '${section}'${suggest(section)}`);
    if (body === null) continue;
    if (!isPlainObject(body)) {
      throw new ConfigError(`${path}: '${section}' must be a mapping of keys`);
    }
    for (const [key, value] of Object.entries(body)) {
      const f = keys[key];
      if (!f) {
        throw new ConfigError(
          `${path}: unknown key '${section}.${key}'${suggest(key, Object.keys(keys), section)}`,
        );
      }
      out[`${section}.${key}`] = checkValue(f, value, `${path}: '${section}.${key}'`);
    }
  }
  return out;
}

function resolveValues(
  fromFile: Record<string, unknown>,
  env: Record<string, string>,
  path: string,
): { config: Config; sources: Record<string, ValueSource> } {
  const config: Record<string, Record<string, unknown>> = {};
  const sources: Record<string, ValueSource> = {};
  const known = new Set<string>(NON_OVERRIDE_ENV);
  for (const { section, key, field } of allFields()) {
    const name = `${section}.${key}`;
    const envName = envNameOf(section, key);
    known.add(envName);
    let value: unknown;
    if (env[envName] !== undefined) {
      value = parseEnvValue(field, env[envName], envName);
      sources[name] = "env";
    } else if (name in fromFile) {
      value = fromFile[name];
      sources[name] = "file";
    } else {
      value = defaultOf(field);
      sources[name] = "default";
    }
    if (field.type === "string" && typeof value === "string") value = expandPathish(key, value);
    (config[section] ??= {})[key] = value;
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith("TCFS_") && !known.has(name)) {
      throw new ConfigError(
        `unknown environment variable ${name} (config overrides are TCFS_<SECTION>_<KEY>, ` +
          `see docs/config.md; config file ${path})`,
      );
    }
  }
  return { config: config as Config, sources };
}

/** Keys whose values are local paths get `~/` expanded. */
function expandPathish(key: string, value: string): string {
  return key.endsWith("_file") || key === "dir" || key === "socket" ? expandHome(value) : value;
}

function checkValue(f: Field<unknown>, value: unknown, where: string): unknown {
  switch (f.type) {
    case "string":
      if (typeof value !== "string") throw typeError(where, "a string", value);
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw typeError(where, "true or false", value);
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) {
        throw typeError(where, "an integer", value);
      }
      if (f.min !== undefined && value < f.min) {
        throw new ConfigError(`${where}: must be at least ${f.min}, got ${value}`);
      }
      if (f.max !== undefined && value > f.max) {
        throw new ConfigError(`${where}: must be at most ${f.max}, got ${value}`);
      }
      return value;
    case "enum":
      if (typeof value !== "string" || !f.values!.includes(value)) {
        throw typeError(where, `one of ${f.values!.join(", ")}`, value);
      }
      return value;
    case "list":
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw typeError(where, "a list of strings", value);
      }
      return [...value];
  }
}

function parseEnvValue(f: Field<unknown>, raw: string, name: string): unknown {
  switch (f.type) {
    case "integer": {
      const n = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      return checkValue(f, Number.isNaN(n) ? raw : n, name);
    }
    case "boolean": {
      const v = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      throw typeError(name, "true or false", raw);
    }
    case "list":
      return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    default:
      return checkValue(f, raw, name);
  }
}

function typeError(where: string, expected: string, got: unknown): ConfigError {
  const shown = typeof got === "string" ? `'${got}'` : JSON.stringify(got);
  return new ConfigError(`${where}: expected ${expected}, got ${shown}`);
}

function suggest(name: string, candidates?: string[], section?: string): string {
  const pool = candidates ?? Object.keys(SCHEMA);
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of pool) {
    const d = editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (!best) return "";
  return ` (did you mean '${section ? `${section}.` : ""}${best}'?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = saved;
    }
  }
  return row[b.length];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split("\n")[0];
}
