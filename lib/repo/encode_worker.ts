/**
 * The worker side of {@link ./encode_pool.ts}: hashes chunks, keeps them
 * until told to encode or drop them, and sends encoded bodies back (moved,
 * not copied). Messages are handled strictly in arrival order, the first
 * being `init`, except that sealing, which WebCrypto runs off this thread,
 * overlaps the next message.
 *
 * @module
 */

import { initBlake3 } from "../hash/mod.ts";
import { type ChunkCoding, chunkIdOf, encodeChunkWith } from "./codec.ts";
import type { FromWorker, ToWorker } from "./encode_pool.ts";

// The worker global scope, typed for what is used here (the default type
// library describes a window, whose postMessage differs).
interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

let coding: ChunkCoding | null = null;
const held = new Map<number, { id: string; plain: Uint8Array }>();
// Each message waits for the previous one's synchronous part (and for init).
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(() => handle(msg)).catch((err) => {
    if ("seq" in msg) scope.postMessage({ op: "failed", seq: msg.seq, error: String(err) });
  });
};

// Messages that arrive while a worker module is still evaluating (its imports
// await WASM instantiation) are lost, so the pool sends nothing before this.
scope.postMessage({ op: "ready" });

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.op) {
    case "init":
      coding = msg.coding;
      // Keyed hashing is faster once the key's state is prepared, and works without.
      if (coding.idKey) await initBlake3(coding.idKey).catch(() => {});
      return;
    case "hash": {
      const id = chunkIdOf(coding!, msg.plain);
      held.set(msg.seq, { id, plain: msg.plain });
      scope.postMessage({ op: "id", seq: msg.seq, id });
      return;
    }
    case "encode":
      encode(msg.seq, held.get(msg.seq));
      held.delete(msg.seq);
      return;
    case "drop":
      held.delete(msg.seq);
      return;
  }
}

// Not awaited by the queue: compression runs now, sealing completes later.
function encode(seq: number, chunk: { id: string; plain: Uint8Array } | undefined): void {
  if (chunk === undefined) throw new Error(`no chunk ${seq} in this worker`);
  encodeChunkWith(coding!, chunk.id, chunk.plain).then(
    (body) => scope.postMessage({ op: "body", seq, body }, [body.buffer]),
    (err) => scope.postMessage({ op: "failed", seq, error: String(err) }),
  );
}
