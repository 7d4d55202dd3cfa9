import assert from "node:assert/strict";
import fc from "fast-check";
import { IntegrityError, KeyError } from "../errors.ts";
import {
  ENVELOPE_OVERHEAD,
  inspectEnvelope,
  open,
  PLAIN_HEADER_BYTES,
  seal,
  SEALED_HEADER_BYTES,
} from "./envelope.ts";
import { hkdfSync } from "node:crypto";
import { deriveRepoKeys, generateMasterKey, generateRepoId, type RepoKeys } from "./keys.ts";

const enc = new TextEncoder();
const AAD = enc.encode("chunk/5f1e");

async function newKeys(): Promise<RepoKeys> {
  return await deriveRepoKeys(generateMasterKey(), generateRepoId());
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function openError(
  key: CryptoKey | null,
  object: Uint8Array,
  aad: Uint8Array = AAD,
): Promise<Error> {
  try {
    await open(key, object, aad);
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail("open accepted an object it should refuse");
}

Deno.test("encrypted round trip keeps payload and compressed flag", async () => {
  const { dataKey } = await newKeys();
  for (const size of [0, 1, 15, 16, 17, 4096, 1024 * 1024 + 3]) {
    for (const compressed of [false, true]) {
      const payload = randomBytes(size);
      const object = await seal(dataKey, payload, { compressed, aad: AAD });
      assert.equal(object.length, size + ENVELOPE_OVERHEAD);
      const opened = await open(dataKey, object, AAD);
      assert.deepEqual(opened.payload, payload);
      assert.equal(opened.compressed, compressed);
    }
  }
});

Deno.test("encrypted header has the documented layout", async () => {
  const keys = await newKeys();
  const data = await seal(keys.dataKey, enc.encode("abc"), { compressed: true, aad: AAD });
  assert.deepEqual([...data.subarray(0, 8)], [0x54, 0x43, 0x46, 0x45, 1, 0x03, 1, 0]);
  assert.equal(ENVELOPE_OVERHEAD, 36);
  const meta = await seal(keys.metaKey, enc.encode("abc"), { compressed: false, aad: AAD });
  assert.deepEqual([...meta.subarray(0, 8)], [0x54, 0x43, 0x46, 0x45, 1, 0x02, 2, 0]);
  assert.deepEqual(inspectEnvelope(meta), {
    version: 1,
    compressed: false,
    encrypted: true,
    keyKind: "meta",
    payloadBytes: 3,
  });
  // An explicit kind overrides the derived one.
  const labelled = await seal(keys.dataKey, enc.encode("abc"), {
    compressed: false,
    aad: AAD,
    keyKind: "meta",
  });
  assert.equal(labelled[6], 2);
});

Deno.test("an object built by hand from the documented layout opens, and vice versa", async () => {
  const master = generateMasterKey();
  const repoId = generateRepoId();
  const keys = await deriveRepoKeys(master, repoId);
  const raw = new Uint8Array(hkdfSync("sha256", master, repoId, "tcfs v1 meta", 32));
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  const context = enc.encode("manifest/42");
  const payload = enc.encode('{"a":1}');
  // magic "TCFE", version 1, flags compressed|encrypted, key kind meta, reserved, nonce
  const header = new Uint8Array([
    0x54,
    0x43,
    0x46,
    0x45,
    1,
    3,
    2,
    0,
    ...new Uint8Array(12).fill(7),
  ]);
  const additionalData = new Uint8Array([...header, ...context]);
  const iv = header.subarray(8);
  const body = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, payload),
  );
  const opened = await open(keys.metaKey, new Uint8Array([...header, ...body]), context);
  assert.deepEqual(opened.payload, payload);
  assert.equal(opened.compressed, true);
  // And the reverse: what seal writes decrypts by the documented recipe.
  const ours = await seal(keys.metaKey, payload, { compressed: false, aad: context });
  const plain = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: ours.subarray(8, 20),
      additionalData: new Uint8Array([...ours.subarray(0, 20), ...context]),
    },
    key,
    ours.subarray(20),
  );
  assert.deepEqual(new Uint8Array(plain), payload);
});

Deno.test("sealing the same payload twice uses fresh nonces", async () => {
  const { dataKey } = await newKeys();
  const a = await seal(dataKey, enc.encode("same"), { compressed: false, aad: AAD });
  const b = await seal(dataKey, enc.encode("same"), { compressed: false, aad: AAD });
  assert.notDeepEqual(
    a.subarray(PLAIN_HEADER_BYTES, SEALED_HEADER_BYTES),
    b.subarray(PLAIN_HEADER_BYTES, SEALED_HEADER_BYTES),
  );
  assert.notDeepEqual(a, b);
});

Deno.test("unencrypted mode: 8-byte header, payload as is, flag kept", async () => {
  const payload = enc.encode("plain payload");
  for (const compressed of [false, true]) {
    const object = await seal(null, payload, { compressed, aad: AAD });
    assert.equal(object.length, payload.length + PLAIN_HEADER_BYTES);
    assert.deepEqual([...object.subarray(0, 8)], [
      0x54,
      0x43,
      0x46,
      0x45,
      1,
      compressed ? 1 : 0,
      0,
      0,
    ]);
    assert.deepEqual(object.subarray(8), payload);
    const opened = await open(null, object, AAD);
    assert.deepEqual(opened.payload, payload);
    assert.equal(opened.compressed, compressed);
    assert.equal(inspectEnvelope(object).keyKind, null);
  }
});

Deno.test("changing any single byte of an encrypted object makes it fail to open", async () => {
  const { dataKey } = await newKeys();
  const object = await seal(dataKey, randomBytes(40), { compressed: true, aad: AAD });
  // Covers magic, version, flags, key kind, reserved, nonce, ciphertext and tag.
  for (let i = 0; i < object.length; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = new Uint8Array(object);
      bad[i] ^= mask;
      const err = await openError(dataKey, bad);
      assert.ok(err instanceof IntegrityError, `byte ${i} ^ ${mask}: ${err}`);
    }
  }
});

Deno.test("failures name what is wrong", async () => {
  const { dataKey, metaKey } = await newKeys();
  const object = await seal(dataKey, enc.encode("x"), { compressed: false, aad: AAD });
  const at = (i: number, v: number) => {
    const bad = new Uint8Array(object);
    bad[i] = v;
    return bad;
  };
  assert.match((await openError(dataKey, at(0, 0x00))).message, /bad magic/);
  assert.match((await openError(dataKey, at(4, 2))).message, /unknown envelope version 2/);
  assert.match((await openError(dataKey, at(5, 0x06))).message, /unknown envelope flags 0x06/);
  assert.match((await openError(dataKey, at(6, 9))).message, /unknown envelope key kind 9/);
  assert.match((await openError(dataKey, at(7, 1))).message, /reserved byte/);
  assert.match(
    (await openError(dataKey, at(30, object[30] ^ 1))).message,
    /does not decrypt: corrupted or wrong key/,
  );
  const wrongKey = await openError(metaKey, object);
  assert.ok(wrongKey instanceof IntegrityError);
  assert.match(
    wrongKey.message,
    /does not decrypt: corrupted or wrong key \(sealed with the data key\)/,
  );
  const other = await newKeys();
  assert.ok((await openError(other.dataKey, object)) instanceof IntegrityError);
});

Deno.test("an object opened under another context fails", async () => {
  const { metaKey } = await newKeys();
  const object = await seal(metaKey, enc.encode("manifest"), {
    compressed: false,
    aad: enc.encode("manifest/aa"),
  });
  for (const aad of ["manifest/ab", "chunk/aa", "manifest/aa ", ""]) {
    const err = await openError(metaKey, object, enc.encode(aad));
    assert.ok(err instanceof IntegrityError);
  }
  assert.deepEqual(
    (await open(metaKey, object, enc.encode("manifest/aa"))).payload,
    enc.encode("manifest"),
  );
});

Deno.test("truncated objects are refused at every length", async () => {
  const { dataKey } = await newKeys();
  const object = await seal(dataKey, enc.encode("0123456789"), { compressed: false, aad: AAD });
  for (let n = 0; n < object.length; n++) {
    const err = await openError(dataKey, object.subarray(0, n));
    assert.ok(err instanceof IntegrityError, `length ${n}: ${err}`);
  }
  assert.match((await openError(dataKey, object.subarray(0, 3))).message, /truncated/);
  assert.match((await openError(dataKey, object.subarray(0, 30))).message, /truncated/);
});

Deno.test("key and encryption mode must agree", async () => {
  const { dataKey } = await newKeys();
  const sealed = await seal(dataKey, enc.encode("secret"), { compressed: false, aad: AAD });
  const noKey = await openError(null, sealed);
  assert.ok(noKey instanceof KeyError);
  assert.match(noKey.message, /encrypted but no repository key/);
  // A plaintext object must not slip into an encrypted repository.
  const plain = await seal(null, enc.encode("substitute"), { compressed: false, aad: AAD });
  const downgrade = await openError(dataKey, plain);
  assert.ok(downgrade instanceof IntegrityError);
  assert.match(downgrade.message, /unencrypted in an encrypted repository/);
  // Clearing the encrypted flag of a sealed object is refused either way.
  const stripped = new Uint8Array(sealed);
  stripped[5] &= ~0x02;
  assert.ok((await openError(dataKey, stripped)) instanceof IntegrityError);
  assert.ok((await openError(null, stripped)) instanceof IntegrityError);
});

Deno.test("property: round trip and tamper detection for arbitrary payloads", async () => {
  const { dataKey } = await newKeys();
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 2048 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.boolean(),
      fc.nat(),
      async (payload, aad, compressed, where) => {
        const object = await seal(dataKey, payload, { compressed, aad });
        const opened = await open(dataKey, object, aad);
        assert.deepEqual(opened.payload, payload);
        assert.equal(opened.compressed, compressed);
        const bad = new Uint8Array(object);
        bad[where % bad.length] ^= 0x10;
        await assert.rejects(open(dataKey, bad, aad), IntegrityError);
      },
    ),
    { numRuns: 200 },
  );
});
