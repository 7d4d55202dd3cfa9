/**
 * The repository config object (`config` at the store root): the parameters
 * every client must agree on to read and write the same repository. It holds
 * no secrets and is stored as plain JSON so that a client can read it before
 * it has any key.
 *
 * @module
 */

import {
  type ChunkerParams,
  DEFAULT_CHUNKER_PARAMS,
  validateChunkerParams,
} from "../chunking/mod.ts";
import { DEFAULT_ZSTD_LEVEL } from "../compress/mod.ts";
import { IntegrityError } from "../errors.ts";

/** The `format` value that marks a tcfs repository config. */
export const REPO_FORMAT = "tcfs-repository";

/** The repository format version this build reads and writes. */
export const REPO_VERSION = 1;

/**
 * How whole-file ids are computed (docs/FORMAT.md, "Whole-file ids"):
 * `content` is BLAKE3 of the content, `chunks-v1` is BLAKE3 of the chunk
 * list for chunked files (inline content is hashed as with `content`).
 */
export type OidScheme = "content" | "chunks-v1";

/** The repository parameters stored in the `config` object. */
export interface RepoConfig {
  /** Always {@link REPO_FORMAT}. */
  format: typeof REPO_FORMAT;
  /** Format version; a client refuses versions it does not know. */
  version: number;
  /** Random repository id, 32 lowercase hex digits (16 bytes); HKDF salt. */
  id: string;
  /** When the repository was created (ISO 8601). */
  created: string;
  /** FastCDC parameters (gear table derivation is fixed by the version). */
  chunker: ChunkerParams & { algorithm: "fastcdc-2020" };
  /** Content hash; `blake3`, keyed with the id key when encrypted. */
  hash: "blake3";
  /**
   * What a whole-file id (manifest `o`, stub `oid`) hashes: `content` (the
   * file's bytes; also when absent) or `chunks-v1` (the ordered list of chunk
   * ids and sizes, so a writer hashes each byte once). See {@link OidScheme}.
   */
  oid?: OidScheme;
  /** Compression of chunk and metadata payloads. */
  compression: { algorithm: "zstd"; level: number };
  /** `aes-256-gcm` with HKDF-SHA256 subkeys, or `none`. */
  encryption: "aes-256-gcm" | "none";
  /** Chunks shorter than this go into packs rather than objects of their own. */
  packThreshold: number;
  /** A pack is closed once it reaches this size. */
  packTarget: number;
  /** Files up to this size are stored inline in their manifest. */
  inlineMax: number;
  /** Manifests whose encoding is larger than this are stored as objects of their own. */
  manifestInlineMax: number;
}

/** A new repository config with the measured defaults. */
export function newRepoConfig(encrypted: boolean): RepoConfig {
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return {
    format: REPO_FORMAT,
    version: REPO_VERSION,
    id,
    created: new Date().toISOString(),
    chunker: { algorithm: "fastcdc-2020", ...DEFAULT_CHUNKER_PARAMS },
    hash: "blake3",
    // Encrypted ids are keyed, so no outside tool checks them: hash each byte once. Unencrypted
    // repositories keep ids that `b3sum` of the file reproduces.
    oid: encrypted ? "chunks-v1" : "content",
    compression: { algorithm: "zstd", level: DEFAULT_ZSTD_LEVEL },
    encryption: encrypted ? "aes-256-gcm" : "none",
    packThreshold: DEFAULT_CHUNKER_PARAMS.minSize,
    packTarget: 8 * 1024 * 1024,
    inlineMax: 1024,
    manifestInlineMax: 256 * 1024,
  };
}

/** Serialise a repository config. */
export function encodeRepoConfig(config: RepoConfig): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n");
}

/** Parse and validate a repository config object; errors say what is wrong. */
export function decodeRepoConfig(body: Uint8Array, where: string): RepoConfig {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new IntegrityError(`${where}: the repository config is not valid JSON`);
  }
  if (c?.format !== REPO_FORMAT) {
    throw new IntegrityError(
      `${where}: not a tcfs repository config (format is not ${REPO_FORMAT})`,
    );
  }
  if (c.version !== REPO_VERSION) {
    throw new IntegrityError(
      `${where}: repository format version ${c.version} is not supported by this tcfs ` +
        `(it reads version ${REPO_VERSION}); upgrade tcfs`,
    );
  }
  const bad = (field: string) =>
    new IntegrityError(`${where}: repository config field '${field}' is missing or invalid`);
  if (typeof c.id !== "string" || !/^[0-9a-f]{32}$/.test(c.id)) throw bad("id");
  const chunker = c.chunker as RepoConfig["chunker"] | undefined;
  if (chunker?.algorithm !== "fastcdc-2020") throw bad("chunker.algorithm");
  validateChunkerParams(chunker);
  if (c.hash !== "blake3") throw bad("hash");
  if (c.oid !== undefined && c.oid !== "content" && c.oid !== "chunks-v1") {
    throw new IntegrityError(
      `${where}: whole-file id scheme '${c.oid}' is not supported by this tcfs; upgrade tcfs`,
    );
  }
  const compression = c.compression as RepoConfig["compression"] | undefined;
  if (compression?.algorithm !== "zstd" || !Number.isInteger(compression.level)) {
    throw bad("compression");
  }
  if (c.encryption !== "aes-256-gcm" && c.encryption !== "none") throw bad("encryption");
  for (const f of ["packThreshold", "packTarget", "inlineMax", "manifestInlineMax"] as const) {
    if (!Number.isSafeInteger(c[f]) || (c[f] as number) < 0) throw bad(f);
  }
  return c as unknown as RepoConfig;
}
