/**
 * The FUSE protocol layer's own cost, on the in-memory test file system
 * (lib/fuse/testing/memfs.ts), against the local disk in the same run:
 *
 * - sequential read MB/s of one large file with `dd bs=1M` through the mount
 *   (the page cache dropped at every open, so every byte crosses FUSE) versus
 *   the same bytes in a file on local disk (warm page cache, the best case);
 * - stat latency, us/op, from a perl loop of stat(2) on a mounted file with
 *   attribute and entry TTLs of 0 (every stat is a LOOKUP + GETATTR round
 *   trip) versus a local file;
 * - FUSE passthrough (lib/fuse/testing/backed_fs.ts): the same local file
 *   served by a mount that registers it as a backing file, so the kernel reads
 *   it directly, against the same file system with passthrough off (every
 *   byte read from the local file by the daemon and sent through FUSE), and
 *   stat latency on both (passthrough must not change it). Passthrough needs
 *   root; without it those rows say so.
 *
 * Each figure is the best of several repetitions (the machine is shared);
 * 1 MB = 10^6 bytes.
 *
 * Run: deno run -A bench/fuse.ts [--mib 512] [--reps 3] [--stats 20000]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ROOT_INO } from "../lib/fuse/ops.ts";
import { MemFs } from "../lib/fuse/testing/memfs.ts";
import { BackedFs } from "../lib/fuse/testing/backed_fs.ts";
import { shOk, withMount } from "../lib/fuse/testing/harness.ts";

const MiB = 1024 * 1024;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "512" },
    reps: { type: "string", default: "3" },
    stats: { type: "string", default: "20000" },
  },
});
const mib = Number(values.mib), reps = Number(values.reps), stats = Number(values.stats);

async function ddMBps(path: string): Promise<number> {
  let top = 0;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await shOk(`dd if='${path}' of=/dev/null bs=1M status=none`);
    top = Math.max(top, (mib * MiB) / 1e6 / ((performance.now() - t) / 1000));
  }
  return top;
}

async function statUs(path: string): Promise<number> {
  let top = Infinity;
  for (let r = 0; r < reps; r++) {
    const out = await shOk(
      `perl -MTime::HiRes=time -e '$t = time; for (1..${stats}) { stat($ARGV[0]) or die "stat: $!" } ` +
        `printf "%.3f", (time - $t) / ${stats} * 1e6' '${path}'`,
    );
    top = Math.min(top, Number(out));
  }
  return top;
}

const data = new Uint8Array(mib * MiB);
for (let at = 0; at < data.length; at += 65536) {
  crypto.getRandomValues(data.subarray(at, at + 65536));
}
const dir = await Deno.makeTempDir({ prefix: "tcfs-bench-fuse-" });
try {
  const local = `${dir}/big`;
  await Deno.writeFile(local, data);
  const localRead = await ddMBps(local);
  const localStat = await statUs(local);

  const fs = new MemFs({ attrTtlMs: 0, entryTtlMs: 0, keepCache: false });
  fs.putFile(ROOT_INO, "big", data);
  let fuseRead = 0, fuseStat = 0, cachedRead = 0;
  await withMount(fs, async (mnt) => {
    fuseRead = await ddMBps(`${mnt}/big`);
    fuseStat = await statUs(`${mnt}/big`);
  });
  const cachedFs = new MemFs({ keepCache: true });
  cachedFs.putFile(ROOT_INO, "big", data);
  await withMount(cachedFs, async (mnt) => {
    cachedRead = await ddMBps(`${mnt}/big`);
  });

  /** Read and stat the local file served by a BackedFs mount, with or without passthrough. */
  const backed = async (passthrough: boolean) => {
    const fs = new BackedFs({ attrTtlMs: 0, entryTtlMs: 0 });
    await fs.putBacked(ROOT_INO, "big", local);
    let read = 0, stat = 0, agreed = false;
    await withMount(fs, async (mnt, server) => {
      agreed = server.backing !== undefined;
      read = await ddMBps(`${mnt}/big`);
      stat = await statUs(`${mnt}/big`);
    }, { passthrough });
    return { read, stat, agreed: agreed && fs.passthroughOpens > 0 && fs.ioRequests === 0 };
  };
  const direct = await backed(false);
  const pass = await backed(true);

  const row = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
  console.log(`FUSE protocol layer on memfs, ${mib} MiB file, best of ${reps}`);
  row("sequential read, local disk (warm page cache), MB/s", localRead.toFixed(0));
  row("sequential read, FUSE mount (every byte through FUSE), MB/s", fuseRead.toFixed(0));
  row("  ratio FUSE / local", (fuseRead / localRead).toFixed(2));
  row("sequential read, FUSE mount, keep_cache (2nd+ read), MB/s", cachedRead.toFixed(0));
  row(`stat, local file, us/op (${stats} stats)`, localStat.toFixed(2));
  row("stat, FUSE mount, TTL 0 (LOOKUP+GETATTR), us/op", fuseStat.toFixed(2));
  console.log(`Local file served by a FUSE mount (lib/fuse/testing/backed_fs.ts), best of ${reps}`);
  row("sequential read, no passthrough (daemon reads, FUSE), MB/s", direct.read.toFixed(0));
  row("  ratio no passthrough / local", (direct.read / localRead).toFixed(2));
  if (pass.agreed) {
    row("sequential read, passthrough (kernel reads backing), MB/s", pass.read.toFixed(0));
    row("  ratio passthrough / local", (pass.read / localRead).toFixed(2));
  } else {
    row("sequential read, passthrough", "unavailable (needs root, Linux 6.9+)");
  }
  row("stat, TTL 0, no passthrough, us/op", direct.stat.toFixed(2));
  row("stat, TTL 0, passthrough mount, us/op", pass.stat.toFixed(2));
} finally {
  await Deno.remove(dir, { recursive: true });
}
