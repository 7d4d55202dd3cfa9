import assert from "node:assert/strict";
import { IntegrityError, KeyError } from "../errors.ts";
import { blake3, createBlake3, fromHex, initBlake3, toHex } from "./blake3.ts";

/** The input pattern of the official BLAKE3 test vectors: byte i is i mod 251. */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

function keyFrom(seed: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + seed * 13) & 0xff);
}

/** Sizes around BLAKE3's 64-byte blocks, 1 KiB chunks and the SIMD and heap thresholds. */
const SIZES = [
  0,
  1,
  63,
  64,
  65,
  1023,
  1024,
  1025,
  2048,
  2049,
  3072,
  3073,
  4096,
  4097,
  5121,
  8193,
  16384,
  16385,
  31744,
  65543,
  102400,
  1048579,
  4194304,
];

/** Hash each input with Debian's b3sum (keyed when a key is given), in one run. */
async function b3sum(inputs: Uint8Array[], key?: Uint8Array): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-b3-" });
  try {
    const files: string[] = [];
    for (const [i, data] of inputs.entries()) {
      files.push(`${dir}/${i}`);
      await Deno.writeFile(files[i], data);
    }
    let cmd: Deno.Command;
    try {
      cmd = new Deno.Command("b3sum", {
        args: [...(key ? ["--keyed"] : []), "--no-names", ...files],
        stdin: "piped",
        stdout: "piped",
      });
    } catch (e) {
      throw new Error("b3sum is needed for this test: apt-get install b3sum", { cause: e });
    }
    const child = cmd.spawn();
    const w = child.stdin.getWriter();
    if (key) await w.write(key);
    await w.close();
    const out = await child.output();
    assert.ok(out.success, "b3sum failed");
    return new TextDecoder().decode(out.stdout).trim().split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Feed `data` to a streaming hasher in irregular pieces (including empty ones). */
function streamed(data: Uint8Array, key?: Uint8Array): string {
  const h = createBlake3(key);
  let step = 1;
  for (let at = 0; at < data.length;) {
    const n = Math.min(data.length - at, step);
    h.update(data.subarray(at, at + n));
    h.update(new Uint8Array(0));
    at += n;
    step = (step * 7 + 3) % 150_000;
  }
  return toHex(h.digest());
}

Deno.test("golden digests", () => {
  assert.equal(
    toHex(blake3(new Uint8Array(0))),
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  );
  assert.equal(
    toHex(blake3(pattern(1025))),
    "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
  );
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(
    toHex(blake3(pattern(1025), key)),
    "82223147a9b804a0c3f9a921b8d8aee250d1a51bb76be72152e6d5e8f27349b3",
  );
});

Deno.test("plain one-shot and streaming hashes equal b3sum", async () => {
  const inputs = SIZES.map(pattern);
  const expected = await b3sum(inputs);
  inputs.forEach((data, i) => {
    assert.equal(toHex(blake3(data)), expected[i], `one-shot, ${data.length} bytes`);
    assert.equal(streamed(data), expected[i], `streaming, ${data.length} bytes`);
  });
});

Deno.test("keyed hashes equal b3sum --keyed, before and after initBlake3", async () => {
  const key = keyFrom(1); // not prepared yet: the first calls take the fallback path
  const inputs = SIZES.map(pattern);
  const expected = await b3sum(inputs, key);
  const check = (path: string) =>
    inputs.forEach((data, i) => {
      assert.equal(toHex(blake3(data, key)), expected[i], `${path} one-shot, ${data.length}`);
      assert.equal(streamed(data, key), expected[i], `${path} streaming, ${data.length}`);
    });
  check("fallback");
  await initBlake3(key);
  await initBlake3(key); // idempotent
  check("prepared");
});

Deno.test("interleaved hashers with different keys do not disturb each other", async () => {
  const k1 = keyFrom(2);
  const k2 = keyFrom(3);
  await Promise.all([initBlake3(k1), initBlake3(k2)]);
  const a = pattern(300_000);
  const b = pattern(200_001).reverse();
  const [ea, eb] = await b3sum([a, b]);
  const [ka, kb] = await b3sum([a, b], k1);
  const [ka2] = await b3sum([a], k2);
  const hs = [createBlake3(), createBlake3(), createBlake3(k1), createBlake3(k1), createBlake3(k2)];
  const inputs = [a, b, a, b, a];
  for (let at = 0; at < 300_000; at += 70_000) {
    hs.forEach((h, i) => h.update(inputs[i].subarray(at, at + 70_000)));
    // One-shot hashes in between use the same machinery.
    assert.equal(toHex(blake3(b, k1)), kb);
    assert.equal(toHex(blake3(a)), ea);
  }
  assert.deepEqual(hs.map((h) => toHex(h.digest())), [ea, eb, ka, kb, ka2]);
});

Deno.test("digests are fresh arrays; a finished hasher refuses more input", async () => {
  await initBlake3(keyFrom(4));
  const d1 = blake3(pattern(10_000), keyFrom(4));
  const copy = d1.slice();
  blake3(pattern(20_000), keyFrom(4));
  blake3(pattern(20_000));
  assert.deepEqual(d1, copy);
  assert.equal(d1.length, 32);
  for (const h of [createBlake3(), createBlake3(keyFrom(99))]) {
    h.update(pattern(10));
    h.digest();
    assert.throws(() => h.update(pattern(1)), IntegrityError);
    assert.throws(() => h.digest(), IntegrityError);
  }
});

Deno.test("views at odd offsets hash like copies", async () => {
  const key = keyFrom(5);
  await initBlake3(key);
  const big = pattern(3 * 1024 * 1024 + 77);
  for (const [from, to] of [[1, 5000], [3, 1024 * 1024 + 3], [1025, big.length]]) {
    const view = big.subarray(from, to);
    const copy = view.slice();
    assert.deepEqual(blake3(view), blake3(copy));
    assert.deepEqual(blake3(view, key), blake3(copy, key));
    assert.deepEqual(blake3(view, keyFrom(6)), blake3(copy, keyFrom(6)));
  }
});

Deno.test("keys must be 32 bytes", () => {
  assert.throws(() => blake3(pattern(1), new Uint8Array(31)), KeyError);
  assert.throws(() => createBlake3(new Uint8Array(33)), KeyError);
  assert.throws(() => initBlake3(new Uint8Array(0)), KeyError);
});

Deno.test("hex round trip and rejection of non-hex", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(bytes);
  assert.equal(hex.slice(0, 8), "00010203");
  assert.equal(hex.slice(-4), "feff");
  assert.deepEqual(fromHex(hex), bytes);
  assert.deepEqual(fromHex("ABcd"), new Uint8Array([0xab, 0xcd]));
  assert.deepEqual(fromHex(""), new Uint8Array(0));
  for (const bad of ["abc", "zz", "0x12", " 1"]) assert.throws(() => fromHex(bad), IntegrityError);
});
