import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { deriveRepoKeys, generateMasterKey, generateRepoId } from "../crypto/mod.ts";
import { IntegrityError } from "../errors.ts";
import { blake3, toHex } from "../hash/mod.ts";
import { Codec } from "./codec.ts";
import { decodeRepoConfig, encodeRepoConfig, newRepoConfig } from "./repo_config.ts";

const hexId = (n: number) => n.toString(16).padStart(2, "0").repeat(32);

/** The chunk-list encoding of docs/FORMAT.md ("Whole-file ids"), written out independently. */
function chunkList(chunks: { id: string; size: number }[]): Uint8Array {
  const prefix = [..."tcfs:oid:chunks-v1"].map((c) => c.charCodeAt(0));
  const bytes = [...prefix];
  for (const c of chunks) {
    for (let i = 0; i < 64; i += 2) bytes.push(parseInt(c.id.slice(i, i + 2), 16));
    let size = BigInt(c.size);
    for (let i = 0; i < 8; i++, size >>= 8n) bytes.push(Number(size & 0xffn));
  }
  return new Uint8Array(bytes);
}

Deno.test("chunks-v1 file ids hash the documented chunk-list encoding, keyed when encrypted", async () => {
  const chunks = [{ id: hexId(0xab), size: 3_000_000 }, { id: hexId(0x01), size: 2 ** 40 + 5 }];
  assertEquals(chunkList(chunks).length, 98);
  const plain = new Codec({ ...newRepoConfig(false), oid: "chunks-v1" }, null);
  assertEquals(plain.chunkListId(chunks), toHex(blake3(chunkList(chunks))));

  const config = newRepoConfig(true);
  const keys = await deriveRepoKeys(generateMasterKey(), generateRepoId());
  const codec = new Codec(config, keys);
  assert(codec.oidFromChunks);
  assertEquals(codec.chunkListId(chunks), toHex(blake3(chunkList(chunks), keys.idKey)));
  // Order, ids and sizes all count.
  const ids = new Set([
    codec.chunkListId(chunks),
    codec.chunkListId([chunks[1], chunks[0]]),
    codec.chunkListId([chunks[0], { ...chunks[1], size: 5 }]),
    codec.chunkListId([chunks[0], { ...chunks[1], id: hexId(0x02) }]),
    codec.chunkListId([]),
  ]);
  assertEquals(ids.size, 5);
});

Deno.test("the oid scheme is a repository parameter: new, old and unknown configs", () => {
  assertEquals(newRepoConfig(true).oid, "chunks-v1");
  assertEquals(newRepoConfig(false).oid, "content");
  const encoded = encodeRepoConfig(newRepoConfig(true));
  assertEquals(decodeRepoConfig(encoded, "config").oid, "chunks-v1");
  // A config written before the parameter existed keeps content ids.
  const old = JSON.parse(new TextDecoder().decode(encoded));
  delete old.oid;
  const oldConfig = decodeRepoConfig(new TextEncoder().encode(JSON.stringify(old)), "config");
  assertEquals(new Codec({ ...oldConfig, encryption: "none" }, null).oidFromChunks, false);
  const future = new TextEncoder().encode(JSON.stringify({ ...old, oid: "chunks-v9" }));
  const err = assertThrows(() => decodeRepoConfig(future, "config"), IntegrityError);
  assert(err.message.includes("'chunks-v9'") && err.message.includes("upgrade"), err.message);
});
