/**
 * TEST HELPER ONLY: writes SOPS files (YAML or JSON, age recipients) so that
 * tests can build files with every value type, comments and rule. tcfs
 * itself never writes SOPS files; use the `sops` tool for real ones.
 *
 * It follows the same format facts as the decrypter (see `sops.ts`), and
 * is checked against the sops-written file in `testdata` by decrypting
 * both with the same code. It shares the walker and the value typing with
 * the decrypter, so it proves round trips and rules, not conformance; the
 * real file does that.
 *
 * @module
 */

import * as age from "age-encryption";
import { createHash } from "node:crypto";
import { type Document, parseAllDocuments } from "yaml";
import { MAC_ONLY_ENCRYPTED_PREFIX, parseMetadata } from "./sops_metadata.ts";
import { additionalData, renderJson, scanDocument } from "./sops_tree.ts";
import { encodePlaintext, sealValue } from "./sops_values.ts";
import { typeScalar } from "./sops_scalar.ts";

/** Options of {@linkcode encryptSopsForTest}. */
export interface TestEncryptOptions {
  /** age recipients (`age1...`) that may decrypt. */
  recipients: string[];
  /** Output format; default yaml. */
  format?: "yaml" | "json";
  /** At most one rule; none means sops's default `unencrypted_suffix: _unencrypted`. */
  rule?: {
    unencrypted_suffix?: string;
    encrypted_suffix?: string;
    unencrypted_regex?: string;
    encrypted_regex?: string;
  };
  /** Write `mac_only_encrypted: true`. */
  macOnlyEncrypted?: boolean;
  /** Encrypt comment lines (sops does); default true. */
  encryptComments?: boolean;
  /** `sops.lastmodified`; default now. */
  lastModified?: string;
  /** The data key; default random. */
  dataKey?: Uint8Array;
}

/** Encrypt a plain YAML or JSON document into a SOPS file (test helper). */
export async function encryptSopsForTest(
  plainText: string,
  opts: TestEncryptOptions,
): Promise<string> {
  const format = opts.format ?? "yaml";
  const json = format === "json";
  const key = opts.dataKey ?? crypto.getRandomValues(new Uint8Array(32));
  const lastModified = opts.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const rules: Record<string, unknown> = { ...opts.rule };
  if (opts.macOnlyEncrypted) rules.mac_only_encrypted = true;
  const meta = parseMetadata({ lastmodified: lastModified, ...rules }, "test input");
  const docs = parseAllDocuments(plainText, { keepSourceTokens: true, customTags: ["binary"] });
  if (!Array.isArray(docs)) throw new Error("test input is not YAML");

  const hash = createHash("sha512");
  if (opts.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
  for (const doc of docs) {
    const { leaves, comments } = scanDocument(doc, json, "test input");
    for (const { node, path } of leaves) {
      const typed = typeScalar(node, json);
      if ("error" in typed) throw new Error(`test input: ${typed.error}`);
      if (typed.kind === "null") continue;
      const encrypted = meta.isEncrypted(path);
      if (!meta.macOnlyEncrypted || encrypted) hash.update(typed.mac);
      if (!encrypted || (typed.kind === "str" && typed.value === "")) continue;
      node.value = sealValue(key, encodePlaintext(typed), additionalData(path), typed.kind);
      node.type = json ? "QUOTE_DOUBLE" : "PLAIN";
      node.tag = undefined;
    }
    if (opts.encryptComments ?? true) {
      for (const c of comments) {
        const aad = additionalData(c.candidates[0]);
        c.write(
          c.read().split("\n").map((line) =>
            line === "" ? line : sealValue(key, new TextEncoder().encode(line), aad, "comment")
          ).join("\n"),
        );
      }
    }
  }
  const mac = sealValue(
    key,
    new TextEncoder().encode(hash.digest("hex").toUpperCase()),
    meta.macAad,
    "str",
  );
  const ageKeys = [];
  for (const recipient of opts.recipients) {
    const e = new age.Encrypter();
    e.addRecipient(recipient);
    ageKeys.push({ recipient, enc: age.armor.encode(await e.encrypt(key)) });
  }
  const metadata = { age: ageKeys, lastmodified: lastModified, mac, ...rules, version: "3.7.1" };
  for (const doc of docs) {
    const node = doc.createNode(metadata);
    if (doc.contents === null) (doc as Document).contents = doc.createNode({ sops: node });
    else doc.set("sops", node);
  }
  return json
    ? renderJson(docs[0])
    : docs.map((d, i) => (i > 0 ? "---\n" : "") + d.toString({ indent: 4, lineWidth: 0 })).join("");
}
