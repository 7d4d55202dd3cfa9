/**
 * Decrypting SOPS files (YAML and JSON) with age identities, written from
 * the SOPS file format; no sops binary is needed.
 *
 * How a SOPS file is opened:
 *
 * 1. The `sops` mapping at the top holds the metadata. Under `sops.age`
 *    each entry wraps the file's 32-byte data key for one age recipient
 *    (armored age, the raw key as plaintext). Any matching identity opens it.
 * 2. Every leaf value is decrypted with the data key (see `sops_values.ts`
 *    for the value format, `sops_tree.ts` for paths and order), except the
 *    ones the metadata's rules leave in clear text (by default: any key on
 *    the path ends with `_unencrypted`; `sops_scalar.ts` says how those
 *    are typed).
 * 3. The MAC is checked: SHA-512 over the MAC bytes of every leaf in
 *    document order, encrypted values and clear ones alike (only encrypted
 *    ones with `mac_only_encrypted: true`, then prefixed with a fixed
 *    32-byte string), written as upper-case hex, must equal `sops.mac`
 *    decrypted with the data key and `sops.lastmodified` as additional data.
 *    So any edit, to an encrypted or a clear value, is refused.
 *
 * Comments (`#ENC[...]` lines) are decrypted too but are not covered by the
 * MAC, as in sops; one that does not decrypt is kept as it is and reported
 * in {@linkcode SopsDocument.warnings}.
 *
 * Error messages name files and key paths, never values.
 *
 * @example
 * ```ts
 * import { decryptSops } from "./sops.ts";
 *
 * const doc = await decryptSops(await Deno.readTextFile("secrets.enc.yaml"), ["AGE-SECRET-KEY-1..."], {
 *   source: "secrets.enc.yaml",
 * });
 * console.log(Object.keys(doc.data as object));
 * ```
 *
 * @module
 */

import * as age from "age-encryption";
import { createHash, timingSafeEqual } from "node:crypto";
import { Document, parseAllDocuments } from "yaml";
import { IntegrityError, KeyError, NotImplementedError } from "../errors.ts";
import { recipientOf } from "../crypto/identity.ts";
import { MAC_ONLY_ENCRYPTED_PREFIX, parseMetadata, type SopsMetadata } from "./sops_metadata.ts";
import { additionalData, renderJson, scanDocument, takeMetadata } from "./sops_tree.ts";
import { decodePlaintext, isEncryptedString, openValue, parseEncrypted } from "./sops_values.ts";
import { typeScalar } from "./sops_scalar.ts";

/** A decrypted SOPS file. */
export interface SopsDocument {
  /**
   * The decrypted tree (the first document of a multi-document YAML file),
   * as plain data: mappings are objects in file order (except that
   * JavaScript lists integer-like keys first), integers beyond 2^53 are
   * bigints, `bytes` values are Uint8Arrays.
   */
  data: unknown;
  /** Every document of the file, decrypted (one for JSON). */
  documents: unknown[];
  /** The file's age recipients (`age1...`). */
  recipients: string[];
  /** `sops.lastmodified` as written. */
  lastModified: string;
  /** The file format that was read. */
  format: "yaml" | "json";
  /** The decrypted file as `sops -d` prints it (YAML keeps the comments, decrypted). */
  plainText: string;
  /** Problems that did not stop decryption (comments that did not decrypt). */
  warnings: string[];
}

/** Options of {@linkcode decryptSops}. */
export interface DecryptSopsOptions {
  /** The file format; default from the `source` extension, else sniffed. */
  format?: "yaml" | "json";
  /** What to call the file in messages (usually its path). */
  source?: string;
}

/**
 * Decrypt a SOPS file with age identities and verify its MAC.
 *
 * @param text the file content
 * @param identities X25519 age identities (`AGE-SECRET-KEY-1...`)
 * @throws {KeyError} "no matching age identity for <file> (recipients: ...)"
 * @throws {IntegrityError} "MAC mismatch ...", or naming the key path of a
 *   value that does not decrypt, or for a file that is not SOPS
 */
export async function decryptSops(
  text: string,
  identities: string[],
  opts: DecryptSopsOptions = {},
): Promise<SopsDocument> {
  const source = opts.source ?? "the SOPS file";
  const parsed = parseSopsText(text, opts.format ?? formatOf(text, opts.source), source);
  const key = await openDataKey(parsed.meta, identities, source);
  return decryptWithDataKey(parsed, key, source);
}

/**
 * Decrypt a SOPS file with its data key already known (for tests and for
 * files whose key came from elsewhere).
 */
export function decryptSopsWithDataKey(
  text: string,
  dataKey: Uint8Array,
  opts: DecryptSopsOptions = {},
): SopsDocument {
  const source = opts.source ?? "the SOPS file";
  return decryptWithDataKey(
    parseSopsText(text, opts.format ?? formatOf(text, opts.source), source),
    dataKey,
    source,
  );
}

/** Render plain data as YAML the way `sops -d` lays it out (4-space indent). */
export function toYaml(doc: unknown): string {
  return new Document(doc, { customTags: ["binary"] }).toString(YAML_OUT);
}

const YAML_OUT = { indent: 4, indentSeq: true, lineWidth: 0 } as const;

interface ParsedSops {
  docs: Document[];
  meta: SopsMetadata;
  format: "yaml" | "json";
}

/** Parse a SOPS file and take its metadata out of every document. */
function parseSopsText(text: string, format: "yaml" | "json", source: string): ParsedSops {
  const docs = parseAllDocuments(text, {
    keepSourceTokens: true,
    customTags: ["binary"],
    uniqueKeys: true,
  });
  if (!Array.isArray(docs)) throw new IntegrityError(`${source}: not a YAML or JSON document`);
  for (const d of docs) {
    if (d.errors.length > 0) {
      // The parser's message quotes source lines, which may hold secrets.
      const at = d.errors[0].linePos?.[0];
      throw new IntegrityError(
        `${source}: not valid ${format.toUpperCase()}${at ? ` (line ${at.line})` : ""}`,
      );
    }
  }
  const raw = docs.map((d) => takeMetadata(d));
  if (raw[0] === undefined) {
    throw new IntegrityError(`${source} is not a SOPS file: it has no sops metadata`);
  }
  return { docs, meta: parseMetadata(raw[0], source), format };
}

function decryptWithDataKey(parsed: ParsedSops, key: Uint8Array, source: string): SopsDocument {
  const { docs, meta, format } = parsed;
  const json = format === "json";
  const hash = createHash("sha512");
  if (meta.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
  const warnings: string[] = [];
  for (const doc of docs) {
    const { leaves, comments } = scanDocument(doc, json, source);
    for (const { node, path, where } of leaves) {
      const encrypted = meta.isEncrypted(path);
      const found = typeScalar(node, json);
      if ("error" in found) {
        throw new IntegrityError(`${source}: value at ${where}: ${found.error}`);
      }
      if (found.kind === "null") continue;
      let value = found;
      if (encrypted && !(found.kind === "str" && found.value === "")) {
        const enc = found.kind === "str" ? parseEncrypted(found.value as string) : null;
        if (enc === null) {
          throw new IntegrityError(
            `${source}: value at ${where} should be encrypted but is not a SOPS-encrypted value`,
          );
        }
        const plain = openValue(key, enc, additionalData(path));
        if (plain === null) {
          throw new IntegrityError(
            `${source}: value at ${where} does not decrypt: it was modified or moved`,
          );
        }
        const typed = decodePlaintext(enc.type, plain);
        if ("error" in typed) {
          throw new IntegrityError(`${source}: value at ${where}: ${typed.error}`);
        }
        if (typed.kind === "null") continue;
        value = typed;
        node.value = typed.value;
        node.type = undefined; // let the printer choose a style that fits the plaintext
      } else {
        node.value = value.value;
      }
      if (!meta.macOnlyEncrypted || encrypted) hash.update(value.mac);
    }
    for (const c of comments) decryptComment(c, key, warnings, source);
  }
  checkMac(meta, key, hash.digest("hex").toUpperCase(), source);
  const documents = docs.map((d) => d.toJS({ maxAliasCount: -1 }) ?? {});
  return {
    data: documents[0],
    documents,
    recipients: meta.ageKeys.map((k) => k.recipient),
    lastModified: meta.lastModified,
    format,
    plainText: json
      ? renderJson(docs[0])
      : docs.map((d, i) => (i > 0 ? "---\n" : "") + d.toString(YAML_OUT)).join(""),
    warnings,
  };
}

function decryptComment(
  c: ReturnType<typeof scanDocument>["comments"][number],
  key: Uint8Array,
  warnings: string[],
  source: string,
): void {
  const lines = c.read().split("\n");
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    if (!isEncryptedString(lines[i])) continue;
    const enc = parseEncrypted(lines[i]);
    let done = false;
    if (enc !== null && enc.type === "comment") {
      for (const path of c.candidates) {
        const plain = openValue(key, enc, additionalData(path));
        if (plain !== null) {
          lines[i] = new TextDecoder().decode(plain);
          changed = done = true;
          break;
        }
      }
    }
    if (!done) {
      warnings.push(`${source}: an encrypted comment near ${c.where} does not decrypt; kept as is`);
    }
  }
  if (changed) c.write(lines.join("\n"));
}

function checkMac(meta: SopsMetadata, key: Uint8Array, computed: string, source: string): void {
  const modified = `MAC mismatch: ${source} was modified after it was encrypted, or is damaged`;
  if (meta.mac === "") throw new IntegrityError(`${modified} (it has no MAC)`);
  const enc = parseEncrypted(meta.mac);
  const plain = enc === null ? null : openValue(key, enc, meta.macAad);
  if (plain === null) throw new IntegrityError(`${modified} (the stored MAC does not decrypt)`);
  const want = new TextEncoder().encode(computed);
  if (plain.length !== want.length || !timingSafeEqual(plain, want)) {
    throw new IntegrityError(modified);
  }
}

async function openDataKey(
  meta: SopsMetadata,
  identities: string[],
  source: string,
): Promise<Uint8Array> {
  if (identities.length === 0) throw new KeyError(`no age identity given to decrypt ${source}`);
  const mine = new Set<string>();
  const d = new age.Decrypter();
  for (const id of identities) {
    mine.add(await recipientOf(id)); // validates without putting the key in messages
    d.addIdentity(id.trim());
  }
  const entries = meta.ageKeys.filter((k) => k.enc.trim() !== "");
  // Entries for our own recipients first; the others are tried too, since
  // the recipient field is only a label.
  const ordered = [
    ...entries.filter((k) => mine.has(k.recipient)),
    ...entries.filter((k) => !mine.has(k.recipient)),
  ];
  let damaged: string | null = null;
  for (const entry of ordered) {
    let key: Uint8Array;
    try {
      key = await d.decrypt(age.armor.decode(entry.enc.trim() + "\n"));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== "no identity matched any of the file's recipients" && mine.has(entry.recipient)) {
        damaged = entry.recipient;
      }
      continue;
    }
    if (key.length !== 32) {
      throw new IntegrityError(`${source}: the data key for ${entry.recipient} is not 32 bytes`);
    }
    return key;
  }
  if (damaged !== null) {
    throw new IntegrityError(`${source}: the data key encrypted for ${damaged} is damaged`);
  }
  const recipients = meta.ageKeys.map((k) => k.recipient).join(", ") || "none";
  const others = meta.otherKeys.length > 0 ? `; also ${meta.otherKeys.join(", ")}` : "";
  throw new KeyError(`no matching age identity for ${source} (recipients: ${recipients}${others})`);
}

function formatOf(text: string, source?: string): "yaml" | "json" {
  if (source !== undefined) {
    const other = /\.(env|ini)$/i.exec(source);
    if (other !== null) {
      throw new NotImplementedError(`decrypting ${source}: SOPS ${other[1]} files`);
    }
    if (/\.json$/i.test(source)) return "json";
    if (/\.ya?ml$/i.test(source)) return "yaml";
  }
  return text.trimStart().startsWith("{") ? "json" : "yaml";
}
