/**
 * The on-disk placeholder formats: a remote file that is not downloaded
 * appears as `name.tc`, an unsynced directory as `name.tcf`. Both are small
 * ASCII text files of sorted `key value` lines after a fixed version line;
 * the grammar is in `docs/FORMAT-stubs.md`.
 *
 * Parsers are strict so that a stub has exactly one spelling: any file that
 * parses formats back to the same bytes, and anything else is rejected with a
 * {@linkcode StubFormatError} naming the line and the problem.
 *
 * @module
 */

import {
  checkName,
  checkOrigin,
  decodeText,
  encodeText,
  formatCount,
  formatMode,
  located,
  parseCount,
  parseMode,
  parseOid,
  quote,
  splitKeyValue,
  splitStubLines,
  StubFormatError,
} from "./stub_syntax.ts";

export { StubFormatError };
export {
  DIR_STUB_SUFFIX,
  FILE_STUB_SUFFIX,
  isStubName,
  realNameOf,
  stubNameFor,
} from "./stub_name.ts";

/** Value of the first line of every stub: `version https://tummycrypt.io/tcfs/v1`. */
export const STUB_VERSION = "https://tummycrypt.io/tcfs/v1";

/**
 * Largest `.tc` file stub, in bytes. Fits an origin of about 3,900 encoded
 * characters (an S3 key is at most 1,024 bytes, 3,072 once fully escaped).
 */
export const MAX_STUB_BYTES = 4096;

/**
 * Largest `.tcf` directory stub, in bytes (16 MiB): a few hundred thousand
 * entries, while bounding what a reader loads for a corrupt or hostile file.
 */
export const MAX_DIR_STUB_BYTES = 16 * 1024 * 1024;

/** What a `.tc` stub says about the remote file it stands for. */
export interface FileStub {
  /** Number of content chunks; at most `size`, 0 for an empty file or content inlined in the manifest. */
  chunks: number;
  /** Bytes the content occupies in the store after compression and encryption; 0 if unknown. */
  compressed: number;
  /** Bytes already fetched into the local cache (informational); 0 for a pure stub, at most `size`. */
  fetched: number;
  /** File id `blake3:<64 lowercase hex>`; keyed BLAKE3 when the repository is encrypted. */
  oid: string;
  /** Where the file lives: backend URL, `/`, object path, as plain text (encoded only in the file). */
  origin: string;
  /** Content length in bytes. */
  size: number;
  /** Optional id of the manifest of this version, `blake3:<64 lowercase hex>`. */
  manifest?: string;
  /** Optional permission bits, 0 to 0o7777. */
  mode?: number;
  /** Optional modification time in milliseconds since the Unix epoch. */
  mtime?: number;
}

/** One child listed in a `.tcf` directory stub. */
export interface DirStubEntry {
  /** The child's real name (one path component, no stub suffix). */
  name: string;
  /** What the child is. */
  kind: "file" | "dir" | "symlink";
  /** Content bytes for a file, target length for a symlink, always 0 for a directory. */
  size: number;
}

/** What a `.tcf` stub says about the remote directory it stands for. */
export interface DirStub {
  /** Where the directory lives, as plain text (see {@linkcode FileStub.origin}). */
  origin: string;
  /** The children; written sorted by encoded name, returned by the parser in that order. */
  entries: DirStubEntry[];
  /** Optional permission bits, 0 to 0o7777. */
  mode?: number;
  /** Optional modification time in milliseconds since the Unix epoch. */
  mtime?: number;
}

const FILE_KEYS: ReadonlySet<string> = new Set([
  "chunks",
  "compressed",
  "fetched",
  "manifest",
  "mode",
  "mtime",
  "oid",
  "origin",
  "size",
]);
const FILE_REQUIRED = ["chunks", "compressed", "fetched", "oid", "origin", "size"] as const;
const DIR_KEYS: ReadonlySet<string> = new Set(["entries", "mode", "mtime", "origin"]);
const DIR_REQUIRED = ["entries", "origin"] as const;

const KIND_LETTER = { file: "f", dir: "d", symlink: "l" } as const;
const LETTER_KIND: Readonly<Record<string, DirStubEntry["kind"]>> = {
  f: "file",
  d: "dir",
  l: "symlink",
};

const FILE_WHAT = "invalid .tc stub";
const DIR_WHAT = "invalid .tcf stub";

/** A header value together with the line it came from, for located errors. */
interface Field {
  value: string;
  line: number;
}

function checkVersionLine(lines: string[], what: string): void {
  const { key, value } = located(`${what}: line 1`, () => splitKeyValue(lines[0]));
  if (key !== "version") {
    throw new StubFormatError(
      `${what}: line 1: expected 'version ${STUB_VERSION}', found key ${quote(key)}`,
    );
  }
  if (value !== STUB_VERSION) {
    throw new StubFormatError(`${what}: unsupported stub version ${quote(value)}`);
  }
}

/**
 * Read sorted header lines from line index 1 until `stopKey` (if given) or the
 * end. Returns the fields and the index of the first line not read.
 */
function readHeader(
  lines: string[],
  known: ReadonlySet<string>,
  what: string,
  stopKey?: string,
): { fields: Map<string, Field>; next: number } {
  const fields = new Map<string, Field>();
  let previous = "";
  let i = 1;
  for (; i < lines.length; i++) {
    const line = i + 1;
    const at = `${what}: line ${line}`;
    const { key, value } = located(at, () => splitKeyValue(lines[i]));
    if (key === stopKey) break;
    if (key === "version") throw new StubFormatError(`${at}: 'version' may only be line 1`);
    if (!known.has(key)) {
      const hint = stopKey === undefined && (key === "entries" || key === "entry")
        ? " (this looks like a .tcf directory stub)"
        : "";
      throw new StubFormatError(`${at}: unknown key ${quote(key)}${hint}`);
    }
    if (key === previous) throw new StubFormatError(`${at}: duplicate key ${quote(key)}`);
    if (key < previous) {
      throw new StubFormatError(`${at}: keys not sorted: ${quote(key)} after ${quote(previous)}`);
    }
    if (value.includes(" ")) {
      throw new StubFormatError(`${at}: ${key}: value contains a space (percent-encode it as %20)`);
    }
    fields.set(key, { value, line });
    previous = key;
  }
  return { fields, next: i };
}

function requireKeys(fields: Map<string, Field>, required: readonly string[], what: string): void {
  for (const key of required) {
    if (!fields.has(key)) throw new StubFormatError(`${what}: missing key ${quote(key)}`);
  }
}

function readField<T>(
  fields: Map<string, Field>,
  key: string,
  what: string,
  read: (value: string, field: string) => T,
): T {
  const field = fields.get(key)!;
  return located(`${what}: line ${field.line}`, () => read(field.value, key));
}

function readOrigin(value: string, field: string): string {
  const origin = decodeText(value, field);
  checkOrigin(origin, field);
  return origin;
}

/** Read the optional `mode` and `mtime` keys shared by both stub kinds. */
function readOptional(fields: Map<string, Field>, what: string): { mode?: number; mtime?: number } {
  const out: { mode?: number; mtime?: number } = {};
  if (fields.has("mode")) out.mode = readField(fields, "mode", what, parseMode);
  if (fields.has("mtime")) out.mtime = readField(fields, "mtime", what, parseCount);
  return out;
}

/** Serialize header fields, given already validated, in key order, after the version line. */
function writeHeader(fields: Map<string, string>): string {
  let out = `version ${STUB_VERSION}\n`;
  for (const key of [...fields.keys()].sort()) out += `${key} ${fields.get(key)}\n`;
  return out;
}

/**
 * Write a `.tc` file stub. Checks every field first and throws
 * {@linkcode StubFormatError} for a value the parser would refuse.
 */
export function formatFileStub(s: FileStub): string {
  const what = "cannot write .tc stub";
  const fields = located(what, () => {
    const f = new Map<string, string>([
      ["chunks", formatCount(s.chunks, "chunks")],
      ["compressed", formatCount(s.compressed, "compressed")],
      ["fetched", formatCount(s.fetched, "fetched")],
      ["oid", parseOid(String(s.oid), "oid")],
      ["size", formatCount(s.size, "size")],
    ]);
    checkOrigin(s.origin, "origin");
    f.set("origin", encodeText(s.origin, "origin"));
    if (s.manifest !== undefined) f.set("manifest", parseOid(String(s.manifest), "manifest"));
    if (s.mode !== undefined) f.set("mode", formatMode(s.mode, "mode"));
    if (s.mtime !== undefined) f.set("mtime", formatCount(s.mtime, "mtime"));
    checkFileLimits(s);
    return f;
  });
  const text = writeHeader(fields);
  if (text.length > MAX_STUB_BYTES) {
    throw new StubFormatError(
      `${what}: stub larger than ${MAX_STUB_BYTES} bytes (${text.length}; origin too long)`,
    );
  }
  return text;
}

function checkFileLimits(s: FileStub): void {
  if (s.fetched > s.size) {
    throw new StubFormatError(`fetched ${s.fetched} exceeds size ${s.size}`);
  }
  if (s.chunks > s.size) {
    throw new StubFormatError(
      `chunks ${s.chunks} exceeds size ${s.size} (a chunk holds >= 1 byte)`,
    );
  }
}

/** Read a `.tc` file stub strictly; throws {@linkcode StubFormatError} naming the problem. */
export function parseFileStub(text: string | Uint8Array): FileStub {
  const lines = splitStubLines(text, MAX_STUB_BYTES, FILE_WHAT);
  checkVersionLine(lines, FILE_WHAT);
  const { fields } = readHeader(lines, FILE_KEYS, FILE_WHAT);
  requireKeys(fields, FILE_REQUIRED, FILE_WHAT);
  const stub: FileStub = {
    chunks: readField(fields, "chunks", FILE_WHAT, parseCount),
    compressed: readField(fields, "compressed", FILE_WHAT, parseCount),
    fetched: readField(fields, "fetched", FILE_WHAT, parseCount),
    oid: readField(fields, "oid", FILE_WHAT, parseOid),
    origin: readField(fields, "origin", FILE_WHAT, readOrigin),
    size: readField(fields, "size", FILE_WHAT, parseCount),
  };
  if (fields.has("manifest")) stub.manifest = readField(fields, "manifest", FILE_WHAT, parseOid);
  Object.assign(stub, readOptional(fields, FILE_WHAT));
  located(FILE_WHAT, () => checkFileLimits(stub));
  return stub;
}

/** Check one entry and return its encoded name. */
function encodeEntry(e: DirStubEntry): { name: string; line: string } {
  checkName(e.name, "entry name");
  const letter = KIND_LETTER[e.kind];
  if (letter === undefined) {
    throw new StubFormatError(`entry kind: expected file, dir or symlink, got ${String(e.kind)}`);
  }
  const size = formatCount(e.size, "entry size");
  if (e.kind === "dir" && e.size !== 0) {
    throw new StubFormatError(`entry size: must be 0 for a directory, got ${size}`);
  }
  const name = encodeText(e.name, "entry name");
  return { name, line: `entry ${letter} ${size} ${name}\n` };
}

/**
 * Write a `.tcf` directory stub. Entries are written sorted by encoded name
 * whatever their order in `s.entries`; duplicate names are refused.
 */
export function formatDirStub(s: DirStub): string {
  const what = "cannot write .tcf stub";
  const { fields, entries } = located(what, () => {
    checkOrigin(s.origin, "origin");
    const f = new Map<string, string>([
      ["entries", formatCount(s.entries.length, "entries")],
      ["origin", encodeText(s.origin, "origin")],
    ]);
    if (s.mode !== undefined) f.set("mode", formatMode(s.mode, "mode"));
    if (s.mtime !== undefined) f.set("mtime", formatCount(s.mtime, "mtime"));
    const encoded = s.entries.map(encodeEntry);
    // Encoded names are ASCII, so comparing JS strings is comparing bytes.
    encoded.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 1; i < encoded.length; i++) {
      if (encoded[i].name === encoded[i - 1].name) {
        throw new StubFormatError(`duplicate entry ${quote(encoded[i].name)}`);
      }
    }
    return { fields: f, entries: encoded };
  });
  const parts = [writeHeader(fields)];
  let length = parts[0].length;
  for (const e of entries) {
    parts.push(e.line);
    length += e.line.length;
    if (length > MAX_DIR_STUB_BYTES) {
      throw new StubFormatError(
        `${what}: stub larger than ${MAX_DIR_STUB_BYTES} bytes (${s.entries.length} entries)`,
      );
    }
  }
  return parts.join("");
}

function parseEntry(value: string): { entry: DirStubEntry; encodedName: string } {
  const parts = value.split(" ");
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new StubFormatError(`entry: expected 'entry <f|d|l> <size> <name>', got ${quote(value)}`);
  }
  const [letter, sizeText, encodedName] = parts;
  const kind = LETTER_KIND[letter];
  if (kind === undefined) {
    throw new StubFormatError(`entry: unknown kind ${quote(letter)} (expected f, d or l)`);
  }
  const size = parseCount(sizeText, "entry size");
  if (kind === "dir" && size !== 0) {
    throw new StubFormatError(`entry size: must be 0 for a directory, got ${sizeText}`);
  }
  const name = decodeText(encodedName, "entry name");
  checkName(name, "entry name");
  return { entry: { name, kind, size }, encodedName };
}

/** Read a `.tcf` directory stub strictly; throws {@linkcode StubFormatError} naming the problem. */
export function parseDirStub(text: string | Uint8Array): DirStub {
  const lines = splitStubLines(text, MAX_DIR_STUB_BYTES, DIR_WHAT);
  checkVersionLine(lines, DIR_WHAT);
  const { fields, next } = readHeader(lines, DIR_KEYS, DIR_WHAT, "entry");
  // Entry lines are read before the header is judged, so that a header key
  // misplaced among them is reported as such rather than as missing.
  const entries: DirStubEntry[] = [];
  let previous = "";
  for (let i = next; i < lines.length; i++) {
    const at = `${DIR_WHAT}: line ${i + 1}`;
    const { entry, encodedName } = located(at, () => {
      const { key, value } = splitKeyValue(lines[i]);
      if (key !== "entry") {
        throw new StubFormatError(`key ${quote(key)} after entry lines (header keys come first)`);
      }
      return parseEntry(value);
    });
    if (i > next && encodedName === previous) {
      throw new StubFormatError(`${at}: duplicate entry ${quote(encodedName)}`);
    }
    if (i > next && encodedName < previous) {
      throw new StubFormatError(
        `${at}: entries not sorted by name: ${quote(encodedName)} after ${quote(previous)}`,
      );
    }
    entries.push(entry);
    previous = encodedName;
  }
  requireKeys(fields, DIR_REQUIRED, DIR_WHAT);
  const count = readField(fields, "entries", DIR_WHAT, parseCount);
  const origin = readField(fields, "origin", DIR_WHAT, readOrigin);
  if (entries.length !== count) {
    throw new StubFormatError(
      `${DIR_WHAT}: 'entries ${count}' but ${entries.length} entry lines follow`,
    );
  }
  return { origin, entries, ...readOptional(fields, DIR_WHAT) };
}
