/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`) for tests: started in a
 * {@link Sandbox}, scraping one target, stopped with the sandbox.
 *
 * @module
 */

import { freePort, LOOPBACK } from "./ports.ts";
import { findExecutable } from "./process.ts";
import type { Sandbox } from "./sandbox.ts";

const ATTEMPTS = 3;

/** A scrape target as Prometheus reports it. */
export interface Target {
  scrapeUrl: string;
  health: string;
  lastError: string;
  labels: Record<string, string>;
}

/**
 * Start Debian's Prometheus in `sandbox`, scraping `target` (host:port) every
 * second; returns its API base URL. Retries when its port was taken meanwhile.
 */
export async function startPrometheus(sandbox: Sandbox, target: string): Promise<string> {
  const command = findExecutable("prometheus", "prometheus");
  const config = `${sandbox.dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: tcfs",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const daemon = sandbox.spawn({
      name: `prometheus-${attempt}`,
      command,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${sandbox.dir}/data-${attempt}`,
        `--web.listen-address=${LOOPBACK}:${port}`,
        "--log.level=warn",
      ],
    });
    const api = `http://${LOOPBACK}:${port}/api/v1`;
    try {
      await sandbox.waitUntil("Prometheus to answer", async () => {
        const res = await fetch(`http://${LOOPBACK}:${port}/-/ready`);
        await res.body?.cancel();
        return res.ok;
      }, { timeoutMs: 60_000, watch: [daemon] });
      return api;
    } catch (e) {
      if (attempt < ATTEMPTS && /address already in use/.test(daemon.logTail(50))) continue;
      throw e;
    }
  }
}

/** GET a Prometheus API URL and return its `data`. */
export async function apiGet<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = await res.json();
  if (body.status !== "success") throw new Error(`${url}: ${JSON.stringify(body)}`);
  return body.data as T;
}
