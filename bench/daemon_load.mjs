// Load generator for bench/daemon.ts, run by Node so that the daemon's Deno
// process is measured without sharing an event loop with its clients.
//
// Usage: node bench/daemon_load.mjs <socket> <proto> <method> <clients> <channels> <seconds>
//
// `clients` loops each call `method` (Status or SyncStatus) back to back;
// they are spread round-robin over `channels` gRPC channels, each with its own
// connection (a local subchannel pool, else grpc-js would share one connection
// between channels with the same target). Prints a JSON line: latencies in
// milliseconds (p50, p99, max), calls, errors, seconds, calls per second and
// Node's CPU share over the window, after a line each when the measured window
// opens and closes (so the caller can sample the daemon's CPU over it).
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [socket, proto, method, clientsArg, channelsArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const channelCount = Number(channelsArg);
const seconds = Number(secondsArg);
const WARMUP_CALLS = 20;

const def = protoLoader.loadSync(proto, { keepCase: true, longs: Number, defaults: true });
const { Tcfs } = grpc.loadPackageDefinition(def).tcfs.v1;
const channels = Array.from(
  { length: channelCount },
  () =>
    new Tcfs(`unix://${socket}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
    }),
);
const request = method === "SyncStatus" ? { path: "", all: false } : {};

function call(client) {
  return new Promise((resolve, reject) =>
    client[method](request, (err, res) => (err ? reject(err) : resolve(res)))
  );
}

await Promise.all(
  channels.map((c) =>
    new Promise((resolve, reject) =>
      c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve()))
    )
  ),
);

const latencies = [];
let errors = 0;
let firstError = "";
let deadline = 0n;
let go;
const opened = new Promise((resolve) => go = resolve);

async function run(client) {
  for (let i = 0; i < WARMUP_CALLS; i++) await call(client);
  return async () => {
    await opened;
    while (process.hrtime.bigint() < deadline) {
      const start = process.hrtime.bigint();
      try {
        await call(client);
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      } catch (err) {
        errors++;
        firstError ||= err.message;
      }
    }
  };
}

// Every loop warms up first; the measured window opens when the last one is done.
const measured = await Promise.all(
  Array.from({ length: clients }, (_, i) => run(channels[i % channelCount])),
);
const loops = measured.map((f) => f());
const t0 = process.hrtime.bigint();
deadline = t0 + BigInt(Math.round(seconds * 1e9));
const cpu0 = process.cpuUsage();
console.log(JSON.stringify({ window: "open" }));
go();
await Promise.all(loops);
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ window: "closed" }));
for (const c of channels) c.close();

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({
  method,
  clients,
  channels: channelCount,
  calls: latencies.length,
  errors,
  firstError,
  seconds: elapsed,
  perSecond: latencies.length / elapsed,
  clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
  p50: pct(0.5),
  p99: pct(0.99),
  max: latencies.at(-1),
}));
