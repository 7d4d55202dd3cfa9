/**
 * `tcfs sync` against `rclone sync` on a tree of small files (100,000 by
 * default), on one real Ceph RGW in one run, plus the size of tcfs's local
 * state per tracked file.
 *
 * Run: `deno run -A --unstable-kv bench/sync.ts [--files 100000] [--repeat 3]
 * [--seed 1] [--no-profile] [--json] [--status-only]`; `--status-only` does
 * tcfs's first sync and then times only `tcfs status` (a few minutes instead
 * of 12-22).
 *
 * The tree: `--files` files of 1-8 KiB of incompressible data (so zstd gives
 * tcfs no edge) in 10 x 10 directories, from a fixed seed. Both tools run as
 * the user runs them (tcfs: `deno run main.ts`, from a copy of the sources
 * taken at the start so the whole run measures one version of the code;
 * rclone: Debian's, every option at its default), each timed from spawn to
 * exit with the client's CPU from `/usr/bin/time` and the server's
 * (radosgw + OSD) from `/proc`. Order: start-up cost, first syncs, then
 * `--repeat` rounds of (tcfs no-op sync, rclone no-op sync, rclone no-op
 * sync `--checksum`, tcfs status, tcfs status `--json`), interleaved so that
 * drift hits both tools alike; medians are reported. `--checksum` is not a
 * default: it is there as the fastest safe rclone no-op (MD5s from the
 * listing instead of one HEAD per object for the modification time).
 *
 * Then, unless `--no-profile`, a diagnostic round through `FaultProxy`
 * (which counts S3 requests): a second tcfs device syncs the same tree into
 * a fresh bucket under the V8 CPU profiler (first sync, no-op, status), and
 * rclone's no-op is repeated to count its requests. The profiles are
 * summarised as a timeline of tcfs functions and the top self times.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeDevice, type TestDevice } from "../tests/fixtures/device.ts";
import { prng, randomBytes } from "../tests/fixtures/tree.ts";
import { type S3Service, startCephRgw } from "../tests/services/mod.ts";
import { DEFAULT_MEMSTORE_BYTES } from "../tests/services/mod.ts";
import { FaultProxy, type ProxiedRequest } from "../lib/storage/fault_proxy.ts";
import { cpuSeconds } from "./cpu.ts";
import { rcloneEnv, rcloneVersion } from "./rclone.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** What `tcfs` needs at run time. */
const SOURCES = ["main.ts", "deno.json", "package.json", "cmd", "lib", "proto"];
const MIN_SIZE = 1024;
const MAX_SIZE = 8 * 1024;
const TOP_DIRS = 10;
const SUB_DIRS = 10;
const REMOTE = "/bench";
const PROFILER = ".bench_sync_profile.ts";
const CHECKSUM_NOOP = "no-op sync --checksum";
/** This Deno, by path: a reinstall of node_modules during a run replaces the file at that path. */
const DENO = Deno.execPath().replace(/ \(deleted\)$/, "");

/** One timed process. */
interface Run {
  seconds: number;
  clientCpu: number;
  clientRssMiB: number;
  serverCpu: number;
  stdout: string;
}

/** One measured operation: every repetition, in order. */
interface Row {
  tool: "tcfs" | "rclone";
  op: string;
  runs: Run[];
}

/** The generated tree. */
interface Tree {
  dir: string;
  files: number;
  dirs: number;
  bytes: number;
}

const cleanups: (() => void)[] = [];
let child: Deno.ChildProcess | null = null;
cleanups.push(() => {
  if (!child) return;
  // The tool runs under /usr/bin/time, which would leave it running: stop the tool first.
  const pid = child.pid;
  for (const c of Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).split(" ")) {
    if (c.trim()) Deno.kill(Number(c), "SIGKILL");
  }
  child.kill("SIGKILL");
});

function cleanUp(): void {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch { /* best effort: already gone */ }
  }
}
globalThis.addEventListener("unload", cleanUp);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => Deno.exit(130));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (n: number, digits = 2) => n.toFixed(digits);
const say = (s: string) => console.error(s);

/** Run `cmd` with exactly `env` (plus PATH), under `/usr/bin/time`; throws on failure. */
async function timed(
  cmd: string[],
  env: Record<string, string>,
  serverPids: readonly number[],
  scratch: string,
): Promise<Run> {
  const timeFile = `${scratch}/time.out`;
  const server0 = cpuSeconds(serverPids);
  const start = performance.now();
  child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "-o", timeFile, ...cmd],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  child = null;
  const seconds = (performance.now() - start) / 1000;
  const serverCpu = cpuSeconds(serverPids) - server0;
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${cmd.join(" ")} exited ${out.code}:\n${text.decode(out.stderr).slice(-3000)}`,
    );
  }
  const last = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!;
  const [user, sys, rssKiB] = last.split(" ").map(Number);
  return {
    seconds,
    clientCpu: user + sys,
    clientRssMiB: rssKiB / 1024,
    serverCpu,
    stdout: text.decode(out.stdout),
  };
}

/** Regular files, recursively, as paths relative to `dir`, sorted. */
async function filesUnder(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await filesUnder(dir, path));
    else if (e.isFile) out.push(path);
  }
  return out.sort();
}

/**
 * Copy the tcfs sources to `dest` (with a profiling entry point beside
 * `main.ts`); returns the first 12 hex digits of a SHA-256 over their paths
 * and contents, to name the version measured.
 */
async function snapshotSources(dest: string): Promise<string> {
  await Deno.mkdir(dest);
  const present = SOURCES.filter((s) => {
    try {
      Deno.lstatSync(`${ROOT}/${s}`);
      return true;
    } catch {
      return false;
    }
  });
  const cp = await new Deno.Command("cp", { args: ["-a", ...present, dest], cwd: ROOT }).output();
  if (!cp.success) throw new Error(`cp failed: ${new TextDecoder().decode(cp.stderr)}`);
  await Deno.symlink(`${ROOT}/node_modules`, `${dest}/node_modules`);
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const rel of await filesUnder(dest)) {
    if (rel.startsWith("node_modules/")) continue;
    parts.push(enc.encode(`${rel}\0`), await Deno.readFile(`${dest}/${rel}`));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  await Deno.writeTextFile(`${dest}/${PROFILER}`, PROFILER_SOURCE);
  return Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The CLI entry point under the V8 sampling profiler: the same `runCli` as
 * `main.ts`, with the profile written to `$BENCH_CPU_PROFILE` before exit.
 * Modules load after the profiler starts, so their evaluation is counted.
 */
const PROFILER_SOURCE = `import { Session } from "node:inspector";
const session = new Session();
session.connect();
const post = (method, params = {}) =>
  new Promise((ok, fail) => session.post(method, params, (e, r) => (e ? fail(e) : ok(r))));
await post("Profiler.enable");
await post("Profiler.setSamplingInterval", { interval: 1000 });
await post("Profiler.start");
const { runCli } = await import("./lib/cli/mod.ts");
const { COMMANDS } = await import("./cmd/mod.ts");
const code = await runCli(Deno.args, COMMANDS);
const { profile } = await post("Profiler.stop");
await Deno.writeTextFile(Deno.env.get("BENCH_CPU_PROFILE"), JSON.stringify(profile));
Deno.exit(code);
`;

/** Write `count` files of MIN_SIZE..MAX_SIZE bytes in TOP_DIRS x SUB_DIRS directories. */
async function makeSmallFiles(dir: string, count: number, seed: number): Promise<Tree> {
  const rand = prng(seed);
  for (let t = 0; t < TOP_DIRS; t++) {
    for (let s = 0; s < SUB_DIRS; s++) await Deno.mkdir(`${dir}/d${t}/s${s}`, { recursive: true });
  }
  let bytes = 0;
  let batch: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const size = MIN_SIZE + Math.floor(rand() * (MAX_SIZE - MIN_SIZE + 1));
    const leaf = i % (TOP_DIRS * SUB_DIRS);
    const path = `${dir}/d${Math.floor(leaf / SUB_DIRS)}/s${leaf % SUB_DIRS}/f${i}.bin`;
    // A distinct stream per file, so no two files share content (no dedup between them).
    const contentSeed = (Math.imul(seed, 0x01000193) ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
    batch.push(Deno.writeFile(path, randomBytes(size, contentSeed)));
    bytes += size;
    if (batch.length === 64) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  return { dir, files: count, dirs: TOP_DIRS * (SUB_DIRS + 1), bytes };
}

/** A tcfs device whose only sync root is the tree, in its own repository in `bucket`. */
interface TcfsDevice {
  device: TestDevice;
  run(args: string[]): Promise<Run>;
  /** Run under the CPU profiler; the profile is read back and deleted. */
  profile(args: string[]): Promise<{ run: Run; profile: CpuProfile }>;
}

async function tcfsDevice(
  s3: S3Service,
  endpoint: string,
  bucket: string,
  tree: Tree,
  src: string,
  scratch: string,
  denoDir: string,
): Promise<TcfsDevice> {
  await s3.createBucket(bucket);
  const device = await makeDevice(bucket, { ...s3, endpoint });
  cleanups.push(() => Deno.removeSync(device.dir, { recursive: true }));
  Object.assign(device.env, {
    TCFS_SYNC_ROOTS: `${tree.dir}=${REMOTE}`,
    // The module cache of this Deno: a fresh HOME would otherwise mean a cold one.
    DENO_DIR: denoDir,
    NO_COLOR: "1",
  });
  const deno = [DENO, "run", "-A", "--unstable-kv"];
  const run = (args: string[]) =>
    timed([...deno, `${src}/main.ts`, ...args], device.env, s3.pids, scratch);
  await Deno.writeTextFile(`${device.dir}/passphrase`, "sync bench passphrase\n");
  await run(["init", `s3://${bucket}/repo`, "--passphrase-file", `${device.dir}/passphrase`]);
  return {
    device,
    run,
    async profile(args) {
      const file = `${scratch}/profile.cpuprofile`;
      const env = { ...device.env, BENCH_CPU_PROFILE: file };
      const r = await timed([...deno, `${src}/${PROFILER}`, ...args], env, s3.pids, scratch);
      const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
      await Deno.remove(file);
      return { run: r, profile };
    },
  };
}

/** The last JSON line a `--json` command printed. */
function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

interface SyncResult {
  uploaded: number;
  downloaded: number;
  stubs: number;
  deletedLocal: number;
  deletedRemote: number;
  renamed: number;
  conflicts: number;
  errors: unknown[];
}

interface StatusResult {
  totals: Record<string, number>;
}

function checkSync(r: Run, want: number, what: string): void {
  const s = lastJson<SyncResult>(r.stdout);
  const changed = s.uploaded + s.downloaded + s.stubs + s.deletedLocal + s.deletedRemote +
    s.renamed + s.conflicts;
  if (s.uploaded !== want || changed !== want || s.errors.length > 0) {
    throw new Error(`${what}: expected ${want} uploads and nothing else, got ${r.stdout.trim()}`);
  }
}

/** Entries the state tracks for the root, from `status --json`; checks all are synced. */
function checkStatus(r: Run, tree: Tree): number {
  const [root] = lastJson<StatusResult[]>(r.stdout);
  const t = root.totals;
  const tracked = t.synced + t.modified + t.stub + t.pinned + t.conflict + t.deleted;
  if (t.synced !== tree.files + tree.dirs || tracked !== t.synced || t.pending !== 0) {
    throw new Error(
      `status after sync: ${JSON.stringify(t)}, want ${tree.files + tree.dirs} synced`,
    );
  }
  return tracked;
}

/** Sizes of the local state files of a device (the Deno KV database and the namespace cache). */
async function stateFiles(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const rel of await filesUnder(dir)) {
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    if (/^state\.kv(-wal|-shm)?$/.test(name) || name === "namespace.cache") {
      out[name] = (await Deno.stat(`${dir}/${rel}`)).size;
    }
  }
  return out;
}

/** Count S3 requests by kind: LIST is a GET on the bucket itself. */
function tally(requests: readonly ProxiedRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    const [path, query = ""] = r.target.split("?", 2);
    const isBucket = path.split("/").filter(Boolean).length === 1;
    const kind = r.method === "GET" && isBucket && /(^|&)(list-type|prefix|delimiter)=/.test(query)
      ? "LIST"
      : r.method;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

function markdown(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
  return [line(rows[0]), line(w.map((n) => "-".repeat(n))), ...rows.slice(1).map(line)].join("\n");
}

function timesTable(rows: Row[]): string {
  const out = [[
    "tool",
    "operation",
    "runs",
    "median s",
    "min-max s",
    "client CPU s",
    "RGW+OSD CPU s",
    "client RSS MiB",
  ]];
  for (const r of rows) {
    const s = r.runs.map((x) => x.seconds);
    const pick = r.runs.find((x) => x.seconds === median(s))!;
    out.push([
      r.tool,
      r.op,
      String(r.runs.length),
      fmt(median(s)),
      `${fmt(Math.min(...s))}-${fmt(Math.max(...s))}`,
      fmt(pick.clientCpu, 1),
      fmt(pick.serverCpu, 1),
      fmt(pick.clientRssMiB, 0),
    ]);
  }
  return markdown(out);
}

async function denoDirOf(): Promise<string> {
  const out = await new Deno.Command(DENO, { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    allowNegative: true,
    options: {
      files: { type: "string", default: "100000" },
      repeat: { type: "string", default: "3" },
      seed: { type: "string", default: "1" },
      profile: { type: "boolean", default: true },
      json: { type: "boolean", default: false },
      "status-only": { type: "boolean", default: false },
    },
  });
  const statusOnly = values["status-only"];
  const files = Number(values.files);
  const repeat = Number(values.repeat);
  const seed = Number(values.seed);
  if (!(Number.isInteger(files) && files > 0 && Number.isInteger(repeat) && repeat > 0)) {
    throw new TypeError("--files and --repeat must be positive integers");
  }
  const loadBefore = (await Deno.readTextFile("/proc/loadavg")).trim();
  const work = await Deno.makeTempDir({ prefix: "tcfs-bench-sync-" });
  cleanups.push(() => Deno.removeSync(work, { recursive: true }));
  const src = `${work}/src`;
  const fingerprint = await snapshotSources(src);
  const denoDir = await denoDirOf();
  say(`generating ${files} files...`);
  const t0 = performance.now();
  const tree = await makeSmallFiles(`${work}/tree`, files, seed);
  say(`  ${fmt(tree.bytes / 2 ** 20, 1)} MiB in ${fmt((performance.now() - t0) / 1000, 1)} s`);

  // Room for three copies (two tcfs repositories, rclone's) with plenty to spare.
  const s3 = await startCephRgw({
    memstoreBytes: Math.max(DEFAULT_MEMSTORE_BYTES, 8 * tree.bytes),
  });
  const rows: Row[] = [];
  const row = (tool: Row["tool"], op: string) => {
    let r = rows.find((x) => x.tool === tool && x.op === op);
    if (!r) rows.push(r = { tool, op, runs: [] });
    return r;
  };
  const log = (tool: string, op: string, r: Run) =>
    say(`  ${tool} ${op}: ${fmt(r.seconds)} s (client CPU ${fmt(r.clientCpu, 1)} s)`);
  let state: { files: Record<string, number>; entries: number; after: Record<string, number> };
  const profiles: { op: string; run: Run; summary: ProfileSummary }[] = [];
  const requests: { tool: string; op: string; counts: Record<string, number> }[] = [];
  let diagnosticError: string | null = null;
  try {
    const tcfs = await tcfsDevice(s3, s3.endpoint, "tcfs-sync", tree, src, work, denoDir);
    await s3.createBucket("rclone-sync");
    await Deno.mkdir(`${work}/rclone-home`);
    const rcEnv = rcloneEnv("rgw", s3, `${work}/rclone-home`);
    const rclone = (args: string[], env = rcEnv) => timed(["rclone", ...args], env, s3.pids, work);
    const rcloneSync = ["sync", tree.dir, "rgw:rclone-sync/x"];

    say("start-up (version, 3 times each)...");
    for (let i = 0; i < 3; i++) {
      row("tcfs", "start-up (version)").runs.push(await tcfs.run(["version"]));
      row("rclone", "start-up (version)").runs.push(await rclone(["version"]));
    }
    say("first sync:");
    const first = await tcfs.run(["--json", "sync"]);
    checkSync(first, tree.files + tree.dirs, "tcfs first sync");
    row("tcfs", "first sync").runs.push(first);
    log("tcfs", "first sync", first);
    const files0 = await stateFiles(tcfs.device.dir);
    if (!statusOnly) {
      const rFirst = await rclone(rcloneSync);
      row("rclone", "first sync").runs.push(rFirst);
      log("rclone", "first sync", rFirst);
    }

    say(`no-op sync and status, ${repeat} rounds:`);
    let entries = 0;
    for (let i = 0; i < repeat; i++) {
      if (statusOnly) {
        const status = await tcfs.run(["status"]);
        row("tcfs", "status").runs.push(status);
        log("tcfs", "status", status);
        entries = checkStatus(await tcfs.run(["--json", "status"]), tree);
        continue;
      }
      const noop = await tcfs.run(["--json", "sync"]);
      checkSync(noop, 0, "tcfs no-op sync");
      row("tcfs", "no-op sync").runs.push(noop);
      log("tcfs", "no-op sync", noop);
      const rNoop = await rclone(rcloneSync);
      row("rclone", "no-op sync").runs.push(rNoop);
      log("rclone", "no-op sync", rNoop);
      // Not a default: compares MD5s (local files read, ETags from the listing), no HEAD per file.
      const rSum = await rclone([...rcloneSync, "--checksum"]);
      row("rclone", CHECKSUM_NOOP).runs.push(rSum);
      log("rclone", CHECKSUM_NOOP, rSum);
      const status = await tcfs.run(["status"]);
      row("tcfs", "status").runs.push(status);
      log("tcfs", "status", status);
      const json = await tcfs.run(["--json", "status"]);
      entries = checkStatus(json, tree);
      row("tcfs", "status --json").runs.push(json);
    }
    state = { files: files0, entries, after: await stateFiles(tcfs.device.dir) };

    // A failure here (it is the longest part) must not lose the timed figures above.
    if (values.profile && !statusOnly) {
      try {
        say("diagnostic round (through FaultProxy, tcfs under the CPU profiler):");
        await using proxy = await FaultProxy.start(s3.endpoint);
        const diag = await tcfsDevice(s3, proxy.endpoint, "tcfs-diag", tree, src, work, denoDir);
        const steps: [string, string[], number | null][] = [
          ["first sync", ["--json", "sync"], tree.files + tree.dirs],
          ["no-op sync", ["--json", "sync"], 0],
          ["status", ["status"], null],
        ];
        for (const [op, args, want] of steps) {
          proxy.resetCounts();
          const { run, profile } = await diag.profile(args);
          if (want !== null) checkSync(run, want, `profiled tcfs ${op}`);
          requests.push({ tool: "tcfs", op, counts: tally(proxy.requests) });
          profiles.push({ op, run, summary: summarizeProfile(profile, `file://${src}/`) });
          log("tcfs (profiled, proxied)", op, run);
        }
        const viaProxy = rcloneEnv(
          "rgw",
          { ...s3, endpoint: proxy.endpoint },
          `${work}/rclone-home`,
        );
        for (const [op, extra] of [["no-op sync", []], [CHECKSUM_NOOP, ["--checksum"]]] as const) {
          proxy.resetCounts();
          const counted = await rclone([...rcloneSync, ...extra], viaProxy);
          requests.push({ tool: "rclone", op, counts: tally(proxy.requests) });
          log("rclone (proxied)", op, counted);
        }
      } catch (err) {
        diagnosticError = (err as Error).message;
        say(`diagnostic round failed: ${diagnosticError}`);
      }
    }
  } finally {
    await s3.stop();
  }

  const med = (tool: Row["tool"], op: string) => median(row(tool, op).runs.map((r) => r.seconds));
  if (statusOnly) {
    const s = med("tcfs", "status");
    console.log(
      `tcfs (sources ${fingerprint}), status only; ${tree.files} files, ${tree.dirs} dirs;` +
        ` load before: ${loadBefore}, after: ${
          (await Deno.readTextFile("/proc/loadavg")).trim()
        }\n`,
    );
    console.log(timesTable(rows) + "\n");
    console.log(`status < 2 s: ${fmt(s)} s (median of ${repeat}): ${s < 2 ? "yes" : "NO"}`);
    return;
  }
  const noopRatio = med("rclone", "no-op sync") / med("tcfs", "no-op sync");
  const status = med("tcfs", "status");
  const env = {
    deno: Deno.version.deno,
    rclone: await rcloneVersion(),
    cpus: navigator.hardwareConcurrency,
    loadBefore,
    loadAfter: (await Deno.readTextFile("/proc/loadavg")).trim(),
    tcfsSources: fingerprint,
    tree: { files: tree.files, dirs: tree.dirs, bytes: tree.bytes, seed },
  };
  if (values.json) {
    console.log(
      JSON.stringify({ env, rows, state, requests, profiles, diagnosticError }, null, 2),
    );
    return;
  }
  console.log(
    `tcfs (sources ${fingerprint}) vs ${env.rclone} on Ceph RGW (memstore), deno ${env.deno}, ` +
      `${env.cpus} CPUs; ${tree.files} files of ${MIN_SIZE}-${MAX_SIZE} B (seed ${seed}), ` +
      `${
        fmt(tree.bytes / 2 ** 20, 1)
      } MiB, ${tree.dirs} dirs; load (1/5/15 min) before: ${loadBefore}, after: ${env.loadAfter}\n`,
  );
  console.log(timesTable(rows) + "\n");
  const targets = [
    ["target", "measured", "met"],
    [
      "no-op sync >= 5x faster than rclone's no-op",
      `${fmt(noopRatio, 1)}x (${fmt(med("tcfs", "no-op sync"))} s vs ` +
      `${fmt(med("rclone", "no-op sync"))} s)`,
      noopRatio >= 5 ? "yes" : "NO",
    ],
    ["status < 2 s", `${fmt(status)} s`, status < 2 ? "yes" : "NO"],
    [
      "(no target) no-op sync vs rclone --checksum",
      `${fmt(med("rclone", CHECKSUM_NOOP) / med("tcfs", "no-op sync"), 1)}x`,
      "-",
    ],
    [
      "(no target) first sync, rclone/tcfs",
      `${fmt(med("rclone", "first sync") / med("tcfs", "first sync"), 2)}x`,
      "-",
    ],
  ];
  console.log(markdown(targets) + "\n");
  const stateRows = [[
    "file",
    "after first sync B",
    "per entry B",
    "after no-ops B",
    "per entry B",
  ]];
  for (const name of new Set([...Object.keys(state.files), ...Object.keys(state.after)])) {
    const a = state.files[name] ?? 0;
    const b = state.after[name] ?? 0;
    stateRows.push([
      name,
      String(a),
      fmt(a / state.entries, 1),
      String(b),
      fmt(b / state.entries, 1),
    ]);
  }
  const kv = (f: Record<string, number>) =>
    Object.entries(f).filter(([n]) => n.startsWith("state.kv")).reduce((s, [, v]) => s + v, 0);
  stateRows.push([
    "Deno KV total",
    String(kv(state.files)),
    fmt(kv(state.files) / state.entries, 1),
    String(kv(state.after)),
    fmt(kv(state.after) / state.entries, 1),
  ]);
  console.log(`local state for ${state.entries} tracked entries (files + dirs):\n`);
  console.log(markdown(stateRows) + "\n");
  if (requests.length > 0) {
    const kinds = ["PUT", "GET", "HEAD", "LIST", "POST", "DELETE"];
    const reqRows = [["tool", "operation", ...kinds, "total"]];
    for (const r of requests) {
      const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
      reqRows.push([r.tool, r.op, ...kinds.map((k) => String(r.counts[k] ?? 0)), String(total)]);
    }
    console.log("S3 requests (diagnostic round):\n\n" + markdown(reqRows) + "\n");
  }
  if (diagnosticError) console.log(`diagnostic round FAILED: ${diagnosticError}\n`);
  for (const p of profiles) {
    console.log(`### CPU profile: tcfs ${p.op} (${fmt(p.run.seconds)} s wall, profiled)\n`);
    console.log(profileTables(p.summary) + "\n");
  }
}

/** The parts of a V8 `.cpuprofile` read here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** V8's pseudo-frames: time not spent in any function. */
const PSEUDO_FRAMES = new Set(["(root)", "(program)", "(idle)", "(garbage collector)"]);

/** Steps of a sync or status run, by function name and source file, shown whatever their CPU. */
const PHASES: [string, string][] = [
  ["runCli", "lib/cli/run.ts"],
  ["openConfiguredRepository", "lib/app/repository.ts"],
  ["openState", "lib/app/sync.ts"],
  ["refreshNamespace", "lib/sync/engine.ts"],
  ["load", "lib/state/namespace_cache.ts"],
  ["refresh", "lib/repo/repository.ts"],
  ["syncRoot", "lib/sync/engine.ts"],
  ["listEntries", "lib/state/state_store.ts"],
  ["scanRoot", "lib/sync/scan.ts"],
  ["planSync", "lib/sync/plan.ts"],
  ["knownChunks", "lib/sync/engine.ts"],
  ["applyActions", "lib/sync/apply.ts"],
  ["storeFile", "lib/engine/upload.ts"],
  ["flush", "lib/repo/chunk_writer.ts"],
  ["commit", "lib/repo/repository.ts"],
  ["writeEntries", "lib/state/state_store.ts"],
  ["save", "lib/state/namespace_cache.ts"],
  ["rootStatus", "lib/sync/status.ts"],
];

/** Seconds per function, per file, and when tcfs's own functions ran. */
interface ProfileSummary {
  /** Profile span, s. */
  wall: number;
  /** Self time of V8's pseudo-frames: (program), (idle), (garbage collector). */
  special: Record<string, number>;
  /** Functions of the tcfs sources: first and last sample on the stack (s from start), CPU s. */
  timeline: { fn: string; first: number; last: number; cpu: number }[];
  /** Self time by function. */
  topSelf: { fn: string; seconds: number }[];
  /** Self time by source file. */
  byFile: { file: string; seconds: number }[];
}

function top<T>(m: Map<string, number>, n: number, make: (k: string, v: number) => T): T[] {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => make(k, v));
}

/** Summarise a profile; `srcUrl` is the file URL of the tcfs sources (ends with "/"). */
function summarizeProfile(p: CpuProfile, srcUrl: string): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fileOf = (url: string) =>
    url.startsWith(srcUrl)
      ? url.slice(srcUrl.length)
      : url.replace(/^.*\/node_modules\/(\.deno\/)?/, "npm:").replace(/^file:\/\/.*\//, "");
  const label = (f: CpuProfile["nodes"][number]["callFrame"]) =>
    f.url
      ? `${f.functionName || "(anonymous)"} ${fileOf(f.url)}:${f.lineNumber + 1}`
      : f.functionName;
  const ours = (url: string) =>
    url.startsWith(srcUrl) && !url.includes("/node_modules/") && !url.endsWith(PROFILER);
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const special: Record<string, number> = {};
  const span = new Map<string, { first: number; last: number; cpu: number }>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1e6;
    const at = (t - p.startTime) / 1e6;
    const leaf = byId.get(p.samples[i])!;
    const name = label(leaf.callFrame);
    if (!leaf.callFrame.url && PSEUDO_FRAMES.has(name)) special[name] = (special[name] ?? 0) + dt;
    else {
      self.set(name, (self.get(name) ?? 0) + dt);
      const file = leaf.callFrame.url ? fileOf(leaf.callFrame.url) : "(no file: ops, V8 builtins)";
      files.set(file, (files.get(file) ?? 0) + dt);
    }
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const key = label(f);
      if (!ours(f.url) || seen.has(key)) continue;
      seen.add(key);
      const s = span.get(key);
      if (s) {
        s.last = at;
        s.cpu += dt;
      } else span.set(key, { first: at, last: at, cpu: dt });
    }
  }
  // The engine's steps (to see when each ran), then the functions that used the most CPU.
  const isPhase = (fn: string) => PHASES.some(([name, file]) => fn.startsWith(`${name} ${file}:`));
  const phases = [...span].filter(([fn]) => isPhase(fn));
  const busiest = [...span].filter(([fn]) => !isPhase(fn)).sort((a, b) => b[1].cpu - a[1].cpu)
    .slice(0, 8);
  return {
    wall: (p.endTime - p.startTime) / 1e6,
    special,
    timeline: [...phases, ...busiest].map(([fn, s]) => ({ fn, ...s }))
      .sort((a, b) => a.first - b.first),
    topSelf: top(self, 12, (fn, seconds) => ({ fn, seconds })),
    byFile: top(files, 10, (file, seconds) => ({ file, seconds })),
  };
}

function profileTables(s: ProfileSummary): string {
  const sampled = s.wall;
  const pct = (x: number) => `${fmt((100 * x) / sampled, 1)}%`;
  const specials = Object.entries(s.special).map(([k, v]) => `${k} ${fmt(v)} s`).join(", ");
  const timeline = [["tcfs function (on the stack)", "first s", "last s", "CPU s"]];
  for (const e of s.timeline) timeline.push([e.fn, fmt(e.first), fmt(e.last), fmt(e.cpu)]);
  const selfRows = [["self time: function", "s", "share"]];
  for (const e of s.topSelf) selfRows.push([e.fn, fmt(e.seconds), pct(e.seconds)]);
  const fileRows = [["self time: file", "s", "share"]];
  for (const e of s.byFile) fileRows.push([e.file, fmt(e.seconds), pct(e.seconds)]);
  return [
    `profiled ${fmt(sampled)} s (from the profiler's start, after Deno's own start-up); ` +
    `pseudo-frames: ${specials}. CPU s counts samples with the function on the stack; an ` +
    `async function's continuation is charged to it alone, not to its awaiting caller.`,
    markdown(timeline),
    markdown(selfRows),
    markdown(fileRows),
  ].join("\n\n");
}

if (import.meta.main) {
  try {
    await main();
  } finally {
    cleanUp();
  }
}
