/**
 * `tcfs sops decrypt <file>`: decrypt a SOPS file with the age identity of
 * the credential chain, the way `sops -d` does, without the sops binary.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { NotFoundError, UsageError } from "../lib/errors.ts";
import { decryptSops, loadAgeIdentity } from "../lib/secrets/mod.ts";

/** `tcfs sops decrypt <file>` */
export const sopsCommand: Command = {
  name: "sops",
  summary: "decrypt a SOPS file (YAML or JSON) with the age identity of the credential chain",
  usage: "sops decrypt <file> [--json]",
  description:
    "decrypt  prints the decrypted file like 'sops -d' (YAML files as YAML with their\n" +
    "         comments, JSON files as JSON) after checking its MAC. With --json the\n" +
    "         decrypted values are printed as one JSON document (integers beyond 2^53\n" +
    "         as strings, bytes as base64).\n" +
    "The identity comes from the credential chain: $CREDENTIALS_DIRECTORY/age-identity,\n" +
    "$SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY, then ~/.config/sops/age/keys.txt.",
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, { positionals: [action, file] }) {
    if (action !== "decrypt") {
      throw new UsageError(`sops: unknown action '${action}' (expected decrypt)`);
    }
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`${file} does not exist`, { cause: err });
      }
      throw err;
    }
    const identity = await loadAgeIdentity();
    const doc = await decryptSops(text, identity.identities, { source: file });
    for (const w of doc.warnings) ctx.log.warn(w);
    ctx.out.result(jsonSafe(doc.data), () => doc.plainText);
  },
};

/** Plain data JSON.stringify can print: bigints as strings, bytes as base64. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return btoa(Array.from(v, (b) => String.fromCharCode(b)).join(""));
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  }
  return v;
}
