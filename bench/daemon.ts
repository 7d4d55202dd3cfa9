/**
 * The daemon's start-up time, memory and API latency (issue 6).
 *
 * Run: `deno run -A --unstable-kv --unstable-net bench/daemon.ts [--runs 5]
 * [--files 1000] [--clients 50] [--seconds 10] [--no-s3] [--json]`
 *
 * On a device with a `file://` repository, as a user runs it (`deno run
 * main.ts daemon --no-sync-loop`, so that idle means idle):
 *
 * 1. Start-up: from spawn to the `READY=1` datagram on a notify socket this
 *    script listens on (what systemd's `Type=notify` waits for), then to the
 *    first answered Status call; and SIGTERM to `STOPPING=1` and to exit.
 *    Reference in the same run: `main.ts version` from spawn to exit (the
 *    runtime and module-load floor). `--runs` of each, min and median.
 * 2. Memory: VmRSS after READY plus 5 s idle, after a sync of `--files`
 *    small files (through the CLI, so the daemon does the work), after 5 s
 *    more idle, and after the latency runs below and 10 s of idle after
 *    them (garbage or growth); VmHWM is the peak.
 * 3. Latency: a Node load generator (bench/daemon_load.mjs; Node so the
 *    daemon's event loop is not shared with its clients) runs `--clients`
 *    loops of back-to-back Status calls for `--seconds`, on as many channels
 *    (one connection each) and then all on one channel; then SyncStatus (a
 *    state read plus a scan of the root), each also with one client as the
 *    reference. p50/p99/max, calls per second, the CPU share of the daemon
 *    and of Node over the window, and the daemon's CPU time per call (the
 *    figure least disturbed by other load on a shared machine).
 *
 * Then, unless `--no-s3`, start-up again with the repository on a real Ceph
 * RGW, to see whether S3 changes it, and once more through `FaultProxy` to
 * list the S3 requests start-up makes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeDevice, type TestDevice } from "../tests/fixtures/device.ts";
import { randomBytes } from "../tests/fixtures/tree.ts";
import { freePort, startCephRgw } from "../tests/services/mod.ts";
import { DaemonClient, PROTO_PATH } from "../lib/rpc/mod.ts";
import { FaultProxy } from "../lib/storage/fault_proxy.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const LOAD = `${ROOT}bench/daemon_load.mjs`;
const DENO_FLAGS = ["run", "-A", "--unstable-kv", "--unstable-net"];
/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
const CLK_TCK = 100;

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    files: { type: "string", default: "1000" },
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "10" },
    "no-s3": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const RUNS = Number(opts.runs);
const FILES = Number(opts.files);
const CLIENTS = Number(opts.clients);
const SECONDS = Number(opts.seconds);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const min = (xs: number[]) => Math.min(...xs);

/** Datagrams received on a notify socket, with their arrival times. */
class NotifyListener {
  readonly path: string;
  readonly #conn: Deno.DatagramConn;
  readonly #seen: { state: string; at: number }[] = [];
  #wake: (() => void) | null = null;

  constructor(dir: string) {
    this.path = `${dir}/notify.sock`;
    this.#conn = Deno.listenDatagram({ transport: "unixpacket", path: this.path });
    this.#receive();
  }

  async #receive() {
    try {
      for await (const [data] of this.#conn) {
        const at = performance.now();
        for (const line of new TextDecoder().decode(data).split("\n")) {
          if (line) this.#seen.push({ state: line, at });
        }
        this.#wake?.();
      }
    } catch {
      // closed
    }
  }

  /** Wait for `state` (e.g. `READY=1`) received after `since`; its arrival time. */
  async next(state: string, since: number, timeoutMs = 60_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.#seen.find((s) => s.state === state && s.at >= since);
      if (hit) return hit.at;
      if (performance.now() > deadline) throw new Error(`no ${state} within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => this.#wake = r), sleep(100)]);
    }
  }

  close() {
    this.#conn.close();
  }
}

/** A daemon process being measured. */
interface Started {
  child: Deno.ChildProcess;
  stderr: Promise<string>;
  spawnedAt: number;
  readyMs: number;
  socket: string;
}

async function startDaemon(d: TestDevice, notify: NotifyListener): Promise<Started> {
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...DENO_FLAGS, MAIN, "daemon", "--no-sync-loop"],
    env: { ...d.env, NO_COLOR: "1", NOTIFY_SOCKET: notify.path },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const exited = child.status.then(async (s) => {
    throw new Error(`the daemon exited ${s.code} before READY=1:\n${await stderr}`);
  });
  exited.catch(() => {});
  const ready = await Promise.race([notify.next("READY=1", spawnedAt), exited]);
  return {
    child,
    stderr,
    spawnedAt,
    readyMs: ready - spawnedAt,
    socket: `${d.env.XDG_RUNTIME_DIR}/tcfs/tcfsd.sock`,
  };
}

/** SIGKILL, for cleaning up after a failure; the process may be gone already. */
function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already exited
  }
}

async function stopDaemon(s: Started, notify: NotifyListener) {
  const at = performance.now();
  s.child.kill("SIGTERM");
  const stopping = await notify.next("STOPPING=1", at);
  const { code } = await s.child.status;
  if (code !== 0) throw new Error(`the daemon exited ${code}:\n${await s.stderr}`);
  return { stoppingMs: stopping - at, exitMs: performance.now() - at };
}

/** Spawn to exit of `main.ts version`: Deno start plus loading the CLI's modules. */
async function versionMs(env: Record<string, string>): Promise<number> {
  const at = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [...DENO_FLAGS, MAIN, "version"],
    env,
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`main.ts version exited ${code}`);
  return performance.now() - at;
}

/** VmRSS and VmHWM of `pid`, MiB. */
async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))![1]);
  return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
}

/** User + system CPU seconds of `pid` so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface StartupFigures {
  readyMs: number[];
  firstStatusMs: number[];
  stoppingMs: number[];
  exitMs: number[];
}

/** `RUNS` start/stop cycles of the daemon of `d`, interleaved with the reference. */
async function startup(d: TestDevice, notify: NotifyListener, versions: number[]) {
  const f: StartupFigures = { readyMs: [], firstStatusMs: [], stoppingMs: [], exitMs: [] };
  for (let i = 0; i < RUNS; i++) {
    versions.push(await versionMs(d.env));
    const s = await startDaemon(d, notify);
    try {
      const client = await DaemonClient.connect(s.socket, 10_000);
      if (!client) throw new Error("the daemon sent READY=1 but its socket does not answer");
      await client.daemonStatus();
      f.firstStatusMs.push(performance.now() - s.spawnedAt);
      await client.close();
    } catch (err) {
      killQuietly(s.child);
      throw err;
    }
    f.readyMs.push(s.readyMs);
    const stopped = await stopDaemon(s, notify);
    f.stoppingMs.push(stopped.stoppingMs);
    f.exitMs.push(stopped.exitMs);
  }
  return f;
}

interface LoadFigures {
  method: string;
  clients: number;
  channels: number;
  calls: number;
  errors: number;
  firstError: string;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  clientCpu: number;
  /** The daemon's CPU share over the measured window. */
  daemonCpu: number;
  /** The daemon's VmRSS after the run, MiB. */
  rssAfter: number;
}

/** One load run: `clients` loops calling `method`, spread over `channels`. */
interface LoadSpec {
  method: "Status" | "SyncStatus";
  clients: number;
  channels: number;
}

async function load(pid: number, socket: string, spec: LoadSpec): Promise<LoadFigures> {
  const { method, clients, channels } = spec;
  const child = new Deno.Command("node", {
    args: [LOAD, socket, PROTO_PATH, method, String(clients), String(channels), String(SECONDS)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let cpu0 = 0;
  let t0 = 0;
  let daemonCpu = 0;
  let result: Omit<LoadFigures, "daemonCpu" | "rssAfter"> | undefined;
  let buffer = "";
  for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      const m = JSON.parse(line);
      if (m.window === "open") [cpu0, t0] = [await cpuSeconds(pid), performance.now()];
      else if (m.window === "closed") {
        daemonCpu = (await cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
      } else result = m;
    }
  }
  const { code } = await child.status;
  if (code !== 0 || !result) throw new Error(`the load generator failed:\n${await stderr}`);
  return { ...result, daemonCpu, rssAfter: (await memory(pid)).rss };
}

async function device(name: string, s3?: Parameters<typeof makeDevice>[1], url?: string) {
  const d = await makeDevice(name, s3);
  await Deno.mkdir(`${d.dir}/root`);
  d.env.TCFS_SYNC_ROOTS = `${d.dir}/root`;
  // Metrics stay on, as by default, on a port of their own (other daemons may run).
  d.env.TCFS_DAEMON_METRICS_LISTEN = `127.0.0.1:${freePort()}`;
  await Deno.writeTextFile(`${d.dir}/pass`, "bench passphrase\n");
  await d.ok(["init", url ?? `file://${d.dir}/repo`, "--passphrase-file", `${d.dir}/pass`]);
  return d;
}

/** The 1-minute load average: the machine is shared, and this says how busy it was. */
async function loadAverage(): Promise<number> {
  return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
}

const notifyDir = await Deno.makeTempDir({ prefix: "tcfs-bench-notify-" });
const notify = new NotifyListener(notifyDir);
const versions: number[] = [];
const report: Record<string, unknown> = {
  runs: RUNS,
  files: FILES,
  clients: CLIENTS,
  loadAverage: [await loadAverage()],
};
const d = await device("bench-daemon");
let running: Started | undefined;
try {
  await versionMs(d.env); // fills Deno's transpile cache, so no run pays for it
  const file = await startup(d, notify, versions);
  report.startupFile = file;

  running = await startDaemon(d, notify);
  const pid = running.child.pid;
  await sleep(5000);
  const idle = await memory(pid);
  const root = `${d.dir}/root`;
  for (let i = 0; i < FILES; i++) {
    const dir = `${root}/d${i % 10}`;
    if (i < 10) await Deno.mkdir(dir);
    await Deno.writeFile(`${dir}/f${i}.bin`, randomBytes(1024 + (i * 37) % 3072, i));
  }
  const t0 = performance.now();
  const synced = await d.ok<{ uploaded: number }>(["sync"]);
  const syncSeconds = (performance.now() - t0) / 1000;
  if (synced.uploaded < FILES) throw new Error(`synced ${synced.uploaded} of ${FILES} files`);
  const afterSync = await memory(pid);
  await sleep(5000);
  const afterSyncIdle = await memory(pid);
  report.memory = { idle, afterSync, afterSyncIdle, syncSeconds };

  // One client calling back to back is the reference for the 50-client runs.
  const specs: LoadSpec[] = [
    { method: "Status", clients: 1, channels: 1 },
    { method: "Status", clients: CLIENTS, channels: CLIENTS },
    { method: "Status", clients: CLIENTS, channels: 1 },
    { method: "SyncStatus", clients: 1, channels: 1 },
    { method: "SyncStatus", clients: CLIENTS, channels: CLIENTS },
  ];
  const loads: LoadFigures[] = [];
  for (const spec of specs) loads.push(await load(pid, running.socket, spec));
  report.load = loads;
  report.afterLoad = await memory(pid);
  await sleep(10_000);
  report.afterLoadIdle = await memory(pid);
  await stopDaemon(running, notify);
  running = undefined;

  if (!opts["no-s3"]) {
    await using s3 = await startCephRgw({ memstoreBytes: 512 * 1024 ** 2 });
    await s3.createBucket("bench");
    const ds = await device("bench-daemon-s3", s3, "s3://bench/repo");
    try {
      report.startupS3 = await startup(ds, notify, versions);
      // Once more through a counting proxy: which S3 requests start-up makes.
      await using proxy = await FaultProxy.start(s3.endpoint);
      ds.env.TCFS_S3_ENDPOINT = proxy.endpoint;
      running = await startDaemon(ds, notify);
      report.startupS3Requests = proxy.requests.map((r) => `${r.method} ${r.target}`);
      await stopDaemon(running, notify);
      running = undefined;
    } finally {
      await ds.remove();
    }
  }
  report.versionMs = versions;
  (report.loadAverage as number[]).push(await loadAverage());
} finally {
  if (running) {
    killQuietly(running.child);
    await running.child.status;
    console.error(await running.stderr);
  }
  notify.close();
  await Deno.remove(notifyDir, { recursive: true });
  await d.remove();
}

if (opts.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  printReport(report);
}

function printReport(r: Record<string, unknown>) {
  type Mem = { rss: number; hwm: number };
  const ms = (xs: number[]) => `min ${min(xs).toFixed(0)} ms, median ${median(xs).toFixed(0)} ms`;
  const ref = median(versions);
  const row = (name: string, f: StartupFigures) => {
    const ratio = (median(f.readyMs) / ref).toFixed(2);
    console.log(`${name}:`);
    console.log(`  spawn -> READY=1          ${ms(f.readyMs)} (${ratio}x version)`);
    console.log(`  spawn -> first Status     ${ms(f.firstStatusMs)}`);
    console.log(`  SIGTERM -> STOPPING=1     ${ms(f.stoppingMs)}`);
    console.log(`  SIGTERM -> exit 0         ${ms(f.exitMs)}`);
  };
  console.log(`1-min load average at start and end: ${(r.loadAverage as number[]).join(", ")}`);
  console.log(`reference: main.ts version, spawn -> exit: ${ms(versions)} (n=${versions.length})`);
  row("file:// repository", r.startupFile as StartupFigures);
  if (r.startupS3) {
    row("s3:// repository (Ceph RGW)", r.startupS3 as StartupFigures);
    const requests = r.startupS3Requests as string[];
    console.log(`  S3 requests from spawn to READY=1: ${requests.length}`);
    for (const req of requests) console.log(`    ${req}`);
  }

  const m = r.memory as { idle: Mem; afterSync: Mem; afterSyncIdle: Mem; syncSeconds: number };
  const mib = (x: Mem) => `VmRSS ${x.rss.toFixed(1)} MiB (VmHWM ${x.hwm.toFixed(1)} MiB)`;
  console.log(`memory: READY + 5 s idle          ${mib(m.idle)}`);
  console.log(`        sync of ${FILES} files (${m.syncSeconds.toFixed(1)} s) ${mib(m.afterSync)}`);
  console.log(`        + 5 s idle                ${mib(m.afterSyncIdle)}`);
  console.log(`        after the load runs       ${mib(r.afterLoad as Mem)}`);
  console.log(`        + 10 s idle               ${mib(r.afterLoadIdle as Mem)}`);

  const loads = r.load as LoadFigures[];
  for (const l of loads) {
    const single = loads.find((x) => x.method === l.method && x.clients === 1)!;
    console.log(
      `${l.method} x ${l.clients} loop(s) on ${l.channels} channel(s), ${SECONDS} s: ` +
        `p50 ${l.p50.toFixed(2)} ms (${(l.p50 / single.p50).toFixed(1)}x 1 client), ` +
        `p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms, ` +
        `${l.perSecond.toFixed(0)} calls/s, ${l.errors} errors` +
        (l.firstError ? ` (${l.firstError})` : "") +
        `, CPU daemon ${(l.daemonCpu * 100).toFixed(0)}% node ${(l.clientCpu * 100).toFixed(0)}%` +
        ` (daemon ${(l.daemonCpu / l.perSecond * 1000).toFixed(2)} ms CPU per call)` +
        `, VmRSS after ${l.rssAfter.toFixed(0)} MiB`,
    );
  }
}
