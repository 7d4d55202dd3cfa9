/**
 * The worker side of {@link ./encode_pool.ts}: hashes chunks, keeps them
 * until told to encode or drop them, and sends encoded bodies back (moved,
 * not copied); decodes and verifies stored chunks and sends the plaintext
 * back (moved). Messages are handled strictly in arrival order, the first
 * being `init`, except that sealing and opening, which WebCrypto runs off
 * this thread, overlap the next message.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import { initBlake3 } from "../hash/mod.ts";
import { IntegrityError } from "../errors.ts";
import { type ChunkCoding, chunkIdOf, decodeChunkWith, encodeChunkWith } from "./codec.ts";
import type { FromWorker, ToWorker } from "./encode_pool.ts";

let port: MessagePort | null = null;
let coding: ChunkCoding | null = null;
const held = new Map<number, { id: string; plain: Uint8Array }>();
// Each message waits for the previous one's synchronous part (and for init).
let queue: Promise<void> = Promise.resolve();

function send(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

// A listener for as long as the worker lives: it is what keeps it running.
parentPort!.on("message", (msg: ToWorker) => {
  if (msg.op !== "port") return;
  port = msg.port;
  // A web handler: Deno's node-style `on("message")` on a port is far slower.
  port.onmessage = (e: MessageEvent<ToWorker>) => {
    const msg = e.data;
    queue = queue.then(() => handle(msg)).catch((err) => {
      if ("seq" in msg) send({ op: "failed", seq: msg.seq, error: String(err) });
    });
  };
});

// The pool sends nothing before this, so nothing arrives while the imports
// above (which await WASM instantiation) are still being evaluated.
parentPort!.postMessage({ op: "ready" } satisfies FromWorker);

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.op) {
    case "port":
      return;
    case "init":
      coding = msg.coding;
      // Keyed hashing is faster once the key's state is prepared, and works without.
      if (coding.idKey) await initBlake3(coding.idKey).catch(() => {});
      return;
    case "hash": {
      const id = chunkIdOf(coding!, msg.plain);
      held.set(msg.seq, { id, plain: msg.plain });
      send({ op: "id", seq: msg.seq, id });
      return;
    }
    case "encode":
      encode(msg.seq, held.get(msg.seq));
      held.delete(msg.seq);
      return;
    case "drop":
      held.delete(msg.seq);
      return;
    case "decode":
      decode(msg.seq, msg.id, msg.body, msg.size);
      return;
  }
}

// Not awaited by the queue either: while one chunk is being opened, the next one starts.
function decode(seq: number, id: string, body: Uint8Array, size: number): void {
  decodeChunkWith(coding!, id, body, size).then(
    (plain) => {
      // Only a whole buffer moves; a view (an uncompressed payload) goes as a copy.
      const whole = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength;
      const out = whole ? plain : plain.slice();
      send({ op: "plain", seq, plain: out }, [out.buffer as ArrayBuffer]);
    },
    (err) =>
      send({
        op: "failed",
        seq,
        error: String(err.message),
        integrity: err instanceof IntegrityError,
      }),
  );
}

// Not awaited by the queue: compression runs now, sealing completes later.
function encode(seq: number, chunk: { id: string; plain: Uint8Array } | undefined): void {
  if (chunk === undefined) throw new Error(`no chunk ${seq} in this worker`);
  encodeChunkWith(coding!, chunk.id, chunk.plain).then(
    (body) => send({ op: "body", seq, body }, [body.buffer]),
    (err) => send({ op: "failed", seq, error: String(err) }),
  );
}
