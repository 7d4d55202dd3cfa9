/**
 * A real S3 endpoint for tests: a throwaway Ceph cluster (one mon, one memstore
 * OSD) with a RADOS Gateway, all on 127.0.0.1 in a temp dir.
 *
 * Bring-up follows the measured recipe in the project brief: messenger v2
 * only, no cephx, pool size 1 with 8 PGs, paxos intervals of 10 ms (the
 * defaults cost ~13 s), `osd_fast_shutdown = false`. RGW creates its pools
 * with `osd_pool_default_pg_num` (8 here), so nothing is pre-created.
 *
 * Ceph RGW 16 quirk to remember in tests: CompleteMultipartUpload returns an
 * empty ETag (HeadObject reports the right one).
 *
 * @module
 */

import {
  CreateBucketCommand,
  ListBucketsCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { freePorts, LOOPBACK } from "./ports.ts";
import { findExecutable, ServiceError } from "./process.ts";
import { Sandbox } from "./sandbox.ts";

/** A running S3-compatible service. */
export interface S3Service {
  /** Base URL, e.g. "http://127.0.0.1:PORT". */
  endpoint: string;
  /** Region to sign with: "us-east-1". */
  region: string;
  /** Access key of the test user. */
  accessKeyId: string;
  /** Secret key of the test user. */
  secretAccessKey: string;
  /** Create a bucket (idempotent). */
  createBucket(name: string): Promise<void>;
  /** Run `radosgw-admin` with the cluster's conf (for key rotation tests); returns stdout. */
  admin(args: string[]): Promise<string>;
  /** Directory holding every daemon's log, for debugging. */
  logDir: string;
  /** Temp dir holding the whole cluster; removed by {@linkcode stop}. */
  dir: string;
  /** PIDs of the daemons (mon, OSD, radosgw). */
  pids: readonly number[];
  /** Options for an `S3Client` that works with RGW 16 (path style, checksums only when required). */
  clientConfig(): S3ClientConfig;
  /** Last lines of every log, to print when a test fails. */
  logTail(lines?: number): string;
  /** Stop every daemon by its PID and remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** Same as {@linkcode stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startCephRgw}. */
export interface CephRgwOptions {
  /** Abort the bring-up (the partial cluster is torn down). */
  signal?: AbortSignal;
  /**
   * Capacity the memstore OSD reports, in bytes (default
   * {@linkcode DEFAULT_MEMSTORE_BYTES}). Nothing is allocated up front: the
   * OSD's memory grows with stored data (measured: ~4.7 GB RSS holding
   * 2.25 GiB). Past the 95 % full ratio RGW requests hang rather than fail,
   * and RGW only reclaims deleted or overwritten data after its 2 h GC delay,
   * so leave room for every byte a test writes.
   */
  memstoreBytes?: number;
  /** Give up on bring-up after this long (default 90 s; normally ~1-2 s). */
  timeoutMs?: number;
}

/** Default memstore capacity: 4 GiB, room for a 1 GiB and a 256 MiB test file twice over. */
export const DEFAULT_MEMSTORE_BYTES: number = 4 * 1024 ** 3;

const REGION = "us-east-1";
const USER = "tcfs-test";
const ACCESS_KEY = "TCFSTESTACCESSKEY000";
const SECRET_KEY = "tcfsTestSecretKey0000000000000000000000";
const ATTEMPTS = 3;

interface Tools {
  monmaptool: string;
  mon: string;
  osd: string;
  ceph: string;
  radosgw: string;
  admin: string;
}

/**
 * Start a private Ceph cluster with RGW and a test user, and resolve once an
 * authenticated S3 ListBuckets succeeds. Throws {@linkcode ServiceError} when a
 * Ceph binary is missing or a daemon dies.
 */
export async function startCephRgw(options: CephRgwOptions = {}): Promise<S3Service> {
  const tools: Tools = {
    monmaptool: findExecutable("monmaptool", "ceph-base"),
    mon: findExecutable("ceph-mon", "ceph-mon"),
    osd: findExecutable("ceph-osd", "ceph-osd"),
    ceph: findExecutable("ceph", "ceph-common"),
    radosgw: findExecutable("radosgw", "radosgw"),
    admin: findExecutable("radosgw-admin", "ceph-common"),
  };
  for (let attempt = 1;; attempt++) {
    try {
      return await bringUp(tools, options);
    } catch (e) {
      // Another process may take a port between our probe and the daemon's bind.
      if (attempt < ATTEMPTS && e instanceof PortTakenError) continue;
      throw e;
    }
  }
}

class PortTakenError extends ServiceError {}

async function bringUp(tools: Tools, options: CephRgwOptions): Promise<S3Service> {
  const { signal, memstoreBytes = DEFAULT_MEMSTORE_BYTES, timeoutMs = 90_000 } = options;
  const sandbox = await Sandbox.create("rgw");
  try {
    const dir = sandbox.dir;
    const [monPort, rgwPort] = freePorts(2);
    const conf = `${dir}/ceph.conf`;
    const fsid = crypto.randomUUID();
    const osdUuid = crypto.randomUUID();
    for (const sub of ["mon/a", "osd/0", "rgw", "run", "crash"]) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    await Deno.writeTextFile(conf, cephConf({ dir, fsid, monPort, rgwPort, memstoreBytes }));
    const run = { signal, timeoutMs };
    const monmap = `${dir}/monmap`;
    const monAddr = `[v2:${LOOPBACK}:${monPort}]`;
    const monmapArgs = ["--create", "--fsid", fsid, "--addv", "a", monAddr, monmap];
    await sandbox.run(tools.monmaptool, monmapArgs, run);
    // The OSD's mkfs would otherwise ask the (not yet running) mon for config.
    const osdMkfs = ["-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osdUuid, "--no-mon-config"];
    await Promise.all([
      sandbox.run(tools.mon, ["-c", conf, "-i", "a", "--mkfs", "--monmap", monmap], run),
      sandbox.run(tools.osd, osdMkfs, run),
    ]);
    const monArgs = ["-c", conf, "-i", "a", "-f"];
    const mon = sandbox.spawn({ name: "mon.a", command: tools.mon, args: monArgs });
    const osdNew = ["-c", conf, "osd", "new", osdUuid, "0"];
    await sandbox.run(tools.ceph, osdNew, { ...run, watch: [mon] }).catch((e) =>
      rethrow(e, sandbox)
    );
    const osdArgs = ["-c", conf, "-i", "0", "-f"];
    const osd = sandbox.spawn({ name: "osd.0", command: tools.osd, args: osdArgs });
    // The first radosgw-admin call creates the default zone and RGW's pools;
    // doing it before radosgw starts avoids two processes racing to do so.
    const user = ["user", "create", "--uid", USER, "--display-name", USER];
    const keys = ["--access-key", ACCESS_KEY, "--secret", SECRET_KEY];
    await sandbox.run(tools.admin, ["-c", conf, ...user, ...keys], { ...run, watch: [mon, osd] })
      .catch((e) => rethrow(e, sandbox));
    const rgwArgs = ["-c", conf, "-n", "client.rgw", "-f"];
    sandbox.spawn({ name: "client.rgw", command: tools.radosgw, args: rgwArgs });
    const endpoint = `http://${LOOPBACK}:${rgwPort}`;
    const config = clientConfig(endpoint);
    await sandbox.waitUntil("RGW to answer an authenticated ListBuckets", async () => {
      const client = new S3Client(config);
      try {
        await client.send(new ListBucketsCommand({}));
        return true;
      } finally {
        client.destroy();
      }
    }, { timeoutMs, signal }).catch((e) => rethrow(e, sandbox));
    return service(sandbox, tools, conf, endpoint);
  } catch (e) {
    await sandbox.close();
    throw e;
  }
}

/** Turn a failure caused by a port someone else bound into a retryable error. */
function rethrow(error: unknown, sandbox: Sandbox): never {
  if (/address already in use|EADDRINUSE/i.test(sandbox.logTail(50))) {
    throw new PortTakenError("a Ceph daemon could not bind its port", { cause: error });
  }
  throw error;
}

function clientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    forcePathStyle: true,
    // RGW 16 answers 411 to the SDK's default aws-chunked streaming uploads.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
}

function service(sandbox: Sandbox, tools: Tools, conf: string, endpoint: string): S3Service {
  let stopped = false;
  const stop = (): Promise<void> => {
    stopped = true;
    // SIGKILL at once: the cluster is thrown away, a clean shutdown takes
    // seconds, and memstore would first write all its data to disk.
    return sandbox.close(0);
  };
  return {
    endpoint,
    region: REGION,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    logDir: sandbox.logDir,
    dir: sandbox.dir,
    pids: sandbox.daemons.map((d) => d.pid),
    clientConfig: () => clientConfig(endpoint),
    async createBucket(name: string): Promise<void> {
      const client = new S3Client(clientConfig(endpoint));
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } catch (e) {
        if (!(e instanceof Error && e.name === "BucketAlreadyOwnedByYou")) throw e;
      } finally {
        client.destroy();
      }
    },
    admin(args: string[]): Promise<string> {
      if (stopped) return Promise.reject(new ServiceError("the Ceph RGW service is stopped"));
      return sandbox.run(tools.admin, ["-c", conf, ...args]);
    },
    logTail: (lines?: number) => sandbox.logTail(lines),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

interface ConfParams {
  dir: string;
  fsid: string;
  monPort: number;
  rgwPort: number;
  memstoreBytes: number;
}

function cephConf(p: ConfParams): string {
  return `[global]
fsid = ${p.fsid}
mon_host = v2:${LOOPBACK}:${p.monPort}
public_addr = ${LOOPBACK}
cluster_addr = ${LOOPBACK}
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Daemons default to "secure" mode towards the mon, which auth "none" cannot offer.
ms_mon_client_mode = crc
keyring = ${p.dir}/keyring
run_dir = ${p.dir}/run
crash_dir = ${p.dir}/crash
log_file = ${p.dir}/logs/$name.log
mon_cluster_log_file = ${p.dir}/logs/cluster.log
log_to_stderr = false
err_to_stderr = true
client_mount_timeout = 30
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
paxos_propose_interval = 0.01
paxos_min_wait = 0.01
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = ${p.dir}/mon/$id
admin_socket = ${p.dir}/run/$name.asok
# Exit at once when the port was taken (the default retries for 15 s), so we retry with another.
ms_bind_retry_count = 1

[osd]
osd_data = ${p.dir}/osd/$id
admin_socket = ${p.dir}/run/$name.asok
osd_objectstore = memstore
memstore_device_bytes = ${p.memstoreBytes}
osd_fast_shutdown = false

[client.rgw]
admin_socket = ${p.dir}/run/$name.asok
rgw_frontends = beast endpoint=${LOOPBACK}:${p.rgwPort} tcp_nodelay=1
rgw_data = ${p.dir}/rgw
`;
}
