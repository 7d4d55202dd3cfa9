import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { readBody } from "./fetch_handler.ts";

/** A byte stream (as fetch bodies are) delivering `pieces` one per pull. */
function byteStream(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      if (i < pieces.length) return c.enqueue(pieces[i++].slice());
      c.close();
      c.byobRequest?.respond(0); // a pending BYOB read learns of the end this way
    },
  });
}

Deno.test("readBody gathers a body of many pieces into one buffer of its length", async () => {
  const whole = new Uint8Array(300_000).map((_, i) => i % 253);
  const pieces = [whole.subarray(0, 1), whole.subarray(1, 65_537), whole.subarray(65_537)];
  const got = await readBody(byteStream(pieces), whole.length);
  assertEquals(got, whole);
  assertEquals(got.buffer.byteLength, whole.length);
  assertEquals(await readBody(byteStream([]), 0), new Uint8Array(0));
});

Deno.test("readBody refuses a body shorter or longer than its Content-Length", async () => {
  const short = await assertRejects(() => readBody(byteStream([new Uint8Array(10)]), 11));
  assertEquals((short as { code?: string }).code, "ShortRead");
  assert(short.message.includes("10 of 11"), short.message);
  const long = await assertRejects(() => readBody(byteStream([new Uint8Array(12)]), 11));
  assertEquals((long as { code?: string }).code, "LongRead");
});
