/**
 * systemd's notify protocol (`Type=notify`): datagrams such as `READY=1` and
 * `STOPPING=1` sent to the Unix socket named by `$NOTIFY_SOCKET`. Without that
 * variable (not started by systemd) every call does nothing.
 *
 * @module
 */

/** Send one notification; false when there is no notify socket. */
export async function sdNotify(state: string, env = Deno.env.toObject()): Promise<boolean> {
  const target = env.NOTIFY_SOCKET;
  if (!target) return false;
  if (target.startsWith("@")) {
    // Abstract sockets have no path Deno can address; systemd uses a path by default.
    throw new Error("NOTIFY_SOCKET is an abstract socket, which tcfs cannot reach");
  }
  const own = `${Deno.makeTempDirSync({ prefix: "tcfs-notify-" })}/s`;
  const socket = Deno.listenDatagram({ transport: "unixpacket", path: own });
  try {
    await socket.send(new TextEncoder().encode(state), { transport: "unixpacket", path: target });
  } finally {
    socket.close();
    Deno.removeSync(own.slice(0, own.lastIndexOf("/")), { recursive: true });
  }
  return true;
}
