/**
 * The HTTP endpoints of a tcfs process for Prometheus and orchestrators:
 *
 * - `GET /metrics`: the registry in the text exposition format 0.0.4;
 * - `GET /healthz`: 200 "ok" while the process runs (liveness);
 * - `GET /readyz`: 200 "ok" when the readiness check passes (for example the
 *   object store answers), else 503 with the reason (readiness);
 * - anything else: 404 (405 for another method on those paths).
 *
 * The server binds a loopback address unless told otherwise: metrics reveal
 * activity, and the readiness reason may name the storage endpoint.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { CONTENT_TYPE } from "./exposition.ts";
import type { Registry } from "./registry.ts";

/**
 * Resolves when the process is ready to serve; rejects with an error whose
 * message says why not. It should stop work when `signal` aborts.
 */
export type ReadinessCheck = (signal: AbortSignal) => Promise<void>;

/** Options of {@linkcode metricsHandler}. */
export interface HandlerOptions {
  /** Metrics to expose. */
  registry: Registry;
  /** Readiness check for `/readyz`; without one the process is always ready. */
  ready?: ReadinessCheck;
  /** Answer 503 when the check has not settled after this long (default 5000 ms). */
  readyTimeoutMs?: number;
}

/** Options of {@linkcode serveMetrics}. */
export interface MetricsServerOptions extends HandlerOptions {
  /** Address to bind (default 127.0.0.1); must be loopback unless {@linkcode allowNonLoopback}. */
  hostname?: string;
  /** TCP port; 0 lets the kernel pick a free one (see {@linkcode MetricsServer.port}). */
  port: number;
  /** Allow binding an address other than loopback (e.g. inside a Kubernetes pod). */
  allowNonLoopback?: boolean;
}

/** A running metrics server. */
export interface MetricsServer {
  /** Address it is bound to. */
  readonly hostname: string;
  /** Port it listens on. */
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stop accepting connections and wait for open requests; idempotent. */
  shutdown(): Promise<void>;
  /** Same as {@linkcode shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 5000;
const MAX_REASON_LENGTH = 300;
const PATHS = new Set(["/metrics", "/healthz", "/readyz"]);

/** Whether `hostname` names the loopback interface (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = host.replace(/^::ffff:/, "");
  const octets = v4.split(".");
  return octets.length === 4 && octets[0] === "127" &&
    octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/** Run the check; undefined when ready, else a one-line reason. */
async function notReadyReason(
  check: ReadinessCheck,
  timeoutMs: number,
): Promise<string | undefined> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(`readiness check timed out after ${timeoutMs} ms`);
    }, timeoutMs);
  });
  const checked = Promise.resolve()
    .then(() => check(abort.signal))
    .then(
      () => undefined,
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        const line = message.split("\n")[0].trim() || "readiness check failed";
        return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH)}...` : line;
      },
    );
  try {
    return await Promise.race([checked, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** The request handler behind {@linkcode serveMetrics}, usable without a socket. */
export function metricsHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const { registry, ready, readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS } = options;
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (!PATHS.has(path)) return text(404, "not found\n");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    if (path === "/healthz") return text(200, "ok\n");
    if (path === "/readyz") {
      const reason = ready === undefined ? undefined : await notReadyReason(ready, readyTimeoutMs);
      return reason === undefined ? text(200, "ok\n") : text(503, `not ready: ${reason}\n`);
    }
    let body: string;
    try {
      body = registry.expose();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return text(500, `collecting metrics failed: ${message.split("\n")[0]}\n`);
    }
    return text(200, body, { "content-type": CONTENT_TYPE });
  };
}

/**
 * Serve `/metrics`, `/healthz` and `/readyz` on `hostname:port`. Throws
 * {@linkcode ConfigError} for a non-loopback address without
 * `allowNonLoopback`, or when the address cannot be bound.
 */
export function serveMetrics(options: MetricsServerOptions): MetricsServer {
  const { hostname = "127.0.0.1", port, allowNonLoopback = false } = options;
  if (!allowNonLoopback && !isLoopbackHostname(hostname)) {
    throw new ConfigError(
      `refusing to serve metrics on ${hostname}, which is not a loopback address: ` +
        `use 127.0.0.1 or allow non-loopback metrics explicitly`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`metrics port ${port} is not a TCP port (0-65535)`);
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {} }, metricsHandler(options));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigError(`cannot serve metrics on ${hostname}:${port}: ${why}`, { cause: e });
  }
  const bound = server.addr;
  const host = bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname;
  let stopping: Promise<void> | undefined;
  const shutdown = () => (stopping ??= server.shutdown());
  return {
    hostname: bound.hostname,
    port: bound.port,
    url: `http://${host}:${bound.port}`,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
