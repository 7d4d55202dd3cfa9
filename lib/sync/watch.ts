/**
 * `--watch`: run a round, then wait for a local change (debounced) or the
 * poll interval, and run again, until SIGINT/SIGTERM.
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import { TEMP_PREFIX } from "./local_fs.ts";

/** Quiet time after the last local change before a round starts. */
const DEBOUNCE_MS = 1000;

/** Run `round` now and again on changes under `dirs` or every `pollMs`. */
export async function watchLoop(
  dirs: string[],
  pollMs: number,
  round: () => Promise<void>,
  log: Logger,
): Promise<void> {
  const watcher = Deno.watchFs(dirs, { recursive: true });
  let stop = false;
  let dirty = false;
  let wake: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poke = (delay: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => wake?.(), delay);
  };
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  (async () => {
    for await (const event of watcher) {
      // Our own temp files and stubs being written are not changes to react to.
      if (event.paths.every((p) => p.slice(p.lastIndexOf("/") + 1).startsWith(TEMP_PREFIX))) {
        continue;
      }
      dirty = true;
      poke(DEBOUNCE_MS);
    }
  })().catch(() => {});
  try {
    while (!stop) {
      dirty = false;
      try {
        await round();
      } catch (err) {
        log.error("sync round failed; retrying later", { error: (err as Error).message });
      }
      if (stop) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        poke(dirty ? DEBOUNCE_MS : pollMs); // changes made during the round are not missed
      });
    }
  } finally {
    clearTimeout(timer);
    watcher.close();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}
