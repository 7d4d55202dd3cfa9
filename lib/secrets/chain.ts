/**
 * The age credential chain: where the daemon finds the age identity that
 * opens its SOPS-encrypted credential files.
 *
 * Places, in order (the first that exists wins):
 *
 * 1. `$CREDENTIALS_DIRECTORY/age-identity`: a systemd credential
 *    (`LoadCredential=age-identity:...` or `LoadCredentialEncrypted=`).
 * 2. `$SOPS_AGE_KEY_FILE`: a key file named by the environment, as sops reads it.
 * 3. `$SOPS_AGE_KEY`: identities in the variable itself.
 * 4. `$XDG_CONFIG_HOME/sops/age/keys.txt`, by default
 *    `~/.config/sops/age/keys.txt`: sops's default key file.
 *
 * A place that exists but cannot be used (unreadable, readable by other
 * users, no valid identity) is an error naming it: falling through to the
 * next place would silently use a different key than the one configured.
 * `$SOPS_AGE_KEY_FILE` naming a missing file is such an error too. Messages
 * name files and variables, never keys.
 *
 * @module
 */

import { KeyError, NotFoundError } from "../errors.ts";
import { parseIdentityFile, readIdentityFile, recipientOf } from "../crypto/identity.ts";

/** A place of the chain. */
export type ChainStep =
  | "credentials-directory"
  | "sops-age-key-file"
  | "sops-age-key"
  | "default-keys-file";

/** The identities found and where. */
export interface LoadedIdentity {
  /** Which place supplied them. */
  step: ChainStep;
  /** A path, or the environment variable's name (`SOPS_AGE_KEY`); never the key. */
  source: string;
  /** The identities (`AGE-SECRET-KEY-1...`), secret. */
  identities: string[];
  /** Their public recipients (`age1...`), for display. */
  recipients: string[];
}

/** The chain's places, in order. */
export const CHAIN_STEPS: readonly ChainStep[] = [
  "credentials-directory",
  "sops-age-key-file",
  "sops-age-key",
  "default-keys-file",
];

/** Where each file-backed place looks, given an environment (`undefined`: not configured). */
export function chainPaths(
  env: Record<string, string>,
): Record<Exclude<ChainStep, "sops-age-key">, string | undefined> {
  return {
    "credentials-directory": env.CREDENTIALS_DIRECTORY
      ? `${env.CREDENTIALS_DIRECTORY.replace(/\/+$/, "")}/age-identity`
      : undefined,
    "sops-age-key-file": env.SOPS_AGE_KEY_FILE || undefined,
    "default-keys-file": defaultKeysFile(env),
  };
}

/**
 * sops's default key file: `$XDG_CONFIG_HOME/sops/age/keys.txt` when that
 * variable holds an absolute path, else `$HOME/.config/sops/age/keys.txt`.
 */
export function defaultKeysFile(env: Record<string, string>): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && xdg.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/sops/age/keys.txt`;
  return env.HOME ? `${env.HOME.replace(/\/+$/, "")}/.config/sops/age/keys.txt` : undefined;
}

/**
 * Find the age identity by the chain.
 *
 * @param env the environment to read (default: the process's)
 * @throws {KeyError} naming the place that exists but is unusable, or
 *   listing all four places when none exists
 */
export async function loadAgeIdentity(
  env: Record<string, string> = Deno.env.toObject(),
): Promise<LoadedIdentity> {
  const paths = chainPaths(env);
  const tried: string[] = [];

  const credPath = paths["credentials-directory"];
  if (credPath === undefined) tried.push("$CREDENTIALS_DIRECTORY/age-identity (variable not set)");
  else {
    const ids = await readIfExists(credPath, "$CREDENTIALS_DIRECTORY/age-identity");
    if (ids !== null) return await loaded("credentials-directory", credPath, ids);
    tried.push(`${credPath} (does not exist)`);
  }

  const keyFile = paths["sops-age-key-file"];
  if (keyFile === undefined) tried.push("$SOPS_AGE_KEY_FILE (not set)");
  else {
    const ids = await readIfExists(keyFile, "$SOPS_AGE_KEY_FILE");
    if (ids === null) {
      throw new KeyError(`$SOPS_AGE_KEY_FILE names ${keyFile}, which does not exist`);
    }
    return await loaded("sops-age-key-file", keyFile, ids);
  }

  if (env.SOPS_AGE_KEY) {
    const ids = parseIdentityFile(env.SOPS_AGE_KEY, "$SOPS_AGE_KEY");
    return await loaded("sops-age-key", "SOPS_AGE_KEY", ids);
  }
  tried.push("$SOPS_AGE_KEY (not set)");

  const fallback = paths["default-keys-file"];
  if (fallback === undefined) tried.push("~/.config/sops/age/keys.txt (HOME not set)");
  else {
    const ids = await readIfExists(fallback, "the default sops key file");
    if (ids !== null) return await loaded("default-keys-file", fallback, ids);
    tried.push(`${fallback} (does not exist)`);
  }
  throw new KeyError(`no age identity found; looked at ${tried.join(", ")}`);
}

async function readIfExists(path: string, label: string): Promise<string[] | null> {
  try {
    return await readIdentityFile(path);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    if (err instanceof Error) throw new KeyError(`${label}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function loaded(step: ChainStep, source: string, ids: string[]): Promise<LoadedIdentity> {
  const recipients = await Promise.all(ids.map((id) => recipientOf(id)));
  return { step, source, identities: ids, recipients };
}
