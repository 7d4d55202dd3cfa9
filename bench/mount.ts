/**
 * `tcfs mount` against `rclone mount --vfs-cache-mode full`, same Ceph RGW,
 * same run.
 *
 * Run: `deno run -A --unstable-kv --unstable-net bench/mount.ts [--rounds 3] [--big-mib 1024]`
 *
 * Both mounts show the same two files (1 MiB and `--big-mib` MiB of random
 * data): tcfs reads its own encrypted repository (pushed by `tcfs push`),
 * rclone reads plain copies it uploaded itself (`rclone copy`) to the same
 * bucket. tcfs mounts with `--names real` so both show the same names.
 * Every round starts both cold (daemon / rclone restarted, caches deleted),
 * the tools take turns going first, and medians are reported:
 *
 * - open-to-first-byte and open-to-last-byte (full hydration) of each file;
 * - sequential read MB/s of the hydrated big file through the mount (its
 *   page cache dropped first, so every byte crosses FUSE) versus the same
 *   file on local disk (warm page cache: the ceiling);
 * - stat latency (us/op) with kernel attribute caching off on both mounts.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeDevice, type TestDevice } from "../tests/fixtures/device.ts";
import { startDaemon, type TestDaemon } from "../tests/fixtures/daemon.ts";
import { startCephRgw } from "../tests/services/mod.ts";
import { isMounted } from "../lib/fuse/mount.ts";
import { rcloneEnv, rcloneVersion } from "./rclone.ts";

const MIB = 1024 * 1024;
const STATS = 2000;

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    "big-mib": { type: "string", default: "1024" },
  },
});
const rounds = Number(args.values.rounds);
const bigBytes = Number(args.values["big-mib"]) * MIB;

async function sh(script: string, env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    // A clean environment for the reference tool: the caller's could change how it behaves.
    env: env && { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
    clearEnv: env !== undefined,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${script} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds to the first byte and to the last byte of `path`, read sequentially. */
async function firstAndLast(path: string): Promise<{ first: number; full: number }> {
  const buf = new Uint8Array(MIB);
  const start = performance.now();
  using f = await Deno.open(path);
  await f.read(buf.subarray(0, 1));
  const first = performance.now() - start;
  while ((await f.read(buf)) !== null) { /* to the end */ }
  return { first, full: performance.now() - start };
}

/** MB/s of one sequential read of `path` in 1 MiB pieces. */
async function readMBps(path: string, dropCache: boolean): Promise<number> {
  if (dropCache) await sh(`dd if='${path}' iflag=nocache count=0 status=none`);
  const buf = new Uint8Array(MIB);
  let bytes = 0;
  const start = performance.now();
  using f = await Deno.open(path);
  for (let n; (n = await f.read(buf)) !== null;) bytes += n;
  return bytes / MIB / ((performance.now() - start) / 1000);
}

/** Microseconds per stat of `path`. */
function statUs(path: string): number {
  const start = performance.now();
  for (let i = 0; i < STATS; i++) Deno.statSync(path);
  return ((performance.now() - start) * 1000) / STATS;
}

async function waitMounted(dir: string): Promise<void> {
  for (let i = 0; i < 600 && !(await isMounted(dir)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await isMounted(dir))) throw new Error(`${dir} did not get mounted`);
}

interface Tool {
  name: string;
  mount(): Promise<string>;
  unmount(): Promise<void>;
}

function tcfsTool(device: TestDevice, base: string): Tool {
  let daemon: TestDaemon | undefined;
  const mnt = `${base}/tcfs-mnt`;
  return {
    name: "tcfs",
    async mount() {
      await Deno.remove(device.env.TCFS_CACHE_DIR, { recursive: true }).catch(() => {});
      daemon = await startDaemon(device);
      await Deno.mkdir(mnt, { recursive: true });
      await device.ok(["mount", mnt, "--names", "real"]);
      return mnt;
    },
    async unmount() {
      await daemon?.stop("SIGTERM");
      daemon = undefined;
    },
  };
}

function rcloneTool(env: Record<string, string>, base: string): Tool {
  let child: Deno.ChildProcess | undefined;
  const mnt = `${base}/rclone-mnt`;
  const cache = `${base}/rclone-cache`;
  return {
    name: "rclone",
    async mount() {
      await Deno.remove(cache, { recursive: true }).catch(() => {});
      await Deno.mkdir(mnt, { recursive: true });
      child = new Deno.Command("rclone", {
        args: [
          "mount",
          "rgw:bench/rclone",
          mnt,
          "--vfs-cache-mode",
          "full",
          "--cache-dir",
          cache,
          "--attr-timeout",
          "0s",
        ],
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...env },
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitMounted(mnt);
      return mnt;
    },
    async unmount() {
      await sh(`fusermount3 -u '${mnt}'`).catch(() => {});
      try {
        child?.kill("SIGTERM");
      } catch { /* rclone exits by itself once unmounted */ }
      await child?.status;
      child = undefined;
    },
  };
}

async function main(): Promise<void> {
  const load = async () => (await sh("uptime")).trim();
  console.log(`load at start: ${await load()}`);
  console.log(`reference: ${await rcloneVersion()}`);
  await using s3 = await startCephRgw();
  await s3.createBucket("bench");
  const base = await Deno.makeTempDir({ prefix: "tcfs-bench-mount-" });
  const device = await makeDevice("bench-mount", s3);
  device.env.TCFS_CACHE_DIR = `${base}/tcfs-cache`;
  device.env.TCFS_MOUNT_ATTR_TTL_MS = "0";
  const rclone = rcloneEnv("rgw", s3, base);
  const tools = [tcfsTool(device, base), rcloneTool(rclone, base)];
  try {
    const data = `${base}/data`;
    await sh(
      `mkdir -p ${data}; head -c ${MIB} /dev/urandom > ${data}/small.bin
       head -c ${bigBytes} /dev/urandom > ${data}/big.bin`,
    );
    await Deno.writeTextFile(`${base}/pass`, "bench passphrase\n");
    await device.ok(["init", "s3://bench/repo", "--passphrase-file", `${base}/pass`]);
    await device.ok(["push", data, "--to", "/"]);
    await sh(`rclone copy ${data} rgw:bench/rclone`, rclone);

    const rows: Record<string, Record<string, number[]>> = {};
    const note = (tool: string, what: string, v: number) =>
      ((rows[tool] ??= {})[what] ??= []).push(v);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? tools : [...tools].reverse();
      for (const tool of order) {
        const mnt = await tool.mount();
        try {
          // Both list the directory first, as a user opening a file from a listing would.
          for await (const _ of Deno.readDir(mnt)) { /* names only */ }
          for (const [name, label] of [["small.bin", "1 MiB"], ["big.bin", "big"]]) {
            const t = await firstAndLast(`${mnt}/${name}`);
            note(tool.name, `first byte ${label} (ms)`, t.first);
            note(tool.name, `full read ${label} (ms)`, t.full);
          }
          note(tool.name, "hydrated read (MB/s)", await readMBps(`${mnt}/big.bin`, true));
          note(tool.name, "stat (us/op)", statUs(`${mnt}/small.bin`));
        } finally {
          await tool.unmount();
        }
      }
      await readMBps(`${data}/big.bin`, false);
      note("local disk", "hydrated read (MB/s)", await readMBps(`${data}/big.bin`, false));
      note("local disk", "stat (us/op)", statUs(`${data}/small.bin`));
      console.log(`round ${round + 1} done; ${await load()}`);
    }
    const metrics = [...new Set(Object.values(rows).flatMap((r) => Object.keys(r)))];
    const names = Object.keys(rows);
    console.log(
      `\n| medians of ${rounds} rounds, big = ${bigBytes / MIB} MiB | ${names.join(" | ")} |`,
    );
    console.log(`|---|${names.map(() => "---:").join("|")}|`);
    for (const m of metrics) {
      const cells = names.map((n) => rows[n][m] ? median(rows[n][m]).toFixed(1) : "");
      console.log(`| ${m} | ${cells.join(" | ")} |`);
    }
    const mbps = (n: string) => median(rows[n]["hydrated read (MB/s)"]);
    console.log(
      `\ntcfs hydrated read / local disk: ${
        (100 * mbps("tcfs") / mbps("local disk")).toFixed(0)
      }%` +
        `; rclone: ${(100 * mbps("rclone") / mbps("local disk")).toFixed(0)}%`,
    );
    console.log(JSON.stringify(rows));
    console.log(`load at end: ${await load()}`);
  } finally {
    for (const tool of tools) await tool.unmount().catch(() => {});
    await device.remove().catch(() => {});
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

await main();
