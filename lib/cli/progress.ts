/**
 * A one-line progress bar with rate and ETA, redrawn on stderr when it is a
 * terminal; nothing at all otherwise (logs and pipes stay clean).
 *
 * @module
 */

import type { Progress } from "../engine/mod.ts";

const encoder = new TextEncoder();

/** `1.5 MiB`-style sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[u]}`;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--:--";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const mm = String(m).padStart(2, "0");
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Renders {@link Progress} snapshots as a bar; call {@link done} at the end. */
export class ProgressBar {
  readonly #enabled: boolean;
  readonly #start = Date.now();
  #drawn = false;

  /** A bar that draws only when `enabled` (stderr is a terminal and output is not JSON). */
  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** Draw a snapshot (pass as the engine's progress listener). */
  readonly update = (p: Readonly<Progress>): void => {
    if (!this.#enabled) return;
    const elapsed = (Date.now() - this.#start) / 1000;
    const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
    const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : Infinity;
    const line = `${p.phase.padEnd(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
      `${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytesDone)}/${
        formatBytes(p.bytesTotal)
      } ${formatBytes(rate)}/s ETA ${formatDuration(eta)} ${p.filesDone}/${p.filesTotal} files`;
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    this.#drawn = true;
  };

  /** Clear the bar so that the summary starts on a clean line. */
  done(): void {
    if (this.#drawn) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
  }
}
