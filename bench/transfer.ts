/**
 * tcfs push/pull against `rclone copy` on the same real Ceph RGW, in one run.
 *
 * Run: `deno run -A --unstable-kv bench/transfer.ts [--large-mib 1024] [--small 10000]
 * [--no-count] [--json]`
 *
 * Datasets: one file of mixed data (`bench/data.ts`: random, text-like and
 * zero segments) and a tree of small files (`makeTree` from the tests). For
 * each dataset and tool, into fresh buckets: push (rclone: copy up), pull
 * into a new directory (rclone: copy down), and for the tree a second push
 * of the unchanged tree. Both tools run with their defaults, as separate
 * processes, timed from spawn to exit; the client's CPU time comes from
 * `/usr/bin/time` and the server's from `/proc/<pid>/stat` of radosgw and
 * the OSD. S3 requests are counted in a second, identical round through
 * `FaultProxy` (so that the proxy's own CPU does not slow the timed round).
 * tcfs runs from a copy of its sources taken at the start (fingerprint
 * printed), so the whole run measures one version of the code.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeDevice, type TestDevice } from "../tests/fixtures/device.ts";
import { assertSameTree, makeTree } from "../tests/fixtures/tree.ts";
import { type S3Service, startCephRgw } from "../tests/services/mod.ts";
import { FaultProxy, type ProxiedRequest } from "../lib/storage/fault_proxy.ts";
import { mixedData } from "./data.ts";
import { rcloneEnv, rcloneVersion } from "./rclone.ts";

const MiB = 1024 * 1024;
const ROOT = new URL("..", import.meta.url).pathname;
/** What `tcfs` needs at run time, copied so that edits during a run cannot mix versions. */
const SOURCES = ["main.ts", "deno.json", "deno.lock", "package.json", "cmd", "lib", "proto"];
const DATA_SEED = 0x74636673;

type Tool = "tcfs" | "rclone";
type Op = "push" | "pull" | "re-push";

/** One timed command. */
interface Sample {
  seconds: number;
  clientCpu: number;
  clientMaxRssMiB: number;
  serverCpu: number;
  stdout: string;
}

/** One row of the results. */
interface Row {
  tool: Tool;
  dataset: string;
  op: Op;
  bytes: number;
  timed: Sample;
  /** Seconds a `sync` took right after the operation (dirty pages it left behind). */
  syncAfter: number;
  requests?: Record<string, number>;
}

interface Dataset {
  name: string;
  dir: string;
  bytes: number;
  files: number;
  ops: Op[];
}

/** How to run one tool against one bucket. */
interface Runner {
  tool: Tool;
  run(op: Op, data: Dataset, out: string): Promise<Sample>;
  /** Run `<tool> version`: the cost of starting the tool at all. */
  version(): Promise<Sample>;
}

const cleanups: (() => void)[] = [];
globalThis.addEventListener("unload", () => {
  for (const f of cleanups.splice(0).reverse()) f();
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(sig, () => Deno.exit(130));
}

let running: Deno.ChildProcess | null = null;
cleanups.push(() => {
  try {
    running?.kill("SIGKILL");
  } catch { /* already gone */ }
});

/** CPU seconds (user + system) used so far by each process in `pids`. */
function cpuOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch { /* exited */ }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

async function sync(): Promise<number> {
  const start = performance.now();
  await new Deno.Command("sync").output();
  return (performance.now() - start) / 1000;
}

/** Run `cmd` under /usr/bin/time, measuring wall time and client and server CPU. */
async function measure(
  cmd: string[],
  env: Record<string, string>,
  serverPids: readonly number[],
  timeFile: string,
): Promise<Sample> {
  const server0 = cpuOf(serverPids);
  const start = performance.now();
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%U %S %M", "-o", timeFile, ...cmd],
    // A clean environment: the caller's (AWS_CA_BUNDLE, say) would change how a tool behaves.
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running = child;
  const out = await child.output();
  running = null;
  const seconds = (performance.now() - start) / 1000;
  const serverCpu = cpuOf(serverPids) - server0;
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} exited ${out.code}:\n${dec.decode(out.stderr).slice(-3000)}`);
  }
  const [user, sys, rssKiB] = (await Deno.readTextFile(timeFile)).trim().split("\n").at(-1)!
    .split(" ").map(Number);
  return {
    seconds,
    clientCpu: user + sys,
    clientMaxRssMiB: rssKiB / 1024,
    serverCpu,
    stdout: dec.decode(out.stdout),
  };
}

/** Copy the tcfs sources into `dir`; returns a short fingerprint of their content. */
async function snapshotSources(dir: string): Promise<string> {
  await Deno.mkdir(dir);
  const present: string[] = [];
  for (const name of SOURCES) {
    if (await Deno.lstat(`${ROOT}/${name}`).then(() => true, () => false)) present.push(name);
  }
  const cp = await new Deno.Command("cp", { args: ["-a", ...present, dir], cwd: ROOT }).output();
  if (!cp.success) {
    throw new Error(`copying the sources failed: ${new TextDecoder().decode(cp.stderr)}`);
  }
  await Deno.symlink(`${ROOT}/node_modules`, `${dir}/node_modules`);
  const sum = await new Deno.Command("sh", {
    args: [
      "-c",
      "find . -path ./node_modules -prune -o -type f -print | LC_ALL=C sort | " +
      "xargs -d '\\n' sha256sum | sha256sum",
    ],
    cwd: dir,
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(sum.stdout).slice(0, 12);
}

/** A tcfs device with its own repository in `bucket`, reached at `endpoint`. */
async function tcfsRunner(
  s3: S3Service,
  endpoint: string,
  bucket: string,
  work: string,
  denoDir: string,
): Promise<Runner> {
  await s3.createBucket(bucket);
  const device: TestDevice = await makeDevice(bucket, { ...s3, endpoint });
  cleanups.push(() => Deno.removeSync(device.dir, { recursive: true }));
  // Share the warm module cache: the device's HOME would otherwise mean a cold one.
  device.env.DENO_DIR = denoDir;
  device.env.NO_COLOR = "1";
  const deno = [Deno.execPath(), "run", "-A", "--unstable-kv", `${work}/src/main.ts`, "--json"];
  const passphrase = `${device.dir}/passphrase`;
  await Deno.writeTextFile(passphrase, "bench passphrase\n");
  const init = ["init", `s3://${bucket}/repo`, "--passphrase-file", passphrase];
  await measure([...deno, ...init], device.env, s3.pids, `${work}/time.txt`);
  return {
    tool: "tcfs",
    run(op, data, out) {
      const args = op === "pull"
        ? ["pull", `/${data.name}`, out]
        : ["push", data.dir, "--to", `/${data.name}`];
      return measure([...deno, ...args], device.env, s3.pids, `${work}/time.txt`);
    },
    version: () => measure([...deno, "version"], device.env, s3.pids, `${work}/time.txt`),
  };
}

/** rclone with a remote defined by environment variables, copying into `bucket`. */
async function rcloneRunner(
  s3: S3Service,
  endpoint: string,
  bucket: string,
  work: string,
): Promise<Runner> {
  await s3.createBucket(bucket);
  const home = `${work}/rclone-home-${bucket}`;
  await Deno.mkdir(home);
  const env = rcloneEnv("rgw", { ...s3, endpoint }, home);
  return {
    tool: "rclone",
    run(op, data, out) {
      const remote = `rgw:${bucket}/${data.name}`;
      const args = op === "pull" ? ["copy", remote, out] : ["copy", data.dir, remote];
      return measure(["rclone", ...args], env, s3.pids, `${work}/time.txt`);
    },
    version: () => measure(["rclone", "version"], env, s3.pids, `${work}/time.txt`),
  };
}

/** Classify a request as S3 sees it: LIST is a GET on the bucket, POST is multipart control. */
function requestKind(req: ProxiedRequest): string {
  const [path, query = ""] = req.target.split("?", 2);
  const onBucket = path.split("/").filter((s) => s !== "").length < 2;
  if (req.method === "GET" && onBucket && !/(^|&)(uploads|location|versioning)/.test(query)) {
    return "LIST";
  }
  return req.method;
}

function tally(requests: readonly ProxiedRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    const kind = requestKind(r);
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

async function writeMixedFile(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  for await (const piece of mixedData(DATA_SEED, size, 4 * MiB)) {
    for (let off = 0; off < piece.length;) off += await file.write(piece.subarray(off));
  }
}

/** Regular files and their bytes under `dir` (symlinks not followed). */
async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) {
      const sub = await sizeOf(path);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile) {
      files++;
      bytes += (await Deno.lstat(path)).size;
    }
  }
  return { files, bytes };
}

/** Check a pulled copy: tcfs must reproduce the tree exactly; rclone only regular files. */
async function verify(tool: Tool, data: Dataset, out: string): Promise<void> {
  if (tool === "tcfs") return await assertSameTree(data.dir, out);
  const got = await sizeOf(out);
  if (got.files !== data.files || got.bytes !== data.bytes) {
    throw new Error(
      `rclone pulled ${got.files} files / ${got.bytes} B, want ${data.files} / ${data.bytes}`,
    );
  }
  const diff = await new Deno.Command("diff", { args: ["-rq", data.dir, out] }).output();
  const lines = new TextDecoder().decode(diff.stdout).split("\n").filter((l) => l !== "");
  // rclone skips symlinks and empty directories by design; anything else is a real difference.
  const real = lines.filter((l) => !l.startsWith(`Only in ${data.dir}`));
  if (real.length > 0) throw new Error(`rclone pull differs: ${real.slice(0, 5).join("; ")}`);
}

/** Run every operation of every dataset with both tools; returns rows in run order. */
async function round(
  data: Dataset[],
  runners: Record<string, Record<Tool, Runner>>,
  work: string,
  check: boolean,
  log: (row: Row) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const d of data) {
    for (const op of d.ops) {
      for (const tool of ["tcfs", "rclone"] as const) {
        const out = `${work}/out-${tool}-${d.name}`;
        await sync();
        const timed = await runners[d.name][tool].run(op, d, out);
        const row: Row = {
          tool,
          dataset: d.name,
          op,
          bytes: d.bytes,
          timed,
          syncAfter: await sync(),
        };
        if (op === "pull") {
          if (check) await verify(tool, d, out);
          await Deno.remove(out, { recursive: true });
        }
        rows.push(row);
        log(row);
      }
    }
  }
  return rows;
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function table(rows: Row[]): string {
  const head = [
    "tool",
    "dataset",
    "operation",
    "seconds",
    "MB/s",
    "requests",
    "req/MiB",
    "client CPU s",
    "RGW+OSD CPU s",
    "client RSS MiB",
  ];
  const body = rows.map((r) => {
    const total = r.requests ? Object.values(r.requests).reduce((a, b) => a + b, 0) : NaN;
    return [
      r.tool,
      r.dataset,
      r.op,
      fmt(r.timed.seconds),
      fmt(r.bytes / 1e6 / r.timed.seconds, 1),
      isNaN(total) ? "-" : String(total),
      isNaN(total) ? "-" : fmt(total / (r.bytes / MiB)),
      fmt(r.timed.clientCpu, 1),
      fmt(r.timed.serverCpu, 1),
      fmt(r.timed.clientMaxRssMiB, 0),
    ];
  });
  return markdown([head, ...body]);
}

function markdown(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(cells[0]), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)]
    .join("\n");
}

function ratios(rows: Row[]): string {
  const out = [["dataset", "operation", "tcfs s", "rclone s", "tcfs/rclone", "target", "met"]];
  for (const t of rows.filter((r) => r.tool === "tcfs")) {
    const r = rows.find((x) => x.tool === "rclone" && x.dataset === t.dataset && x.op === t.op)!;
    const ratio = t.timed.seconds / r.timed.seconds;
    const [target, met] = t.op === "re-push"
      ? ["<= 0.10 (10x faster)", ratio <= 0.1]
      : ["<= 1.5", ratio <= 1.5];
    out.push([
      t.dataset,
      t.op,
      fmt(t.timed.seconds),
      fmt(r.timed.seconds),
      fmt(ratio),
      target,
      met ? "yes" : "NO",
    ]);
  }
  return markdown(out);
}

function requestDetail(rows: Row[]): string {
  const kinds = ["PUT", "POST", "GET", "HEAD", "LIST", "DELETE"];
  const out = [["tool", "dataset", "operation", ...kinds, "other"]];
  for (const r of rows) {
    if (!r.requests) continue;
    const other = Object.entries(r.requests).filter(([k]) => !kinds.includes(k))
      .reduce((n, [, v]) => n + v, 0);
    out.push([
      r.tool,
      r.dataset,
      r.op,
      ...kinds.map((k) => String(r.requests![k] ?? 0)),
      String(other),
    ]);
  }
  return markdown(out);
}

/** This Deno's module cache, which the tcfs processes share so that they start warm. */
async function denoCacheDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "large-mib": { type: "string", default: "1024" },
      small: { type: "string", default: "10000" },
      "no-count": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const largeMiB = Number(values["large-mib"]);
  const smallFiles = Number(values.small);
  if (!(largeMiB > 0) || !(smallFiles > 0)) {
    throw new TypeError("--large-mib and --small must be > 0");
  }
  const say = (s: string) => console.error(s);

  const work = await Deno.makeTempDir({ prefix: "tcfs-bench-transfer-" });
  cleanups.push(() => Deno.removeSync(work, { recursive: true }));
  const denoDir = await denoCacheDir();
  const rows: Row[] = [];
  const startup: Record<string, number> = {};
  try {
    const fingerprint = await snapshotSources(`${work}/src`);
    // Fail before minutes of data generation if the copied sources do not even start.
    const main = [Deno.execPath(), "run", "-A", "--unstable-kv", `${work}/src/main.ts`];
    await measure([...main, "version"], { DENO_DIR: denoDir }, [], `${work}/time.txt`);
    say(`generating ${largeMiB} MiB of mixed data and a tree of ${smallFiles} small files...`);
    await Deno.mkdir(`${work}/large`);
    await writeMixedFile(`${work}/large/mixed.bin`, largeMiB * MiB);
    await makeTree(`${work}/small`, { smallFiles });
    const data: Dataset[] = [
      {
        name: "large",
        dir: `${work}/large`,
        ...await sizeOf(`${work}/large`),
        ops: ["push", "pull"],
      },
      {
        name: "small",
        dir: `${work}/small`,
        ...await sizeOf(`${work}/small`),
        ops: ["push", "pull", "re-push"],
      },
    ];
    // Room for the data of both rounds, of both tools (tcfs compresses; rclone does not).
    const total = data.reduce((n, d) => n + d.bytes, 0);
    const s3 = await startCephRgw({ memstoreBytes: Math.max(4 * 1024 ** 3, 5 * total) });
    try {
      const runnersAt = async (endpoint: string, suffix: string) => {
        const out: Record<string, Record<Tool, Runner>> = {};
        for (const d of data) {
          out[d.name] = {
            tcfs: await tcfsRunner(s3, endpoint, `tcfs-${d.name}${suffix}`, work, denoDir),
            rclone: await rcloneRunner(s3, endpoint, `rclone-${d.name}${suffix}`, work),
          };
        }
        return out;
      };
      const log = (r: Row) =>
        say(
          `  ${r.tool} ${r.dataset} ${r.op}: ${fmt(r.timed.seconds)} s` +
            (r.requests ? `, ${JSON.stringify(r.requests)}` : ""),
        );
      say("timed round (direct to RGW):");
      const direct = await runnersAt(s3.endpoint, "");
      for (const tool of ["tcfs", "rclone"] as const) {
        const times: number[] = [];
        for (let i = 0; i < 3; i++) times.push((await direct.small[tool].version()).seconds);
        startup[tool] = Math.min(...times);
      }
      rows.push(...await round(data, direct, work, true, log));
      if (!values["no-count"]) {
        await using proxy = await FaultProxy.start(s3.endpoint);
        const runners = await runnersAt(proxy.endpoint, "-counted");
        say("counting round (through FaultProxy):");
        for (const d of data) {
          for (const op of d.ops) {
            for (const tool of ["tcfs", "rclone"] as const) {
              proxy.resetCounts();
              const out = `${work}/out-${tool}-${d.name}`;
              const counted = await runners[d.name][tool].run(op, d, out);
              if (op === "pull") await Deno.remove(out, { recursive: true });
              const row = rows.find((r) => r.tool === tool && r.dataset === d.name && r.op === op)!;
              row.requests = tally(proxy.requests);
              log({ ...row, timed: counted });
            }
          }
        }
      }
    } finally {
      await s3.stop();
    }
    const env = {
      deno: Deno.version.deno,
      rclone: await rcloneVersion(),
      cpus: navigator.hardwareConcurrency,
      loadavg: (await Deno.readTextFile("/proc/loadavg")).trim(),
      startupSeconds: startup,
      tcfsSources: fingerprint,
      datasets: data.map(({ name, bytes, files }) => ({ name, bytes, files })),
    };
    if (values.json) {
      console.log(JSON.stringify({ env, rows }, null, 2));
      return;
    }
    const desc = data.map((d) => `${d.name}: ${d.files} files, ${fmt(d.bytes / MiB, 1)} MiB`);
    console.log(
      `tcfs vs ${env.rclone} on Ceph RGW, deno ${env.deno}, ${env.cpus} CPUs; ` +
        `${desc.join("; ")}; tcfs sources ${fingerprint}; load after: ${env.loadavg}\n`,
    );
    console.log(table(rows) + "\n");
    console.log(ratios(rows) + "\n");
    if (rows.some((r) => r.requests)) console.log(requestDetail(rows) + "\n");
    const syncs = rows.filter((r) => r.op === "pull")
      .map((r) => `${r.tool} ${r.dataset} ${fmt(r.syncAfter)} s`);
    console.log(`sync right after each pull (dirty pages left behind): ${syncs.join(", ")}`);
    console.log(
      `start-up (\`version\`, best of 3): tcfs ${fmt(startup.tcfs)} s, ` +
        `rclone ${fmt(startup.rclone)} s`,
    );
    for (const r of rows.filter((r) => r.tool === "tcfs" && r.op !== "pull")) {
      const s = JSON.parse(r.timed.stdout.trim().split("\n").at(-1)!);
      console.log(
        `tcfs ${r.dataset} ${r.op}: uploaded ${s.objectsUploaded} objects, ` +
          `${fmt(s.bytesUploaded / MiB, 1)} MiB for ${fmt(r.bytes / MiB, 1)} MiB of files`,
      );
    }
  } finally {
    for (const f of cleanups.splice(0).reverse()) {
      try {
        f();
      } catch { /* best effort: already gone */ }
    }
  }
}

if (import.meta.main) await main();
