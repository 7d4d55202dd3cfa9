/**
 * Wiring from configuration to an open repository: the store named by
 * `repository.url` with the S3 settings, this device's identity and id, and
 * where its local resumable state lives. Used by the CLI and the daemon.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { readIdentityFile } from "../crypto/mod.ts";
import { TcfsError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import { Repository, type Unlock } from "../repo/mod.ts";
import { type ObjectStore, openStore, type S3Options } from "../storage/mod.ts";

/** Open the object store that `repository.url` names, with the configured S3 settings. */
export async function openConfiguredStore(config: Config): Promise<ObjectStore> {
  return await openStore(config.repository.url, configuredS3Options(config));
}

/** The configured S3 settings, for the repository or another bucket on the same service. */
export function configuredS3Options(config: Config): S3Options {
  const s3 = config.s3;
  return {
    endpoint: s3.endpoint || undefined,
    region: s3.region,
    forcePathStyle: s3.path_style,
    accessKeyId: s3.access_key_id || undefined,
    secretAccessKey: s3.secret_access_key || undefined,
    sessionToken: s3.session_token || undefined,
    maxAttempts: config.transfer.retries,
  };
}

/** This device's age identities from `device.identity_file` (none if the file is absent). */
export async function loadIdentities(config: Config): Promise<string[]> {
  const exists = await Deno.lstat(config.device.identity_file).then(() => true, () => false);
  return exists ? await readIdentityFile(config.device.identity_file) : [];
}

/** Open the configured repository, unlocking it with this device's identity. */
export async function openConfiguredRepository(
  config: Config,
  unlock: Unlock = {},
  wrapStore: (store: ObjectStore) => ObjectStore = (s) => s,
): Promise<Repository> {
  const store = wrapStore(await openConfiguredStore(config));
  try {
    return await Repository.open(store, { identities: await loadIdentities(config), ...unlock });
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * This device's id: 16 random hex digits made once and kept in the state
 * directory. It names the device's commit log, so two machines must never
 * share one, which is why it is not derived from a copyable identity file.
 */
export async function deviceId(config: Config): Promise<string> {
  const path = `${config.state.dir}/device-id`;
  try {
    const id = (await Deno.readTextFile(path)).trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
    throw new TcfsError(`${path} is damaged (expected 16 hex digits); remove it to make a new id`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(config.state.dir, { recursive: true, mode: 0o700 });
  const id = toHex(crypto.getRandomValues(new Uint8Array(8)));
  try {
    await Deno.writeTextFile(path, id + "\n", { createNew: true, mode: 0o600 });
    return id;
  } catch (err) {
    // Another process made it first: use theirs.
    if (err instanceof Deno.errors.AlreadyExists) return (await Deno.readTextFile(path)).trim();
    throw err;
  }
}

/** The upload journal of a repository on this device. */
export function journalPathFor(config: Config, repo: Repository): string {
  return `${config.state.dir}/${repo.config.id}/upload-journal`;
}
