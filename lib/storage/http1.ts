/**
 * Just enough HTTP/1.1 message framing for {@linkcode FaultProxy}: find where
 * heads and bodies end (Content-Length, chunked, until close) so messages can
 * be relayed byte for byte without being re-encoded.
 *
 * @module
 */

/** End of a line. */
export const CRLF: Uint8Array = new Uint8Array([13, 10]);
/** End of a message head. */
export const HEAD_END: Uint8Array = new Uint8Array([13, 10, 13, 10]);
const MAX_HEAD = 64 * 1024;
const latin1 = new TextDecoder("latin1");
const ascii = new TextEncoder();

/** A parsed request or response head. */
export interface MessageHead {
  /** Request line or status line words: [method, target] or [version, status]. */
  start: string[];
  /** Header values by lower-case name. */
  headers: Record<string, string>;
}

/** How the end of a message body is found. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "eof" };

/** Where relayed bytes go. */
export interface Sink {
  /** Write some of `data`; resolves with how many bytes were taken. */
  write(data: Uint8Array): Promise<number>;
}

/** Buffered reads from a connection. */
export class ConnReader {
  #conn: Deno.Conn;
  #buf: Uint8Array = new Uint8Array(0);

  /** Read from `conn`. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes up to and including `delim`; null on a clean EOF before any byte. */
  async readUntil(delim: Uint8Array): Promise<Uint8Array | null> {
    let from = 0;
    for (;;) {
      const at = indexOf(this.#buf, delim, from);
      if (at >= 0) return this.#take(at + delim.length);
      from = Math.max(0, this.#buf.length - delim.length + 1);
      if (this.#buf.length > MAX_HEAD) throw new Error("HTTP head too large");
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new Error("connection closed mid-message");
      }
    }
  }

  /** Up to `max` bytes (at least one); null at EOF. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.#buf.length === 0 && !(await this.#fill())) return null;
    return this.#take(Math.min(max, this.#buf.length));
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const merged = new Uint8Array(this.#buf.length + n);
    merged.set(this.#buf);
    merged.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = merged;
    return true;
  }
}

/** Passes the first `limit` bytes through, then fails: a connection cut mid-response. */
export class LimitedWriter implements Sink {
  #sink: Sink;
  #left: number;

  /** Forward at most `limit` bytes to `sink`. */
  constructor(sink: Sink, limit: number) {
    this.#sink = sink;
    this.#left = limit;
  }

  /** Forward what the limit allows, then throw once it is used up. */
  async write(data: Uint8Array): Promise<number> {
    const part = data.subarray(0, this.#left);
    if (part.length > 0) await writeAll(this.#sink, part);
    this.#left -= part.length;
    if (this.#left === 0) throw new Error("injected reset");
    return data.length;
  }
}

/** Copy one message body, framing bytes included, to `sink` (or discard it). */
export async function relayBody(
  from: ConnReader,
  framing: Framing,
  sink: Sink | undefined,
): Promise<void> {
  const copy = async (length: number) => {
    for (let left = length; left > 0;) {
      const part = await from.readSome(left);
      if (part === null) throw new Error("connection closed mid-body");
      if (sink !== undefined) await writeAll(sink, part);
      left -= part.length;
    }
  };
  switch (framing.kind) {
    case "none":
      return;
    case "length":
      return await copy(framing.length);
    case "eof":
      for (
        let part = await from.readSome(1 << 20);
        part !== null;
        part = await from.readSome(1 << 20)
      ) {
        if (sink !== undefined) await writeAll(sink, part);
      }
      return;
    case "chunked":
      for (;;) {
        const line = await from.readUntil(CRLF);
        if (line === null) throw new Error("connection closed mid-body");
        if (sink !== undefined) await writeAll(sink, line);
        const size = parseInt(latin1.decode(line).split(";")[0].trim(), 16);
        if (!Number.isFinite(size)) throw new Error("bad chunk size");
        if (size === 0) break;
        await copy(size + 2);
      }
      for (;;) { // trailers, ended by an empty line
        const line = await from.readUntil(CRLF);
        if (line === null) throw new Error("connection closed mid-body");
        if (sink !== undefined) await writeAll(sink, line);
        if (line.length === 2) return;
      }
  }
}

/** How the body after a head with `headers` ends. */
export function bodyFraming(headers: Record<string, string>, isResponse: boolean): Framing {
  if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) return { kind: "chunked" };
  const length = headers["content-length"];
  if (length !== undefined) return { kind: "length", length: Number(length) };
  return isResponse ? { kind: "eof" } : { kind: "none" };
}

/** Split a head into its start line words and its headers. */
export function parseHead(head: Uint8Array): MessageHead {
  const lines = latin1.decode(head).split("\r\n");
  const start = lines[0].split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { start, headers };
}

/** Status code of a response head. */
export function statusOf(head: Uint8Array): number {
  return Number(latin1.decode(head.subarray(0, 16)).split(" ")[1]);
}

/** Whether a message asks to close the connection after it. */
export function wantsClose(headers: Record<string, string>): boolean {
  return headers["connection"]?.toLowerCase() === "close";
}

/** A complete S3-style XML error response. */
export function errorResponse(status: number, code: string, close: boolean): Uint8Array {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>injected by the fault proxy</Message></Error>`;
  return ascii.encode(
    `HTTP/1.1 ${status} ${code}\r\ncontent-type: application/xml\r\n` +
      `content-length: ${ascii.encode(body).length}\r\n` +
      (close ? "connection: close\r\n" : "") + `\r\n${body}`,
  );
}

/** Write every byte of `data`. */
export async function writeAll(sink: Sink, data: Uint8Array): Promise<void> {
  for (let n = 0; n < data.length;) n += await sink.write(data.subarray(n));
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Close a connection that may already be closed. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
