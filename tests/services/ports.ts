/**
 * Free TCP ports on the loopback interface for test services.
 *
 * The kernel picks each port (bind to port 0), so two test processes asking at
 * once get different answers; the port is released before the service binds
 * it, so a caller that loses the race sees "address already in use" and should
 * retry with fresh ports (the service starters do).
 *
 * @module
 */

/** Loopback address every test service listens on. */
export const LOOPBACK = "127.0.0.1";

/**
 * Return `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
 *
 * All listeners are held until every port is chosen, so one call never returns
 * the same port twice.
 */
export function freePorts(count: number): number[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`freePorts needs a positive integer count, got ${count}`);
  }
  const listeners: Deno.Listener[] = [];
  try {
    for (let i = 0; i < count; i++) {
      listeners.push(Deno.listen({ hostname: LOOPBACK, port: 0, transport: "tcp" }));
    }
    return listeners.map((l) => (l.addr as Deno.NetAddr).port);
  } finally {
    for (const l of listeners) l.close();
  }
}

/** Return one TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): number {
  return freePorts(1)[0];
}
