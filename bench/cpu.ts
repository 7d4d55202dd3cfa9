/**
 * CPU time of other processes (servers, workers, reference tools), read
 * from `/proc/<pid>/stat`, so a benchmark can say where the time went.
 *
 * ```ts
 * const before = cpuSeconds(s3.pids);
 * // ... the measured run ...
 * const serverCpu = cpuSeconds(s3.pids) - before;
 * ```
 *
 * @module
 */

/** User + system CPU seconds used so far by the processes `pids`; one that has exited counts 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // Fields after the parenthesised command name (which may hold spaces): utime, stime at 11, 12.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* exited */ }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}
