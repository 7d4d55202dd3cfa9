/**
 * The daemon under systemd's notify protocol, played by this test: it
 * listens on the `$NOTIFY_SOCKET` it gives the real daemon and checks that
 * `READY=1` comes only when the API socket accepts connections, that SIGTERM
 * brings `STOPPING=1` and exit 0, and that the unit files in
 * packaging/systemd/ pass `systemd-analyze verify` and agree with the code.
 */

import { assert, assertEquals } from "./assert.ts";
import { makeDevice, type TestDevice } from "./fixtures/device.ts";
import { startDaemon } from "./fixtures/daemon.ts";
import { findExecutable, freePort } from "./services/mod.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";
import { chainPaths } from "../lib/secrets/mod.ts";

const UNITS = new URL("../packaging/systemd/", import.meta.url).pathname;

/** One datagram received, and whether the API socket accepted a connection right then. */
interface Notification {
  state: string;
  socketAccepted: boolean;
}

/** Plays systemd's side: a datagram socket that records every notification. */
class NotifyReceiver {
  readonly path: string;
  readonly received: Notification[] = [];
  readonly #conn: Deno.DatagramConn;
  readonly #done: Promise<void>;
  #closed = false;
  #waiters: (() => void)[] = [];

  constructor(dir: string, apiSocket: string) {
    this.path = `${dir}/notify.sock`;
    this.#conn = Deno.listenDatagram({ transport: "unixpacket", path: this.path });
    this.#done = this.#receive(apiSocket);
  }

  async #receive(apiSocket: string) {
    try {
      for await (const [data] of this.#conn) {
        for (const state of new TextDecoder().decode(data).split("\n").filter((l) => l)) {
          // Probe at once, before the daemon can get further: READY must mean "accepting".
          const socketAccepted = await Deno.connect({ transport: "unix", path: apiSocket })
            .then((c) => (c.close(), true), () => false);
          this.received.push({ state, socketAccepted });
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    } catch (err) {
      if (!this.#closed) throw err;
    }
  }

  /** Wait until a notification `state` has been received. */
  async waitFor(state: string, timeoutMs = 60_000): Promise<Notification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find((n) => n.state === state);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no ${state}; received ${JSON.stringify(this.received)}`);
      }
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  async close() {
    this.#closed = true;
    this.#conn.close();
    await this.#done;
  }
}

async function initDevice(name: string): Promise<TestDevice> {
  const d = await makeDevice(name);
  await Deno.mkdir(`${d.dir}/root`);
  d.env.TCFS_SYNC_ROOTS = `${d.dir}/root`;
  // Every daemon serves metrics; a port of its own keeps parallel test files apart.
  d.env.TCFS_DAEMON_METRICS_LISTEN = `127.0.0.1:${freePort()}`;
  await Deno.writeTextFile(`${d.dir}/pass`, "systemd test passphrase\n");
  await d.ok(["init", `file://${d.dir}/repo`, "--passphrase-file", `${d.dir}/pass`]);
  return d;
}

/**
 * The README's recipe, with a host key of the test's own
 * ($SYSTEMD_CREDENTIAL_SECRET) so the machine's is never touched: encrypt an
 * age identity under the name `age-identity`, then decrypt it as
 * `LoadCredentialEncrypted=age-identity:...` does, into a credentials
 * directory readable by its owner only.
 */
async function encryptedCredential(
  dir: string,
): Promise<{ credentials: string; recipient: string }> {
  const creds = findExecutable("systemd-creds", "systemd");
  const env = { SYSTEMD_CREDENTIAL_SECRET: `${dir}/host.secret`, SYSTEMD_LOG_COLOR: "0" };
  const run = async (cmd: string, args: string[]) => {
    const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
      .output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const keygen = await run(findExecutable("age-keygen", "age"), ["-o", `${dir}/keys.txt`]);
  assertEquals(keygen.code, 0, keygen.stderr);
  const recipient = keygen.stderr.match(/age1[0-9a-z]+/)![0];
  const stored = `${dir}/credstore.encrypted/tcfs-age-identity`;
  await Deno.mkdir(`${dir}/credstore.encrypted`, { mode: 0o700 });
  const enc = await run(creds, [
    "encrypt",
    "--with-key=host",
    "--name=age-identity",
    `${dir}/keys.txt`,
    stored,
  ]);
  assertEquals(enc.code, 0, enc.stderr);
  await Deno.remove(`${dir}/keys.txt`);
  // The name is checked on decryption: without --name the file name would be embedded.
  const misnamed = await run(creds, ["decrypt", stored, `${dir}/misnamed`]);
  assertEquals(misnamed.code, 1, "a credential decrypted under another name");
  const credentials = `${dir}/credentials`;
  await Deno.mkdir(credentials, { mode: 0o700 });
  const dec = await run(creds, [
    "decrypt",
    "--name=age-identity",
    stored,
    `${credentials}/age-identity`,
  ]);
  assertEquals(dec.code, 0, dec.stderr);
  await Deno.chmod(`${credentials}/age-identity`, 0o400);
  return { credentials, recipient };
}

Deno.test("under systemd: credential in $CREDENTIALS_DIRECTORY, READY=1, STOPPING=1, exit 0", async (t) => {
  const d = await initDevice("notify");
  const apiSocket = `${d.env.XDG_RUNTIME_DIR}/tcfs/tcfsd.sock`;
  const { credentials, recipient } = await encryptedCredential(d.dir);
  const notify = new NotifyReceiver(d.dir, apiSocket);
  d.env.NOTIFY_SOCKET = notify.path;
  d.env.CREDENTIALS_DIRECTORY = credentials;
  const daemon = await startDaemon(d);
  try {
    await t.step("READY=1 comes once the API socket accepts connections", async () => {
      const ready = await notify.waitFor("READY=1");
      assert(ready.socketAccepted, "READY=1 came before the API socket accepted connections");
      assertEquals(notify.received.map((n) => n.state), ["READY=1"]);
    });

    await t.step("the daemon answers and took its age identity from the credential", async () => {
      const client = await DaemonClient.connect(daemon.socket, 10_000);
      assert(client, "the daemon said READY=1 but does not answer on its socket");
      try {
        assertEquals(Number((await client.daemonStatus()).pid), daemon.pid);
        const cred = await client.credentialStatus();
        assertEquals([cred.step, cred.source], [
          "credentials-directory",
          `${credentials}/age-identity`,
        ]);
      } finally {
        await client.close();
      }
      // The identity is the one encrypted, not some other key found on the way.
      const text = await Deno.readTextFile(`${credentials}/age-identity`);
      assert(text.includes(`public key: ${recipient}`));
    });
  } finally {
    const stopped = await daemon.stop("SIGTERM");
    assertEquals(stopped.code, 0, stopped.stderr);
    await notify.waitFor("STOPPING=1");
    assertEquals(notify.received.map((n) => n.state), ["READY=1", "STOPPING=1"]);
    await notify.close();
    await d.remove();
  }
});

Deno.test("an unusable NOTIFY_SOCKET is logged and the daemon still serves", async () => {
  const d = await initDevice("notify-abstract");
  // Abstract socket names have no file system path, which Deno cannot address.
  d.env.NOTIFY_SOCKET = "@tcfs-test-abstract";
  const daemon = await startDaemon(d);
  try {
    const client = await DaemonClient.connect(daemon.socket, 10_000);
    assert(client, "the daemon does not answer");
    await client.daemonStatus();
    await client.close();
  } finally {
    const stopped = await daemon.stop("SIGTERM");
    assertEquals(stopped.code, 0, stopped.stderr);
    assert(/systemd notify failed/.test(stopped.stderr), stopped.stderr);
    await d.remove();
  }
});

/** `key=value` lines of a unit file's [Service] section (repeated keys keep every value). */
async function serviceSection(file: string): Promise<Map<string, string[]>> {
  const text = await Deno.readTextFile(`${UNITS}${file}`);
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    else if (section === "[Service]" && line && !line.startsWith("#")) {
      const eq = line.indexOf("=");
      const key = line.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

Deno.test("the unit files pass systemd-analyze verify", async () => {
  const analyze = findExecutable("systemd-analyze", "systemd");
  const tmp = await Deno.makeTempDir({ prefix: "tcfs-units-" });
  try {
    for (const [file, user] of [["tcfsd.service", false], ["tcfsd.user.service", true]] as const) {
      // verify insists that ExecStart's binary exists; /usr/bin/tcfs is not installed here.
      const text = (await Deno.readTextFile(`${UNITS}${file}`))
        .replace(/^ExecStart=\/usr\/bin\/tcfs /m, "ExecStart=/bin/true ");
      const copy = `${tmp}/${user ? "tcfsd-user" : "tcfsd"}.service`;
      await Deno.writeTextFile(copy, text);
      await Deno.mkdir(`${tmp}/run`, { recursive: true, mode: 0o700 });
      const out = await new Deno.Command(analyze, {
        args: [...(user ? ["--user"] : []), "verify", copy],
        env: { XDG_RUNTIME_DIR: `${tmp}/run`, SYSTEMD_LOG_COLOR: "0" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const messages = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // Unknown keys and bad values are only warnings, so any output is a failure.
      assertEquals([out.code, messages.trim()], [0, ""], `${file}:\n${messages}`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the unit files agree with the daemon's paths and credential chain", async () => {
  for (const file of ["tcfsd.service", "tcfsd.user.service"]) {
    const unit = await serviceSection(file);
    assertEquals(unit.get("Type"), ["notify"], file);
    assertEquals(unit.get("KillSignal"), ["SIGTERM"], file);
    assertEquals(unit.get("RuntimeDirectory"), ["tcfs"], file);
    assertEquals(unit.get("RuntimeDirectoryMode"), ["0700"], file);
  }
  const system = await serviceSection("tcfsd.service");
  const [id, source] = system.get("LoadCredentialEncrypted")![0].split(":");
  assertEquals(source, "/etc/credstore.encrypted/tcfs-age-identity");
  // systemd puts the credential at $CREDENTIALS_DIRECTORY/<id>: the chain's step 1.
  assertEquals(
    chainPaths({
      CREDENTIALS_DIRECTORY: "/run/credentials/tcfsd.service",
    })["credentials-directory"],
    `/run/credentials/tcfsd.service/${id}`,
  );

  // The system unit's environment is accepted by the config loader and puts the
  // socket in RuntimeDirectory (/run/tcfs), as the user unit's default does
  // ($XDG_RUNTIME_DIR/tcfs).
  const d = await makeDevice("unit-env");
  delete d.env.TCFS_CONFIG; // no config file: the defaults, as on a fresh install
  try {
    const env = Object.fromEntries(
      system.get("Environment")!.map((
        e,
      ) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    assertEquals(env.TCFS_DAEMON_SOCKET, "/run/tcfs/tcfsd.sock");
    Object.assign(d.env, { TCFS_DAEMON_SOCKET: env.TCFS_DAEMON_SOCKET });
    const shown = await d.ok<{ config: { daemon: { socket: string } } }>(["config", "show"]);
    assertEquals(shown.config.daemon.socket, "/run/tcfs/tcfsd.sock");
    delete d.env.TCFS_DAEMON_SOCKET;
    const user = await d.ok<{ config: { daemon: { socket: string } } }>(["config", "show"]);
    assertEquals(user.config.daemon.socket, `${d.env.XDG_RUNTIME_DIR}/tcfs/tcfsd.sock`);
  } finally {
    await d.remove();
  }
});
