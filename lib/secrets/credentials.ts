/**
 * The daemon's credential files: SOPS-encrypted YAML or JSON files in one
 * directory (`credentials.dir`), opened with the identity of the chain
 * (`chain.ts`), the S3 credentials found in them, and a watcher that
 * reloads everything when a file changes.
 *
 * ## S3 credential names
 *
 * {@linkcode s3CredentialsFrom} looks for these keys, first inside a
 * top-level mapping named `s3` or `aws` (any case), then at the top level of
 * each file; names are compared ignoring case, `_`, `-` and `.`, and an
 * `aws` or `s3` prefix, so `access_key_id`, `AWS_ACCESS_KEY_ID`,
 * `accessKeyId` and `s3.access-key-id` are all the same name:
 *
 * | credential | accepted names |
 * |---|---|
 * | access key id (required) | `access_key_id`, `access_key` |
 * | secret access key (required) | `secret_access_key`, `secret_key` |
 * | session token | `session_token` |
 * | endpoint | `endpoint`, `endpoint_url` |
 * | region | `region`, `default_region` |
 *
 * The first file (in name order) and section holding both required values
 * as non-empty strings wins; values are never mixed across sections.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { chainPaths, loadAgeIdentity, type LoadedIdentity } from "./chain.ts";
import { decryptSops } from "./sops.ts";

/** One decrypted credential file. */
export interface CredentialFile {
  /** Its path. */
  path: string;
  /** The dotted names of the values it holds (`s3.access_key_id`); never values. */
  names: string[];
  /** The decrypted values (secret). */
  values: Record<string, unknown>;
}

/** S3 credentials and the file they came from. */
export interface S3Credentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key (secret). */
  secretAccessKey: string;
  /** A session token for temporary credentials (secret). */
  sessionToken?: string;
  /** The S3 endpoint URL, if the file names one. */
  endpoint?: string;
  /** The region, if the file names one. */
  region?: string;
  /** The file (and `#section`) they came from. */
  source: string;
}

const CREDENTIAL_FILE = /^[^.].*\.(ya?ml|json)$/i;

/**
 * The credential files of a directory: `*.yaml`, `*.yml` and `*.json`, not
 * hidden (a `.sops.yaml` is sops's configuration, not a secret), sorted by
 * name. A missing directory has none.
 */
export async function listCredentialFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if ((e.isFile || e.isSymlink) && CREDENTIAL_FILE.test(e.name)) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const base = dir.replace(/\/+$/, "");
  return names.sort().map((n) => `${base}/${n}`);
}

/**
 * Decrypt one credential file.
 *
 * @throws {KeyError} if no identity opens it
 * @throws {IntegrityError} if it is not an intact SOPS file or not a mapping
 */
export async function loadCredentialFile(
  path: string,
  identities: string[],
): Promise<CredentialFile> {
  const doc = await decryptSops(await Deno.readTextFile(path), identities, { source: path });
  const values = doc.data;
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new IntegrityError(`${path}: a credential file must hold a mapping`);
  }
  return {
    path,
    names: leafNames(values as Record<string, unknown>, ""),
    values: values as Record<string, unknown>,
  };
}

/** Decrypt every credential file of `dir` (see {@linkcode listCredentialFiles}), in name order. */
export async function loadCredentialFiles(
  dir: string,
  identities: string[],
): Promise<CredentialFile[]> {
  const files: CredentialFile[] = [];
  for (const path of await listCredentialFiles(dir)) {
    files.push(await loadCredentialFile(path, identities));
  }
  return files;
}

/** Find S3 credentials in decrypted files (names: see the module documentation). */
export function s3CredentialsFrom(files: CredentialFile[]): S3Credentials | null {
  for (const file of files) {
    const sections: [Record<string, unknown>, string][] = [];
    for (const [key, value] of Object.entries(file.values)) {
      const k = key.toLowerCase();
      if ((k === "s3" || k === "aws") && isRecord(value)) sections.push([value, `#${key}`]);
    }
    sections.push([file.values, ""]);
    for (const [section, suffix] of sections) {
      const found: Partial<Record<keyof S3Credentials, string>> = {};
      for (const [key, value] of Object.entries(section)) {
        const field = S3_NAMES.get(normalize(key));
        if (field !== undefined && typeof value === "string" && value !== "" && !(field in found)) {
          found[field] = value;
        }
      }
      if (found.accessKeyId !== undefined && found.secretAccessKey !== undefined) {
        return {
          accessKeyId: found.accessKeyId,
          secretAccessKey: found.secretAccessKey,
          ...(found.sessionToken ? { sessionToken: found.sessionToken } : {}),
          ...(found.endpoint ? { endpoint: found.endpoint } : {}),
          ...(found.region ? { region: found.region } : {}),
          source: file.path + suffix,
        };
      }
    }
  }
  return null;
}

const S3_NAMES = new Map<string, keyof S3Credentials>([
  ["accesskeyid", "accessKeyId"],
  ["accesskey", "accessKeyId"],
  ["secretaccesskey", "secretAccessKey"],
  ["secretkey", "secretAccessKey"],
  ["sessiontoken", "sessionToken"],
  ["endpoint", "endpoint"],
  ["endpointurl", "endpoint"],
  ["region", "region"],
  ["defaultregion", "region"],
]);

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, "").replace(/^(aws|s3)/, "");
}

/** Everything {@linkcode watchCredentials} reports. */
export interface CredentialsState {
  /** The identity the chain supplied. */
  identity: LoadedIdentity;
  /** Every credential file, decrypted, in name order. */
  files: CredentialFile[];
  /** The S3 credentials found in them, if any. */
  s3: S3Credentials | null;
}

/** Options of {@linkcode watchCredentials}. */
export interface WatchCredentialsOptions {
  /** The credential directory. */
  dir: string;
  /** The environment the identity chain reads (default: the process's). */
  env?: Record<string, string>;
  /** Poll period; default 2000 ms. */
  intervalMs?: number;
  /** Called with freshly loaded credentials: at start and after every change. */
  onChange(state: CredentialsState): void;
  /** Called when loading fails (once per change); default: ignored. */
  onError?(err: unknown): void;
}

/** A running watcher. */
export interface CredentialsWatcher {
  /** Stop polling; no callback runs afterwards. */
  stop(): void;
  /** Check now (for tests and on demand); resolves when the check is done. */
  check(): Promise<void>;
}

/**
 * Load the credentials, report them, and reload whenever a credential file
 * or an identity file changes (by name, size, mtime or inode, polled every
 * `intervalMs`): rotated secrets are picked up without a restart. A state
 * that fails to load is reported once to `onError`; the next change is
 * tried again.
 */
export function watchCredentials(opts: WatchCredentialsOptions): CredentialsWatcher {
  const env = opts.env ?? Deno.env.toObject();
  const interval = opts.intervalMs ?? 2000;
  let last: string | null = null;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const once = async () => {
    const print = await fingerprint(opts.dir, env);
    if (stopped || print === last) return;
    last = print;
    try {
      const identity = await loadAgeIdentity(env);
      const files = await loadCredentialFiles(opts.dir, identity.identities);
      if (!stopped) opts.onChange({ identity, files, s3: s3CredentialsFrom(files) });
    } catch (err) {
      if (!stopped) opts.onError?.(err);
    }
  };
  const check = () => (running = running.then(once, once));
  const loop = () => {
    check().finally(() => {
      if (!stopped) timer = setTimeout(loop, interval);
    });
  };
  loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    check,
  };
}

/** What changes when a credential or identity file is rewritten. */
async function fingerprint(dir: string, env: Record<string, string>): Promise<string> {
  const paths = [
    ...Object.values(chainPaths(env)).filter((p): p is string => p !== undefined),
    ...await listCredentialFiles(dir).catch(() => []),
  ];
  const parts = await Promise.all(paths.map(async (p) => {
    try {
      const s = await Deno.stat(p);
      return `${p}\0${s.size}\0${s.mtime?.getTime()}\0${s.ino}`;
    } catch {
      return `${p}\0-`;
    }
  }));
  // $SOPS_AGE_KEY lives in the environment, which cannot change under us.
  return parts.join("\n");
}

function leafNames(values: Record<string, unknown>, prefix: string): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const name = prefix + key;
    if (isRecord(value)) names.push(...leafNames(value, name + "."));
    else names.push(name);
  }
  return names;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
