/**
 * The configuration schema: every key tcfs reads, with its type, default and
 * documentation. It is the single source of truth for validation, for the
 * `TCFS_*` environment overrides and for `docs/config.md` (generated from it,
 * and a test keeps the two in step).
 *
 * @module
 */

import { hostname } from "node:os";
import { configDir, dataDir, runtimeDir } from "./paths.ts";

/** The kinds of value a config key can hold. */
export type FieldType = "string" | "integer" | "boolean" | "enum" | "list";

/** Description of one config key. */
export interface Field<T> {
  /** Value kind, used for validation and for parsing environment overrides. */
  readonly type: FieldType;
  /** Default value, or a function computing it (for paths under the home dir). */
  readonly default: T | (() => T);
  /** One or two sentences for `docs/config.md`. */
  readonly doc: string;
  /** Secrets are redacted by `tcfs config show` and never logged. */
  readonly secret?: boolean;
  /** Allowed values of an enum field. */
  readonly values?: readonly string[];
  /** Smallest allowed value of an integer field. */
  readonly min?: number;
  /** Largest allowed value of an integer field. */
  readonly max?: number;
  /** Default shown in the docs when `default` is computed. */
  readonly docDefault?: string;
}

function field<T>(type: FieldType, spec: Omit<Field<T>, "type">): Field<T> {
  return { type, ...spec };
}

const str = (spec: Omit<Field<string>, "type">) => field<string>("string", spec);
const int = (spec: Omit<Field<number>, "type">) => field<number>("integer", spec);
const bool = (spec: Omit<Field<boolean>, "type">) => field<boolean>("boolean", spec);
const list = (spec: Omit<Field<string[]>, "type">) => field<string[]>("list", spec);
function oneOf<const V extends string>(
  values: readonly V[],
  spec: Omit<Field<V>, "type" | "values">,
): Field<V> {
  return { type: "enum", values, ...spec };
}

/** Every section and key of the config file. */
export const SCHEMA = {
  repository: {
    url: str({
      default: () => `file://${dataDir()}/repo`,
      docDefault: "file://$XDG_DATA_HOME/tcfs/repo",
      doc: "Where the repository lives: `file:///abs/path` (embedded default) or " +
        "`s3://bucket/prefix` (any S3: SeaweedFS, Ceph RGW, MinIO, AWS, R2).",
    }),
  },
  s3: {
    endpoint: str({
      default: "",
      doc: "S3 endpoint URL, e.g. `http://seaweed:8333`. Empty means AWS's regional endpoint.",
    }),
    region: str({ default: "us-east-1", doc: "S3 region used for request signing." }),
    path_style: bool({
      default: true,
      doc: "Address buckets as `endpoint/bucket` (needed by SeaweedFS, Ceph RGW and MinIO).",
    }),
    access_key_id: str({
      default: "",
      doc: "S3 access key id. Empty: taken from the credential chain or `AWS_ACCESS_KEY_ID`.",
    }),
    secret_access_key: str({
      default: "",
      secret: true,
      doc: "S3 secret key. Prefer the SOPS credential files; never logged or shown.",
    }),
    session_token: str({ default: "", secret: true, doc: "Optional S3 session token." }),
  },
  device: {
    name: str({
      default: () => hostname(),
      docDefault: "the host name",
      doc: "Human-readable name of this device, shown in conflict copies and commit records.",
    }),
    identity_file: str({
      default: () => `${configDir()}/identity.txt`,
      docDefault: "$XDG_CONFIG_HOME/tcfs/identity.txt",
      doc: "This device's age X25519 identity (mode 0600), which unwraps the repository key.",
    }),
  },
  state: {
    dir: str({
      default: () => `${dataDir()}/state`,
      docDefault: "$XDG_DATA_HOME/tcfs/state",
      doc: "Directory of the local state database (Deno KV) and caches.",
    }),
  },
  cache: {
    dir: str({
      default: "",
      docDefault: "<state.dir>/cache",
      doc: "Directory of the chunk cache (decrypted chunks read through the mount), one " +
        "subdirectory per repository. Empty: `cache` beside the state database.",
    }),
    max_bytes: int({
      default: 10 * 1024 ** 3,
      min: 64 * 1024 ** 2,
      doc: "Quota of the chunk cache in bytes, per repository; least recently used chunks " +
        "are evicted beyond it, never those of pinned or open files.",
    }),
  },
  transfer: {
    concurrency: int({
      default: 8,
      min: 1,
      max: 256,
      doc: "How many objects are uploaded or downloaded at once.",
    }),
    retries: int({
      default: 6,
      min: 1,
      max: 50,
      doc: "Attempts per storage request before giving up (throttling, 5xx, network errors).",
    }),
  },
  log: {
    level: oneOf(["debug", "info", "warn", "error"] as const, {
      default: "info",
      doc: "Least severe log level that is written (to stderr).",
    }),
    format: oneOf(["auto", "text", "json"] as const, {
      default: "auto",
      doc: "`text` for people, `json` for one JSON object per line; `auto` picks text on a " +
        "terminal and JSON otherwise.",
    }),
  },
  daemon: {
    socket: str({
      default: () => `${runtimeDir()}/tcfsd.sock`,
      docDefault: "$XDG_RUNTIME_DIR/tcfs/tcfsd.sock",
      doc: "Unix socket of the daemon's gRPC API (its directory is created mode 0700).",
    }),
    metrics_listen: str({
      default: "127.0.0.1:9464",
      doc: "Address of the `/metrics`, `/healthz` and `/readyz` HTTP endpoints. Empty disables.",
    }),
  },
  credentials: {
    dir: str({
      default: () => `${configDir()}/credentials`,
      docDefault: "$XDG_CONFIG_HOME/tcfs/credentials",
      doc: "Directory of SOPS-encrypted credential files (`*.yaml`) read by the daemon.",
    }),
  },
  nats: {
    url: str({
      default: "",
      doc: "NATS server URL for task queues and state events. Empty: in-process queue only.",
    }),
    replicas: int({
      default: 1,
      min: 1,
      max: 5,
      doc: "Replicas of each JetStream stream tcfs creates (1 on a single server, 3 in a " +
        "cluster). See docs/QUEUE.md.",
    }),
    hydration_max_age_hours: int({
      default: 168,
      min: 1,
      max: 87_600,
      doc: "How long `HYDRATION_EVENTS` keeps hydration events (for metrics and prefetch).",
    }),
    state_max_age_hours: int({
      default: 24,
      min: 1,
      max: 87_600,
      doc: "How long the `STATE` stream keeps state events; devices offline longer catch up " +
        "from the commit records instead.",
    }),
    dead_letter_max_age_days: int({
      default: 30,
      min: 1,
      max: 3650,
      doc: "How long failed tasks stay in `SYNC_TASKS_DLQ` for inspection.",
    }),
  },
  worker: {
    concurrency: int({
      default: 2,
      min: 1,
      max: 256,
      doc: "Tasks one `tcfs worker` process runs at once (each also uses transfer.concurrency " +
        "requests).",
    }),
    ack_wait_seconds: int({
      default: 60,
      min: 5,
      max: 3600,
      doc: "How long a task may go without a progress heartbeat before NATS hands it to " +
        "another worker (a crashed worker's tasks come back after this long).",
    }),
    max_attempts: int({
      default: 5,
      min: 1,
      max: 100,
      doc: "Attempts per task; after the last failed one it goes to `SYNC_TASKS_DLQ` with " +
        "its error.",
    }),
    retry_delay_seconds: int({
      default: 5,
      min: 0,
      max: 3600,
      doc: "Delay before a failed task is retried; it doubles with each attempt, up to 15 " +
        "minutes.",
    }),
    ingest_batch: int({
      default: 500,
      min: 1,
      max: 10_000,
      doc: "Objects per ingest task when `tcfs worker ingest` fans out a bucket prefix.",
    }),
    metrics_listen: str({
      default: "127.0.0.1:9465",
      doc: "Address of a worker's `/metrics`, `/healthz` and `/readyz` endpoints (e.g. " +
        "`0.0.0.0:9465` in a pod). Empty disables.",
    }),
    gc_grace_hours: int({
      default: 24,
      min: 0,
      max: 8760,
      doc: "Objects younger than this are never swept by a `gc` task, referenced or not (an " +
        "upload in flight has no commit record yet), nor old snapshots removed by `compact`. " +
        "Must exceed the longest push plus the clock skew between workers and the store.",
    }),
    prefetch_max_bytes: int({
      default: 268_435_456,
      min: 0,
      max: 1_099_511_627_776,
      doc: "Most bytes of chunks one prefetch hint asks a device to warm. Workers turn each " +
        "hydration a device reports into a hint for the other files of its directory. 0 turns " +
        "prefetch off.",
    }),
  },
  sync: {
    roots: list({
      default: [],
      doc: "Local directories kept in sync, each `LOCAL` (remote `/<name>`) or `LOCAL=REMOTE`. " +
        "Daemon requests are confined to these roots.",
    }),
    stubs: bool({
      default: false,
      doc: "Bring new remote files down as `.tc` stubs (and directories as `.tcf`) instead of " +
        "their content; `tcfs hydrate` fetches them.",
    }),
    ignore: list({
      default: [],
      doc: "Extra ignore patterns (gitignore syntax, relative to each root), on top of " +
        "`.tcfsignore` files.",
    }),
    max_delete_percent: int({
      default: 50,
      min: 1,
      max: 100,
      doc: "A sync that would delete more than this share of a root's files (and at least 10) " +
        "stops and asks for `--force`.",
    }),
    trash_days: int({
      default: 30,
      min: 0,
      max: 36500,
      doc: "How long deleted files stay restorable (`tcfs trash ls`, `tcfs restore`).",
    }),
    poll_seconds: int({
      default: 30,
      min: 1,
      max: 86400,
      doc: "With `tcfs sync --watch`, the daemon's sync loop and its mounts, how often the " +
        "repository is checked for remote changes.",
    }),
  },
  mount: {
    names: oneOf(["stubs", "real"] as const, {
      default: "stubs",
      doc: "How `tcfs mount` names files that are not local: `stubs` lists them as `NAME.tc` " +
        "(directories not yet listed as `NAME.tcf`); `real` shows real names and sizes.",
    }),
    attr_ttl_ms: int({
      default: 1000,
      min: 0,
      max: 3_600_000,
      doc: "How long the kernel may cache names and attributes of the mount before asking again " +
        "(remote changes are pushed to it sooner through invalidation).",
    }),
    negative_ttl_ms: int({
      default: 1000,
      min: 0,
      max: 3_600_000,
      doc: "How long the kernel may remember that a name does not exist in the mount (git " +
        "looks up thousands of missing files). 0 disables the negative cache.",
    }),
    commit_delay_ms: int({
      default: 1500,
      min: 0,
      max: 600_000,
      doc: "Written files are committed to the repository this long after their last close or " +
        "fsync (they are journaled locally at once, so nothing is lost meanwhile).",
    }),
    passthrough: bool({
      default: true,
      doc: "Let the kernel read hydrated files opened read-only straight from a whole local copy " +
        "kept next to the chunk cache (FUSE passthrough; needs root and Linux 6.9+, otherwise " +
        "ignored). The copies take up to `cache.max_bytes` more disk.",
    }),
  },
  coordinator: {
    lease: oneOf(["nats", "kubernetes"] as const, {
      default: "nats",
      doc: "Where the leader lease lives: a NATS KV bucket, or a Kubernetes " +
        "`coordination.k8s.io/v1` Lease (in a pod). See docs/COORDINATOR.md.",
    }),
    lease_name: str({
      default: "tcfs-coordinator",
      doc: "Name of the lease (and of its fence); coordinators of one repository share it.",
    }),
    lease_seconds: int({
      default: 15,
      min: 1,
      max: 3600,
      doc: "How long a renewal holds the lease; a dead leader is replaced after about this " +
        "long. The leader renews every quarter of it and steps down after two thirds unrenewed.",
    }),
    kubernetes_namespace: str({
      default: "",
      doc: "Namespace of the Kubernetes Lease. Empty: the pod's own namespace.",
    }),
    compact_seconds: int({
      default: 3600,
      min: 0,
      max: 31_536_000,
      doc: "How often the leader schedules a `compact` task (commit records into snapshots " +
        "and listings). 0 never.",
    }),
    gc_seconds: int({
      default: 86_400,
      min: 0,
      max: 31_536_000,
      doc: "How often the leader schedules a `gc` task (unreferenced chunks). 0 never.",
    }),
    scrub_seconds: int({
      default: 604_800,
      min: 0,
      max: 31_536_000,
      doc: "How often the leader schedules a `scrub` task (verify stored chunks). 0 never.",
    }),
  },
} as const;

type ValueOf<F> = F extends Field<infer T> ? T : never;

/** The effective configuration: every key present, with its typed value. */
export type Config = {
  -readonly [S in keyof typeof SCHEMA]: {
    -readonly [K in keyof (typeof SCHEMA)[S]]: ValueOf<(typeof SCHEMA)[S][K]>;
  };
};

/** A section name and key name, as written in the file (`section.key`). */
export interface FieldRef {
  /** Section name, e.g. `s3`. */
  section: string;
  /** Key inside the section, e.g. `secret_access_key`. */
  key: string;
  /** The key's description. */
  field: Field<unknown>;
}

/** Every field of the schema, in declaration order. */
export function allFields(): FieldRef[] {
  const out: FieldRef[] = [];
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const [key, f] of Object.entries(keys)) {
      out.push({ section, key, field: f as Field<unknown> });
    }
  }
  return out;
}

/** The environment variable that overrides `section.key`, e.g. `TCFS_S3_REGION`. */
export function envNameOf(section: string, key: string): string {
  return `TCFS_${section}_${key}`.toUpperCase();
}

/** The default value of a field, computing it when it depends on the environment. */
export function defaultOf<T>(f: Field<T>): T {
  const d = f.default;
  const value = typeof d === "function" ? (d as () => T)() : d;
  return Array.isArray(value) ? [...value] as T : value;
}
