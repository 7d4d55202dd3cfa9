/**
 * Updating the config file: set some keys, keep everything else the user
 * wrote (comments included), write atomically with mode 0600.
 *
 * @module
 */

import { parseDocument } from "yaml";
import { ConfigError } from "../errors.ts";

/** Set `section.key` values in the YAML file at `path`, creating it if needed. */
export async function updateConfigFile(
  path: string,
  values: Record<string, string | number | boolean | string[]>,
): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ConfigError(`${path}: not valid YAML: ${doc.errors[0].message}`);
  }
  for (const [name, value] of Object.entries(values)) {
    doc.setIn(name.split("."), value);
  }
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, doc.toString(), { mode: 0o600 });
  await Deno.rename(tmp, path);
}
