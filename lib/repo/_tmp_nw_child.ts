import { parentPort } from "node:worker_threads";
parentPort!.on("message", (m: { n: number; b?: Uint8Array }) => {
  parentPort!.postMessage({ n: m.n, len: m.b?.length ?? -1 });
});
parentPort!.postMessage({ ready: true });
