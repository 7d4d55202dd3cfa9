/**
 * The /dev/fuse descriptor as a message channel: one request per read, one
 * reply per writev, notifications written from a worker thread.
 *
 * @module
 */

import { Size } from "./abi.ts";
import { encodeOutHeader } from "./codec.ts";
import { addressOf, hasPollError, libc } from "./libc.ts";

/** Consecutive failed reads of a live connection after which the channel gives up. */
const MAX_READ_FAILURES = 1000;

/** Requests in, replies and notifications out. */
export class Channel {
  private failures = 0;

  /** Talk over the open /dev/fuse descriptor `fd`. */
  constructor(readonly fd: number) {}

  /**
   * Read one request into `buf` off the event loop. Resolves its length, or
   * -1 once the connection is gone (unmounted or aborted).
   */
  async read(buf: Uint8Array<ArrayBuffer>): Promise<number> {
    while (true) {
      const n = Number(await libc().readAsync(this.fd, buf, BigInt(buf.length)));
      if (n > 0) {
        this.failures = 0;
        return n;
      }
      // errno stayed on the worker thread; a dead connection shows as POLLERR.
      // Otherwise it was EINTR, or ENOENT for a request interrupted before we read it.
      if (hasPollError(this.fd) || ++this.failures > MAX_READ_FAILURES) return -1;
    }
  }

  /**
   * Send a reply: `error` is a positive errno or 0, `parts` the payload. False
   * when the kernel refused it (the request was interrupted and is gone).
   */
  reply(unique: number, error: number, parts: readonly Uint8Array[]): boolean {
    let len = Size.OUT_HEADER;
    for (const p of parts) len += p.length;
    const header = encodeOutHeader(len, -error, unique);
    const iov = new BigUint64Array(2 * (parts.length + 1));
    iov[0] = addressOf(header);
    iov[1] = BigInt(header.length);
    let count = 1;
    for (const p of parts) {
      if (p.length === 0) continue;
      iov[2 * count] = addressOf(p);
      iov[2 * count + 1] = BigInt(p.length);
      count++;
    }
    return Number(libc().writev(this.fd, new Uint8Array(iov.buffer), count)) === len;
  }

  /**
   * Send a notification (`code` from NotifyCode). It runs on a worker thread:
   * the kernel may take directory locks held by requests we have yet to answer.
   */
  async notify(code: number, body: Uint8Array): Promise<boolean> {
    const msg = new Uint8Array(Size.OUT_HEADER + body.length);
    msg.set(encodeOutHeader(msg.length, code, 0));
    msg.set(body, Size.OUT_HEADER);
    const n = Number(await libc().writeAsync(this.fd, msg, BigInt(msg.length)));
    return n === msg.length;
  }
}
