/**
 * Device identities: age X25519 key pairs and the files that hold them.
 *
 * Each device has its own age identity (`AGE-SECRET-KEY-1...`); the
 * repository master key is wrapped for every device's recipient (`age1...`),
 * see `age.ts`. Only X25519 identities are accepted: they are what `age`
 * 1.1.1 and `age-keygen` (Debian) read and write, so a user can always
 * recover a master key with the stock `age` CLI. Post-quantum hybrid and
 * plugin identities are refused with an explanation.
 *
 * ## Identity file format
 *
 * The same text format as `age-keygen` writes and `age -i` / sops
 * (`$SOPS_AGE_KEY_FILE`, `$SOPS_AGE_KEY`) read: UTF-8 lines, `#` comments and
 * blank lines ignored, one identity per remaining line, any number of
 * identities. {@linkcode writeIdentityFile} writes:
 *
 * ```text
 * # created: 2025-01-31T12:00:00Z
 * # public key: age1...
 * AGE-SECRET-KEY-1...
 * ```
 *
 * ## Permissions
 *
 * Identity files are written with mode 0600 in a directory created with mode
 * 0700. {@linkcode readIdentityFile} refuses a file that other users can read
 * or write (any of the mode bits 0007), the way ssh refuses loose private
 * keys: a secret that is already exposed should be rotated, not used
 * silently. Group bits are tolerated so that a Kubernetes secret mounted with
 * `defaultMode: 0440` and an `fsGroup` works; the default 0644 does not, set
 * `defaultMode: 0400` or `0440`.
 *
 * @module
 */

import * as age from "age-encryption";
import { KeyError, NotFoundError } from "../errors.ts";

/** An age X25519 key pair. */
export interface AgeIdentity {
  /** The secret identity, `AGE-SECRET-KEY-1...` (uppercase bech32). */
  identity: string;
  /** The public recipient, `age1...` (lowercase bech32). */
  recipient: string;
}

/** Options of {@linkcode writeIdentityFile}. */
export interface WriteIdentityOptions {
  /**
   * Add the identity to an existing file instead of refusing to touch it.
   * The existing identities are kept; the file is replaced atomically.
   */
  append?: boolean;
}

const X25519_IDENTITY_PREFIX = "AGE-SECRET-KEY-1";

/** Make a new random X25519 age identity and its recipient. */
export async function generateIdentity(): Promise<AgeIdentity> {
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

/**
 * Compute the recipient (public key) of an X25519 identity.
 *
 * @throws {KeyError} if `identity` is not a well-formed X25519 identity
 */
export async function recipientOf(identity: string): Promise<string> {
  checkIdentity(identity.trim(), "the given identity");
  return await age.identityToRecipient(identity.trim());
}

/**
 * Extract the identities from the text of an identity file, or from a string
 * such as `$SOPS_AGE_KEY` (same format).
 *
 * @param text the file content
 * @param source what to call the text in error messages
 * @returns the identities in file order, each a checked `AGE-SECRET-KEY-1...`
 * @throws {KeyError} if a line is not a supported identity (the message names
 *   the line number, never its content), the text is an encrypted identity
 *   file, or it holds no identity at all
 */
export function parseIdentityFile(text: string, source = "identity text"): string[] {
  const head = text.trimStart();
  if (head.startsWith("age-encryption.org/") || head.startsWith("-----BEGIN AGE ENCRYPTED FILE")) {
    throw new KeyError(
      `${source} is a passphrase-encrypted identity file, which tcfs cannot read: decrypt it with age -d`,
    );
  }
  const identities: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    checkIdentity(line, `${source} line ${i + 1}`);
    identities.push(line);
  }
  if (identities.length === 0) {
    throw new KeyError(`${source} contains no age identity`);
  }
  return identities;
}

/**
 * Read the identities of an identity file, refusing one other users can read.
 *
 * @throws {NotFoundError} if the file does not exist
 * @throws {KeyError} if the file is accessible by other users or malformed
 */
export async function readIdentityFile(path: string): Promise<string[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`identity file ${path} does not exist`, { cause: err });
    }
    throw new KeyError(`cannot read identity file ${path}: ${messageOf(err)}`, { cause: err });
  }
  try {
    const info = await file.stat();
    // Checked on the open handle so a swap of the path after the check is harmless.
    if (info.mode !== null && (info.mode & 0o007) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw new KeyError(
        `identity file ${path} is accessible by other users (mode ${mode}): run chmod 600 ${path}`,
      );
    }
    return parseIdentityFile(await readText(file), `identity file ${path}`);
  } finally {
    file.close();
  }
}

/**
 * Write an identity to a file in `age-keygen` format, atomically, mode 0600,
 * creating missing parent directories with mode 0700.
 *
 * An existing file is never overwritten (that would destroy a key): without
 * `append` the call fails; with it the identity is added after the existing
 * content.
 *
 * @throws {KeyError} if the file exists and `append` is not set, or `id` is
 *   malformed or inconsistent
 */
export async function writeIdentityFile(
  path: string,
  id: AgeIdentity,
  opts: WriteIdentityOptions = {},
): Promise<void> {
  if ((await recipientOf(id.identity)) !== id.recipient) {
    throw new KeyError("identity and recipient do not belong together: refusing to write them");
  }
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });

  let content = "";
  if (opts.append) {
    try {
      content = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (content !== "" && !content.endsWith("\n")) content += "\n";
  }
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  content += `# created: ${created}\n# public key: ${id.recipient}\n${id.identity}\n`;

  const tmp = `${dir}/.${path.slice(slash + 1)}.tmp-${randomSuffix()}`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    try {
      await Deno.chmod(tmp, 0o600); // umask may have removed bits we want
      await writeAll(file, new TextEncoder().encode(content));
      await file.sync();
    } finally {
      file.close();
    }
    if (opts.append) {
      await Deno.rename(tmp, path);
    } else {
      // link(2) fails if the target exists: an atomic create-if-absent.
      try {
        await Deno.link(tmp, path);
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists) {
          throw new KeyError(
            `identity file ${path} already exists: refusing to overwrite it (it may hold the only copy of a key)`,
          );
        }
        throw err;
      }
    }
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  await syncDir(dir);
}

/**
 * Check that `s` is a well-formed X25519 age identity (prefix, bech32
 * checksum, 32-byte key), without ever putting `s` in an error message.
 */
function checkIdentity(s: string, where: string): void {
  if (s.startsWith("AGE-SECRET-KEY-PQ-1")) {
    throw new KeyError(
      `${where}: post-quantum age identities are not supported (age 1.1.1 cannot read them); use age-keygen`,
    );
  }
  if (s.startsWith("AGE-PLUGIN-")) {
    throw new KeyError(`${where}: age plugin identities are not supported`);
  }
  if (!s.startsWith(X25519_IDENTITY_PREFIX)) {
    throw new KeyError(`${where} is not an age identity (expected AGE-SECRET-KEY-1...)`);
  }
  const key = bech32Decode(s, "age-secret-key-");
  if (key === null || key.length !== 32) {
    throw new KeyError(`${where} is a malformed age identity (bad checksum or length)`);
  }
}

const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/**
 * Decode a bech32 string (BIP 173, the checksum age uses) with the given
 * human-readable part; `null` if anything is wrong.
 */
function bech32Decode(s: string, hrp: string): Uint8Array | null {
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) return null; // mixed case is invalid
  const sep = lower.lastIndexOf("1");
  if (lower.slice(0, sep) !== hrp || lower.length - sep - 1 < 6) return null;
  const words: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = BECH32_CHARSET.indexOf(c);
    if (v < 0) return null;
    words.push(v);
  }
  const expanded: number[] = [];
  for (const c of hrp) expanded.push(c.charCodeAt(0) >> 5);
  expanded.push(0);
  for (const c of hrp) expanded.push(c.charCodeAt(0) & 31);
  let chk = 1;
  for (const v of [...expanded, ...words]) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATOR[i];
  }
  if (chk !== 1) return null;
  // Regroup 5-bit words (minus the 6 checksum words) into bytes.
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words.slice(0, -6)) {
    acc = (acc << 5) | w;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return null; // non-zero padding
  return new Uint8Array(out);
}

async function readText(file: Deno.FsFile): Promise<string> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(16 * 1024);
    const n = await file.read(buf);
    if (n === null) break;
    parts.push(buf.subarray(0, n));
  }
  const decoder = new TextDecoder();
  return parts.map((p, i) => decoder.decode(p, { stream: i < parts.length - 1 })).join("");
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

async function syncDir(dir: string): Promise<void> {
  // Makes the new directory entry durable; not every platform can open a
  // directory for syncing, and the file itself is already synced.
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // best effort
  }
}

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
