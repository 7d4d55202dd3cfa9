/**
 * A fault-injecting HTTP/1.1 proxy for tests, placed between an S3 client and
 * a real S3 endpoint on 127.0.0.1.
 *
 * It works on raw TCP and forwards every request byte for byte, Host header
 * included: the client signs its requests for the proxy's address, and since
 * the signature covers the Host header it must arrive unchanged (an HTTP
 * client such as `fetch` would rewrite it). Rules can answer instead of the
 * server (503 SlowDown), hold a request back, or drop the connection; every
 * request is counted by method either way.
 *
 * @module
 */

import {
  bodyFraming,
  closeQuietly,
  ConnReader,
  errorResponse,
  HEAD_END,
  LimitedWriter,
  parseHead,
  relayBody,
  statusOf,
  wantsClose,
  writeAll,
} from "./http1.ts";

/** A request as the proxy saw it. */
export interface ProxiedRequest {
  /** HTTP method, e.g. "GET". */
  method: string;
  /** Request target as sent: path and query, e.g. "/bucket/key?x-id=GetObject". */
  target: string;
  /** Header values by lower-case name. */
  headers: Record<string, string>;
  /** Status returned to the client, once known (undefined after a reset). */
  status?: number;
  /** Kind of fault applied, if any. */
  fault?: Fault["kind"];
}

/** What a matching rule does to a request. */
export type Fault =
  /** Answer with this status and an S3 error body instead of forwarding. */
  | { kind: "respond"; status: number; code: string }
  /** Wait `ms` and/or until `until` settles, then forward normally. */
  | { kind: "delay"; ms?: number; until?: Promise<unknown> }
  /**
   * Drop the client connection: before forwarding, or, with
   * `afterResponseBytes`, after relaying that many bytes of the response.
   */
  | { kind: "reset"; afterResponseBytes?: number };

/** A fault and the requests it applies to. */
export interface FaultRule {
  /** Which requests; default all. */
  match?: (req: ProxiedRequest) => boolean;
  /** What to do to them. */
  fault: Fault;
  /** How many requests to affect before the rule retires; default unlimited. */
  times?: number;
}

/** A rule that was added; lets a test see how often it fired and remove it. */
export interface RuleHandle {
  /** Requests the rule has affected. */
  readonly hits: number;
  /** Stop applying the rule. */
  remove(): void;
}

interface ActiveRule extends FaultRule, RuleHandle {
  hits: number;
}

/** A running fault proxy; stop it with {@linkcode FaultProxy.close} or `await using`. */
export class FaultProxy {
  /** Base URL to point clients at, e.g. "http://127.0.0.1:PORT". */
  readonly endpoint: string;
  #listener: Deno.Listener;
  #upstream: { hostname: string; port: number };
  #rules: ActiveRule[] = [];
  #log: ProxiedRequest[] = [];
  #conns = new Set<Deno.Conn>();
  #handlers = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #stopping = new AbortController();

  private constructor(listener: Deno.Listener, upstream: URL) {
    this.#listener = listener;
    const addr = listener.addr as Deno.NetAddr;
    this.endpoint = `http://${addr.hostname}:${addr.port}`;
    this.#upstream = {
      hostname: upstream.hostname,
      port: Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80)),
    };
    this.#accepting = this.#accept();
  }

  /** Listen on 127.0.0.1 (a free port unless `port` is given) and forward to the http `upstream`. */
  static start(upstream: string, options: { port?: number } = {}): Promise<FaultProxy> {
    const url = new URL(upstream);
    if (url.protocol !== "http:") {
      throw new TypeError(`fault proxy upstream must be http://, got ${upstream}`);
    }
    const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
    return Promise.resolve(new FaultProxy(listener, url));
  }

  /** Apply `rule` to later requests; the first matching live rule wins. */
  addRule(rule: FaultRule): RuleHandle {
    const active: ActiveRule = {
      ...rule,
      hits: 0,
      remove: () => {
        this.#rules = this.#rules.filter((r) => r !== active);
      },
    };
    this.#rules.push(active);
    return active;
  }

  /** Answer the next `times` matching requests with 503 SlowDown. */
  slowDown(times: number, match?: (req: ProxiedRequest) => boolean): RuleHandle {
    return this.addRule({
      match,
      times,
      fault: { kind: "respond", status: 503, code: "SlowDown" },
    });
  }

  /** Answer matching requests with `status` and S3 error `code`. */
  respond(
    status: number,
    code: string,
    times?: number,
    match?: (req: ProxiedRequest) => boolean,
  ): RuleHandle {
    return this.addRule({ match, times, fault: { kind: "respond", status, code } });
  }

  /** Hold matching requests for `ms` milliseconds, or until the promise settles. */
  delay(
    wait: number | Promise<unknown>,
    match?: (req: ProxiedRequest) => boolean,
    times?: number,
  ): RuleHandle {
    const fault: Fault = typeof wait === "number"
      ? { kind: "delay", ms: wait }
      : { kind: "delay", until: wait };
    return this.addRule({ match, times, fault });
  }

  /**
   * Drop the connection of the next `times` matching requests, before
   * forwarding them or, with `afterResponseBytes`, partway through the response.
   *
   * Note: when a reused keep-alive connection closes before any response byte
   * arrives, Deno's HTTP client (fetch and node:http alike) silently sends the
   * request again, even a PUT; the caller's own retry logic never sees that
   * failure. To exercise a caller's retries, cut the response after its head
   * (`afterResponseBytes` of a few hundred) or use a fresh connection.
   */
  reset(
    times: number,
    match?: (req: ProxiedRequest) => boolean,
    afterResponseBytes?: number,
  ): RuleHandle {
    return this.addRule({ match, times, fault: { kind: "reset", afterResponseBytes } });
  }

  /** Remove every rule. */
  clearRules(): void {
    this.#rules = [];
  }

  /** Every request seen since the start or the last {@linkcode resetCounts}. */
  get requests(): readonly ProxiedRequest[] {
    return this.#log;
  }

  /** Requests seen with `method` (any method if omitted). */
  count(method?: string): number {
    return method === undefined
      ? this.#log.length
      : this.#log.filter((r) => r.method === method).length;
  }

  /** Requests seen, by method. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.#log) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  }

  /** Forget the requests seen so far. */
  resetCounts(): void {
    this.#log = [];
  }

  /** Stop listening, drop every connection and wait for the handlers to end. */
  async close(): Promise<void> {
    this.#stopping.abort();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#accepting;
    await Promise.allSettled([...this.#handlers]);
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const handler = this.#serve(conn).finally(() => this.#handlers.delete(handler));
        this.#handlers.add(handler);
      }
    } catch {
      // listener closed
    }
  }

  #take(req: ProxiedRequest): Fault | undefined {
    for (const rule of this.#rules) {
      if (rule.times !== undefined && rule.hits >= rule.times) continue;
      if (rule.match !== undefined && !rule.match(req)) continue;
      rule.hits++;
      return rule.fault;
    }
    return undefined;
  }

  async #serve(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    const from = new ConnReader(client);
    let upstream: { conn: Deno.Conn; reader: ConnReader } | undefined;
    try {
      for (;;) {
        const head = await from.readUntil(HEAD_END);
        if (head === null) return;
        const { start: [method = "", target = ""], headers: reqHeaders } = parseHead(head);
        const req: ProxiedRequest = { method, target, headers: reqHeaders };
        this.#log.push(req);
        const expectContinue = req.headers["expect"]?.toLowerCase() === "100-continue";
        const requestBody = bodyFraming(req.headers, false);
        const fault = this.#take(req);
        req.fault = fault?.kind;
        if (fault?.kind === "reset" && fault.afterResponseBytes === undefined) return;
        if (fault?.kind === "delay") await this.#hold(fault);
        if (fault?.kind === "respond") {
          // With Expect: 100-continue the client may or may not send its body
          // now, so the connection cannot be reused safely.
          if (!expectContinue) await relayBody(from, requestBody, undefined);
          await writeAll(client, errorResponse(fault.status, fault.code, expectContinue));
          req.status = fault.status;
          if (expectContinue || wantsClose(req.headers)) return;
          continue;
        }
        upstream ??= await this.#connectUpstream();
        await writeAll(upstream.conn, head);
        // The body goes up while the answer is awaited: a server may answer
        // "100 Continue" first, or answer early without wanting the body.
        let bodySent = false;
        const sending = relayBody(from, requestBody, upstream.conn).then(() => {
          bodySent = true;
        });
        sending.catch(() => {}); // a broken side surfaces through the reads below
        let response = await upstream.reader.readUntil(HEAD_END);
        while (response !== null && statusOf(response) < 200) {
          if (expectContinue && statusOf(response) === 100) await writeAll(client, response);
          response = await upstream.reader.readUntil(HEAD_END);
        }
        if (response === null) return;
        req.status = statusOf(response);
        const headers = parseHead(response).headers;
        const framing = req.method === "HEAD" || req.status === 204 || req.status === 304
          ? { kind: "none" as const }
          : bodyFraming(headers, true);
        const limit = fault?.kind === "reset" ? fault.afterResponseBytes : undefined;
        const sink = limit === undefined ? client : new LimitedWriter(client, limit);
        await writeAll(sink, response);
        await relayBody(upstream.reader, framing, sink);
        if (limit !== undefined) return;
        if (framing.kind === "eof" || wantsClose(headers) || wantsClose(req.headers)) return;
        // A body the server never took leaves the client connection out of step.
        if (!bodySent) return;
      }
    } catch {
      // A broken connection on either side ends this client connection.
    } finally {
      this.#conns.delete(client);
      closeQuietly(client);
      if (upstream !== undefined) {
        this.#conns.delete(upstream.conn);
        closeQuietly(upstream.conn);
      }
    }
  }

  /** Wait as the fault says, but never past {@linkcode close}. */
  async #hold(fault: { ms?: number; until?: Promise<unknown> }): Promise<void> {
    const stop = this.#stopping.signal;
    const stopped = new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve()));
    if (fault.ms !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => timer = setTimeout(resolve, fault.ms)),
        stopped,
      ]);
      clearTimeout(timer);
    }
    if (fault.until !== undefined) await Promise.race([fault.until.catch(() => {}), stopped]);
    if (stop.aborted) throw new Error("proxy closed");
  }

  async #connectUpstream(): Promise<{ conn: Deno.Conn; reader: ConnReader }> {
    const conn = await Deno.connect(this.#upstream);
    this.#conns.add(conn);
    return { conn, reader: new ConnReader(conn) };
  }
}
