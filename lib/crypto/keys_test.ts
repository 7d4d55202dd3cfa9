import assert from "node:assert/strict";
import { hkdfSync } from "node:crypto";
import { ConfigError, IntegrityError, KeyError } from "../errors.ts";
import { open, seal } from "./envelope.ts";
import {
  deriveRepoKeys,
  generateMasterKey,
  generateRepoId,
  KEY_LABELS,
  keyKindOf,
  MASTER_KEY_BYTES,
  REPO_ID_BYTES,
} from "./keys.ts";

const AAD = new TextEncoder().encode("chunk/test");
const PAYLOAD = new TextEncoder().encode("some chunk payload");

/** HKDF-SHA256 computed by a different implementation (node:crypto) than the module's. */
function referenceHkdf(master: Uint8Array, repoId: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", master, repoId, label, 32));
}

async function importAes(raw: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", new Uint8Array(raw), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

async function opens(key: CryptoKey, object: Uint8Array): Promise<boolean> {
  try {
    await open(key, object, AAD);
    return true;
  } catch (err) {
    assert.ok(err instanceof IntegrityError);
    return false;
  }
}

Deno.test("generateMasterKey and generateRepoId return fresh random bytes of the right size", () => {
  const a = generateMasterKey();
  const b = generateMasterKey();
  assert.equal(a.length, MASTER_KEY_BYTES);
  assert.notDeepEqual(a, b);
  assert.equal(generateRepoId().length, REPO_ID_BYTES);
  assert.notDeepEqual(generateRepoId(), generateRepoId());
});

Deno.test("idKey is HKDF-SHA256(master, salt = repo id, info = 'tcfs v1 id')", async () => {
  const master = Uint8Array.from({ length: 32 }, (_, i) => i);
  const repoId = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const keys = await deriveRepoKeys(master, repoId);
  assert.equal(keys.idKey.length, 32);
  assert.deepEqual(keys.idKey, referenceHkdf(master, repoId, "tcfs v1 id"));
  assert.equal(KEY_LABELS.id, "tcfs v1 id");
});

Deno.test("dataKey and metaKey are HKDF-SHA256 with their own labels", async () => {
  const master = generateMasterKey();
  const repoId = generateRepoId();
  const keys = await deriveRepoKeys(master, repoId);
  const refData = await importAes(referenceHkdf(master, repoId, "tcfs v1 data"));
  const refMeta = await importAes(referenceHkdf(master, repoId, "tcfs v1 meta"));
  const byData = await seal(keys.dataKey, PAYLOAD, { compressed: false, aad: AAD });
  const byMeta = await seal(keys.metaKey, PAYLOAD, { compressed: false, aad: AAD });
  assert.equal(await opens(refData, byData), true);
  assert.equal(await opens(refMeta, byMeta), true);
  assert.equal(await opens(refMeta, byData), false);
  assert.equal(await opens(refData, byMeta), false);
});

Deno.test("derivation is deterministic across calls", async () => {
  const master = generateMasterKey();
  const repoId = generateRepoId();
  const a = await deriveRepoKeys(master, repoId);
  const b = await deriveRepoKeys(new Uint8Array(master), new Uint8Array(repoId));
  assert.deepEqual(a.idKey, b.idKey);
  const sealed = await seal(a.dataKey, PAYLOAD, { compressed: true, aad: AAD });
  assert.deepEqual((await open(b.dataKey, sealed, AAD)).payload, PAYLOAD);
  const meta = await seal(a.metaKey, PAYLOAD, { compressed: false, aad: AAD });
  assert.deepEqual((await open(b.metaKey, meta, AAD)).payload, PAYLOAD);
});

Deno.test("labels, master keys and repository ids all separate the keys", async () => {
  const master = generateMasterKey();
  const repoId = generateRepoId();
  const keys = await deriveRepoKeys(master, repoId);
  const otherRepo = await deriveRepoKeys(master, generateRepoId());
  const otherMaster = await deriveRepoKeys(generateMasterKey(), repoId);
  assert.notDeepEqual(keys.idKey, otherRepo.idKey);
  assert.notDeepEqual(keys.idKey, otherMaster.idKey);
  // The id key must not equal the raw bytes of either AES key.
  assert.notDeepEqual(keys.idKey, referenceHkdf(master, repoId, "tcfs v1 data"));
  assert.notDeepEqual(keys.idKey, referenceHkdf(master, repoId, "tcfs v1 meta"));
  const sealed = await seal(keys.dataKey, PAYLOAD, { compressed: false, aad: AAD });
  assert.equal(await opens(keys.metaKey, sealed), false);
  assert.equal(await opens(otherRepo.dataKey, sealed), false);
  assert.equal(await opens(otherMaster.dataKey, sealed), false);
});

Deno.test("AES subkeys are not extractable and remember their kind", async () => {
  const keys = await deriveRepoKeys(generateMasterKey(), generateRepoId());
  assert.equal(keys.dataKey.extractable, false);
  assert.equal(keys.metaKey.extractable, false);
  assert.equal(keyKindOf(keys.dataKey), "data");
  assert.equal(keyKindOf(keys.metaKey), "meta");
  assert.equal(keyKindOf(await importAes(new Uint8Array(32))), undefined);
});

Deno.test("wrong key or repository id sizes are refused", async () => {
  await assert.rejects(deriveRepoKeys(new Uint8Array(31), generateRepoId()), KeyError);
  await assert.rejects(deriveRepoKeys(new Uint8Array(33), generateRepoId()), KeyError);
  await assert.rejects(deriveRepoKeys(generateMasterKey(), new Uint8Array(15)), ConfigError);
});
