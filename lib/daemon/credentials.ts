/**
 * The daemon's credentials: the age identity from the chain
 * ($CREDENTIALS_DIRECTORY/age-identity, $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY,
 * ~/.config/sops/age/keys.txt) opens the SOPS files in `credentials.dir`,
 * whose S3 keys are used when the config names none. The files are watched:
 * rotated keys rebuild the storage client without a restart, and requests in
 * flight finish on the old one.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  type CredentialsState,
  type CredentialsWatcher,
  loadAgeIdentity,
  loadCredentialFiles,
  s3CredentialsFrom,
  watchCredentials,
} from "../secrets/mod.ts";
import { type ObjectStore, S3Store } from "../storage/mod.ts";

/** What `CredentialStatus` reports (names only, never values). */
export interface CredentialReport {
  /** Chain step that supplied the identity, or `none`. */
  step: string;
  /** Its path or variable name. */
  source: string;
  /** Each credential file and the names it provides. */
  files: { path: string; names: string[] }[];
  /** Whether S3 credentials came from the files. */
  s3_credentials: boolean;
  /** Successful reloads since start. */
  reloads: number;
}

/** Loads, applies and watches the credential files. */
export class DaemonCredentials {
  /** Current report. */
  report: CredentialReport = {
    step: "none",
    source: "",
    files: [],
    s3_credentials: false,
    reloads: 0,
  };
  #watcher?: CredentialsWatcher;
  #lastKey = "";
  /** Whether the S3 keys in use came from the files (then rotations apply). */
  #fromFiles = false;

  /**
   * Load once at start and return the config with S3 keys from the files
   * filled in (when the config has none). A missing identity is not an error:
   * the config or the environment may hold the keys.
   */
  async load(config: Config, log: Logger): Promise<Config> {
    let identity;
    try {
      identity = await loadAgeIdentity();
    } catch (err) {
      log.info("no age identity for credential files", { reason: (err as Error).message });
      return config;
    }
    const files = await loadCredentialFiles(config.credentials.dir, identity.identities);
    this.#record({ identity, files, s3: s3CredentialsFrom(files) }, false);
    const s3 = s3CredentialsFrom(files);
    if (!s3 || config.s3.access_key_id !== "") return config;
    for (const secret of [s3.secretAccessKey, s3.sessionToken]) if (secret) log.addSecret(secret);
    this.#lastKey = `${s3.accessKeyId}:${s3.secretAccessKey}`;
    this.#fromFiles = true;
    return {
      ...config,
      s3: {
        ...config.s3,
        access_key_id: s3.accessKeyId,
        secret_access_key: s3.secretAccessKey,
        session_token: s3.sessionToken ?? "",
        endpoint: config.s3.endpoint || s3.endpoint || "",
        region: s3.region ?? config.s3.region,
      },
    };
  }

  /** Watch for changes; new S3 keys go to `store`'s S3 client. */
  watch(
    config: Config,
    store: ObjectStore,
    log: Logger,
    onReload: (ok: boolean, message: string) => void,
  ): void {
    this.#watcher = watchCredentials({
      dir: config.credentials.dir,
      onChange: (state) => {
        const s3 = state.s3;
        const key = s3 ? `${s3.accessKeyId}:${s3.secretAccessKey}` : "";
        this.#record(state, this.#fromFiles && key !== this.#lastKey);
        if (!s3 || key === this.#lastKey || !this.#fromFiles) return;
        const target = s3StoreOf(store);
        if (!target) return;
        for (const secret of [s3.secretAccessKey, s3.sessionToken]) {
          if (secret) log.addSecret(secret);
        }
        target.setCredentials({
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          sessionToken: s3.sessionToken,
        });
        this.#lastKey = key;
        onReload(true, `S3 credentials reloaded from ${s3.source}`);
      },
      onError: (err) => onReload(false, (err as Error).message),
    });
  }

  #record(state: CredentialsState, reloaded: boolean): void {
    this.report = {
      step: state.identity.step,
      source: state.identity.source,
      files: state.files.map((f) => ({ path: f.path, names: f.names })),
      s3_credentials: state.s3 !== null,
      reloads: this.report.reloads + (reloaded ? 1 : 0),
    };
  }

  /** Stop watching. */
  stop(): void {
    this.#watcher?.stop();
  }
}

/** The S3 store inside wrappers (counting, metrics), if the store is one. */
function s3StoreOf(store: ObjectStore): S3Store | null {
  let s: unknown = store;
  while (s && !(s instanceof S3Store)) s = (s as { inner?: unknown }).inner;
  return s instanceof S3Store ? s : null;
}
