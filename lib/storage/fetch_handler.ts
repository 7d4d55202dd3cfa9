/**
 * An HTTP handler for the AWS SDK's S3 client over the runtime's `fetch`,
 * used by {@linkcode S3Store} for GETs, and the reading of a response body
 * into one buffer.
 *
 * Why: under Deno the SDK's default handler goes through `node:http`, whose
 * emulated streams hand a body over in many small pieces that the SDK then
 * joins; `fetch` is Deno's native HTTP client, and a body read with a BYOB
 * reader lands directly in a buffer sized by Content-Length. Measured on RGW
 * with 4 MiB objects, 8 in flight: about 1.2 s of client CPU per GiB against
 * 2.1 s (see docs/BENCHMARKS.md, "Transfer: third round").
 *
 * Network failures are given Node-style codes (`ECONNREFUSED`, `ECONNRESET`)
 * so that the shared retry policy treats them as it treats the SDK's.
 *
 * @module
 */

/** The request the SDK hands a handler (the fields this handler reads). */
export interface SdkHttpRequest {
  /** HTTP method. */
  method: string;
  /** `http:` or `https:`. */
  protocol: string;
  /** Host name or address. */
  hostname: string;
  /** Port, when not the protocol's default. */
  port?: number;
  /** Path, already escaped. */
  path: string;
  /** Query parameters (unescaped); `null` for a bare key. */
  query?: Record<string, string | string[] | null>;
  /** Request headers, already signed. */
  headers: Record<string, string>;
  /** Request body, if any. */
  body?: BodyInit | null;
}

/** The response a handler gives the SDK (duck-typed by the SDK). */
export interface SdkHttpResponse {
  /** HTTP status. */
  statusCode: number;
  /** Status text. */
  reason: string;
  /** Headers by lower-case name. */
  headers: Record<string, string>;
  /** The body, unread. */
  body: ReadableStream<Uint8Array> | undefined;
}

/** The SDK's `requestHandler` contract, over `fetch`. */
export class FetchRequestHandler {
  /** Tells the SDK which protocol this handler speaks. */
  readonly metadata: { handlerProtocol: string } = { handlerProtocol: "http/1.1" };

  /**
   * Send `request`; the response body is left for the caller to read. The
   * SDK passes on the caller's `abortSignal` (typed loosely by the SDK).
   */
  async handle(
    request: SdkHttpRequest,
    options: { abortSignal?: AbortSignal | { aborted: boolean } } = {},
  ): Promise<{ response: SdkHttpResponse }> {
    const signal = options.abortSignal instanceof AbortSignal ? options.abortSignal : undefined;
    const query = queryString(request.query ?? {});
    const port = request.port ? `:${request.port}` : "";
    const url = `${request.protocol}//${request.hostname}${port}${request.path}${query}`;
    const bodyless = request.method === "GET" || request.method === "HEAD";
    let res: Response;
    try {
      res = await fetch(url, {
        method: request.method,
        headers: request.headers,
        body: bodyless ? undefined : request.body,
        signal,
      });
    } catch (err) {
      throw signal?.aborted ? err : networkError(err);
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => headers[name] = value);
    return {
      response: {
        statusCode: res.status,
        reason: res.statusText,
        headers,
        body: res.body ?? undefined,
      },
    };
  }

  /** Part of the SDK's handler contract; this handler has no settings to change. */
  updateHttpClientConfig(): void {}

  /** Part of the SDK's handler contract: no settings. */
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  /** Part of the SDK's handler contract: `fetch` keeps no state of this handler's. */
  destroy(): void {}
}

/**
 * The whole of `body`, read into one buffer of `length` bytes (the response's
 * Content-Length) without joining pieces. A body that ends early or runs
 * longer is an error with code `ShortRead` / `LongRead` (retried as a broken
 * transfer would be).
 */
export async function readBody(
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  let out = new Uint8Array(length);
  let at = 0;
  const reader = body.getReader({ mode: "byob" });
  try {
    while (at < length) {
      const { value, done } = await reader.read(out.subarray(at));
      if (done) break;
      // A BYOB read moves the buffer: continue in the returned view's memory.
      out = new Uint8Array(value.buffer as ArrayBuffer);
      at += value.byteLength;
    }
    if (at < length) {
      throw Object.assign(new Error(`short read: ${at} of ${length} bytes`), { code: "ShortRead" });
    }
    const more = await reader.read(new Uint8Array(1));
    if (!more.done) {
      throw Object.assign(new Error(`the body is longer than its ${length} bytes`), {
        code: "LongRead",
      });
    }
    return out;
  } catch (err) {
    reader.cancel().catch(() => {});
    throw (err as { code?: string }).code ? err : networkError(err);
  } finally {
    reader.releaseLock();
  }
}

/** `?k=v&...` with RFC 3986 escaping, or "" for no parameters. */
function queryString(query: Record<string, string | string[] | null>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    const k = escape(key);
    if (value === null) parts.push(k);
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${k}=${escape(v)}`);
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function escape(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A fetch failure as an error the retry policy recognises, the original as its cause. */
function networkError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const code = /refused/i.test(message) ? "ECONNREFUSED" : "ECONNRESET";
  return Object.assign(new Error(`network error: ${message}`, { cause: err }), { code });
}
