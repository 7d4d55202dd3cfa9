// A daemon client written for Node (not Deno), to prove the socket speaks
// plain gRPC: it calls Status, then Watch, printing one JSON line for each
// and for the first Watch event, then exits.
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [socket, proto] = process.argv.slice(2);
const def = protoLoader.loadSync(proto, { keepCase: true, longs: Number, defaults: true });
const { Tcfs } = grpc.loadPackageDefinition(def).tcfs.v1;
const client = new Tcfs(`unix://${socket}`, grpc.credentials.createInsecure());
client.Status({}, (err, status) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(JSON.stringify({ status }));
  const watch = client.Watch({ kinds: [] });
  console.log(JSON.stringify({ watching: true }));
  watch.on("data", (event) => {
    console.log(JSON.stringify({ event }));
    watch.cancel();
    client.close();
    process.exit(0);
  });
  watch.on("error", (e) => {
    if (e.code !== grpc.status.CANCELLED) {
      console.error(e.message);
      process.exit(1);
    }
  });
});
setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 30000);
