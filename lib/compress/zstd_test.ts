import assert from "node:assert/strict";
import { ConfigError, IntegrityError } from "../errors.ts";
import { zstdCompress, zstdDecompress, zstdFrameContentSize } from "./zstd.ts";

/** Compressible but not trivial: text-like lines mixed with pseudo-random bytes. */
function sample(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog 0123456789\n");
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (i >> 12) % 3 === 0 ? x >>> 24 : text[i % text.length];
  }
  return out;
}

/** Run the zstd CLI with `input` on stdin; returns stdout. */
async function zstdCli(args: string[], input: Uint8Array): Promise<Uint8Array> {
  let cmd: Deno.Command;
  try {
    cmd = new Deno.Command("zstd", { args, stdin: "piped", stdout: "piped", stderr: "piped" });
  } catch (e) {
    throw new Error("the zstd CLI is needed for this test: apt-get install zstd", { cause: e });
  }
  const child = cmd.spawn();
  const writing = (async () => {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  })();
  const out = await child.output();
  await writing;
  assert.ok(out.success, `zstd ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

const SIZES = [0, 1, 255, 256, 300, 65_791, 65_792, 1_000_000, 5 * 1024 * 1024 + 3];

Deno.test("round trip; the frame header carries the content size", () => {
  for (const size of SIZES) {
    const data = sample(size, size + 1);
    for (const level of [1, 3, 19, -5]) {
      const frame = zstdCompress(data, level);
      assert.equal(zstdFrameContentSize(frame), size, `size ${size} level ${level}`);
      assert.deepEqual(zstdDecompress(frame, size), data);
    }
  }
  const big = sample(1_000_000, 9);
  assert.ok(zstdCompress(big).length < big.length / 2, "text-like data compresses");
});

Deno.test("results are plain Uint8Arrays (slice copies)", () => {
  const frame = zstdCompress(sample(1000, 1));
  const out = zstdDecompress(frame, 1000);
  assert.equal(Object.getPrototypeOf(frame), Uint8Array.prototype);
  assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
  const copy = out.slice(0, 10);
  copy[0] ^= 0xff;
  assert.notEqual(copy[0], out[0]);
});

Deno.test("the zstd CLI reads our frames", async () => {
  for (const size of [0, 300, 1_000_000]) {
    const data = sample(size, 3);
    const frame = zstdCompress(data);
    assert.deepEqual(await zstdCli(["-d", "-q", "-c"], frame), data);
    // `zstd -lv` reads the header: its decompressed size must be present.
    const dir = await Deno.makeTempDir({ prefix: "tcfs-zstd-" });
    try {
      await Deno.writeFile(`${dir}/f.zst`, frame);
      const list = await new Deno.Command("zstd", { args: ["-lv", `${dir}/f.zst`] }).output();
      const text = new TextDecoder().decode(list.stdout);
      assert.match(text, new RegExp(`Decompressed Size:.*\\(${size} B\\)`), text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("we read the CLI's frames, with and without a declared size", async () => {
  const data = sample(2_000_000, 4);
  const dir = await Deno.makeTempDir({ prefix: "tcfs-zstd-" });
  try {
    // From a file the CLI records the content size; from a pipe it cannot.
    await Deno.writeFile(`${dir}/in`, data);
    const out = await new Deno.Command("zstd", {
      args: ["-q", "-3", "-c", `${dir}/in`],
      stdout: "piped",
    }).output();
    assert.equal(zstdFrameContentSize(out.stdout), data.length);
    assert.deepEqual(zstdDecompress(out.stdout, data.length), data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const piped = await zstdCli(["-q", "-19", "-c"], data);
  assert.equal(zstdFrameContentSize(piped), undefined);
  assert.deepEqual(zstdDecompress(piped, data.length), data);
  assert.deepEqual(zstdDecompress(piped, data.length + 100), data, "a larger bound is fine");
});

Deno.test("output beyond expectedSize is refused", async () => {
  const data = sample(100_000, 5);
  const frame = zstdCompress(data);
  assert.throws(() => zstdDecompress(frame, data.length - 1), IntegrityError);
  assert.throws(() => zstdDecompress(frame, 0), IntegrityError);
  // No declared size (streamed through the CLI): refused while inflating.
  const bomb = await zstdCli(["-q", "-c"], new Uint8Array(64 * 1024 * 1024));
  assert.ok(bomb.length < 10_000);
  assert.throws(
    () => zstdDecompress(bomb, 1024 * 1024),
    (e: unknown) => e instanceof IntegrityError && e.message.includes("1048576"),
  );
});

Deno.test("corrupt input and bad arguments", () => {
  assert.throws(
    () => zstdDecompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 100),
    IntegrityError,
  );
  const frame = zstdCompress(sample(10_000, 6));
  const cut = frame.subarray(0, frame.length - 5);
  assert.throws(() => zstdDecompress(cut, 10_000), IntegrityError);
  assert.throws(() => zstdCompress(new Uint8Array(1), 23), ConfigError);
  assert.throws(() => zstdCompress(new Uint8Array(1), 2.5), ConfigError);
  assert.throws(() => zstdDecompress(frame, -1), ConfigError);
  assert.equal(zstdFrameContentSize(new Uint8Array(3)), undefined);
});
