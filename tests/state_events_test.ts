/**
 * State events between two devices with daemons on one repository and one
 * real nats-server: a commit on A shows up in B's sync root in under a
 * second (the acceptance of issue 8, measured from the commit record's time
 * to the file being in place on B); with NATS stopped, it still arrives, at
 * B's next poll of the commit records.
 */

import { assert, assertEquals } from "./assert.ts";
import { makeDevice, type TestDevice } from "./fixtures/device.ts";
import { startDaemon, type TestDaemon } from "./fixtures/daemon.ts";
import { startNats } from "./services/mod.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";
import { Repository } from "../lib/repo/mod.ts";
import { openStore } from "../lib/storage/mod.ts";

/** Wait until `path` holds `content`; resolves with the time it took (ms). */
async function arrival(path: string, content: string, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const text = await Deno.readTextFile(path).catch(() => null);
    if (text === content) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${path} did not arrive within ${timeoutMs} ms`);
}

/** The age identities of device `d`. */
async function identitiesOf(d: TestDevice): Promise<string[]> {
  const text = await Deno.readTextFile(`${d.env.XDG_CONFIG_HOME}/tcfs/identity.txt`);
  return text.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-"));
}

/** A client of `daemon`, waiting for its socket to answer. */
async function clientOf(daemon: TestDaemon): Promise<DaemonClient> {
  const client = await DaemonClient.connect(daemon.socket, 10_000);
  assert(client, `no daemon answers on ${daemon.socket}`);
  return client;
}

/** Resolve when `client`'s daemon reports an event of `kind` (from `device`, when given). */
function nextEvent(client: DaemonClient, kind: string, device?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.watch([kind], (e) => {
      if (device && !e.message.includes(device)) return true;
      resolve(e.message);
      return false;
    }).catch(reject);
  });
}

async function setUpDevice(name: string, repoUrl: string, pass: string): Promise<TestDevice> {
  const d = await makeDevice(name);
  await Deno.mkdir(`${d.dir}/root`);
  d.env.TCFS_SYNC_ROOTS = `${d.dir}/root=/shared`;
  await d.ok(["init", repoUrl, "--passphrase-file", pass]);
  return d;
}

Deno.test("a commit on one device reaches the other in under a second, and by polling without NATS", async () => {
  const nats = await startNats();
  const home = await Deno.makeTempDir({ prefix: "tcfs-state-events-" });
  const pass = `${home}/pass`;
  await Deno.writeTextFile(pass, "state events test passphrase\n");
  const repoUrl = `file://${home}/repo`;
  const a = await setUpDevice("a", repoUrl, pass);
  const b = await setUpDevice("b", repoUrl, pass);
  const daemons: TestDaemon[] = [];
  const clients: DaemonClient[] = [];
  try {
    for (const d of [a, b]) d.env.TCFS_NATS_URL = nats.url;
    const bId = (await b.ok<{ device: string }>(["device", "show"])).device;
    // A never syncs by itself (the test drives it); B polls only once an hour, so
    // anything that reaches B within the test came through a state event.
    b.env.TCFS_SYNC_POLL_SECONDS = "3600";
    const daemonA = await startDaemon(a);
    daemons.push(daemonA);
    const clientA = await clientOf(daemonA);
    clients.push(clientA);
    const bOnline = nextEvent(clientA, "remote_online", bId);
    let daemonB = await startDaemon(b, [], { syncLoop: true });
    daemons.push(daemonB);
    await bOnline; // B is subscribed

    const arrivedAt: number[] = [];
    const afterReturn: number[] = [];
    for (let i = 0; i < 5; i++) {
      const content = `version ${i} from A\n`;
      await Deno.writeTextFile(`${a.dir}/root/note-${i}.txt`, content);
      const sync = clientA.sync({});
      await arrival(`${b.dir}/root/note-${i}.txt`, content, 10_000);
      arrivedAt.push(Date.now());
      const [synced] = await sync;
      assertEquals(synced.uploaded, 1);
      // From the return of A's sync (negative: B had it before A's sync returned).
      afterReturn.push(arrivedAt[i] - Date.now());
    }
    // The commit instant is each record's own time (same machine, same clock).
    const repo = await Repository.open(await openStore(repoUrl), {
      identities: await identitiesOf(a),
    });
    const ns = await repo.refresh();
    const latencies = arrivedAt.map((at, i) => at - ns.get(`/shared/note-${i}.txt`)!.time);
    await repo.store.close();
    console.log(
      `state event latency, A's commit to the file in B's root (ms): ${latencies.join(", ")}; ` +
        `after A's sync returned: ${afterReturn.join(", ")}`,
    );
    for (const ms of latencies) assert(ms < 1000, `a commit took ${ms} ms to reach B`);

    // A rename and a delete travel the same way.
    await Deno.rename(`${a.dir}/root/note-0.txt`, `${a.dir}/root/renamed.txt`);
    await Deno.remove(`${a.dir}/root/note-1.txt`);
    await clientA.sync({});
    await arrival(`${b.dir}/root/renamed.txt`, "version 0 from A\n", 10_000);
    const gone = performance.now();
    while (await Deno.stat(`${b.dir}/root/note-1.txt`).then(() => true, () => false)) {
      assert(performance.now() - gone < 10_000, "the deletion did not reach B");
      await new Promise((r) => setTimeout(r, 10));
    }

    // Now without NATS: B polls every second and must still see A's next commit.
    const stoppedB = await daemonB.stop();
    assertEquals(stoppedB.code, 0, stoppedB.stderr);
    daemons.pop();
    b.env.TCFS_SYNC_POLL_SECONDS = "1";
    const bBack = nextEvent(clientA, "remote_online", bId);
    daemonB = await startDaemon(b, [], { syncLoop: true });
    daemons.push(daemonB);
    await bBack;
    await nats.stop();
    await Deno.writeTextFile(`${a.dir}/root/offline.txt`, "written while NATS was down\n");
    await clientA.sync({});
    const polled = await arrival(
      `${b.dir}/root/offline.txt`,
      "written while NATS was down\n",
      20_000,
    );
    console.log(`with NATS stopped, the commit reached B by polling in ${polled.toFixed(0)} ms`);

    const stopped = await daemonB.stop();
    assertEquals(stopped.code, 0, stopped.stderr);
    daemons.pop();
  } finally {
    for (const c of clients) await c.close();
    for (const d of daemons) await d.stop();
    await nats.stop();
    for (const d of [a, b]) await d.remove();
    await Deno.remove(home, { recursive: true });
  }
});
