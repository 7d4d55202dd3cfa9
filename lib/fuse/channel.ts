/**
 * The /dev/fuse descriptor as a message channel: one request per read, one
 * reply per writev, notifications written from a worker thread.
 *
 * @module
 */

import { Size } from "./abi.ts";
import { encodeOutHeader } from "./codec.ts";
import { Errno } from "./errno.ts";
import { addressOf, errno, hasPollError, libc } from "./libc.ts";

/** Consecutive failed reads of a live connection after which the channel gives up. */
const MAX_READ_FAILURES = 1000;

/** Requests in, replies and notifications out. */
export class Channel {
  private failures = 0;
  private shut = false;
  /** The notification being written; the next one waits for it (see {@linkcode notify}). */
  private notifying: Promise<unknown> = Promise.resolve();

  /** Talk over the open /dev/fuse descriptor `fd`. */
  constructor(readonly fd: number) {}

  /**
   * Stop sending: replies that finish after this are dropped, so none can land
   * on an unrelated file that reuses the descriptor number once it is closed.
   */
  shutdown(): void {
    this.shut = true;
  }

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
   * Send a reply: `error` is a positive errno or 0, `parts` the payload.
   * Resolves 0 when the kernel took it, else the errno of the failed write
   * (ENOENT: the request was interrupted and is gone, which is normal).
   */
  reply(unique: number, error: number, parts: readonly Uint8Array[]): number {
    if (this.shut) return 0;
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
    const n = Number(libc().writev(this.fd, new Uint8Array(iov.buffer), count));
    return n === len ? 0 : n < 0 ? errno() : Errno.EIO;
  }

  /**
   * Send a notification (`code` from NotifyCode). It runs on a worker thread:
   * the kernel may take directory locks held by requests we have yet to answer.
   *
   * Notifications go out one at a time. A blocked one holds a thread of the
   * runtime's blocking pool, the same pool that serves async file I/O and
   * channel reads; sent all at once, a burst of them blocked behind a rename
   * used up the pool, the rename's own file I/O never ran, its reply never
   * went out and the mount deadlocked. One at a time, at most one thread waits.
   */
  notify(code: number, body: Uint8Array): Promise<boolean> {
    const sent = this.notifying.then(async () => {
      if (this.shut) return false;
      const msg = new Uint8Array(Size.OUT_HEADER + body.length);
      msg.set(encodeOutHeader(msg.length, code, 0));
      msg.set(body, Size.OUT_HEADER);
      const n = Number(await libc().writeAsync(this.fd, msg, BigInt(msg.length)));
      return n === msg.length;
    });
    this.notifying = sent.catch(() => {});
    return sent;
  }
}
