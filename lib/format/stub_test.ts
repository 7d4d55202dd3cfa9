import assert from "node:assert/strict";
import fc from "fast-check";
import { IntegrityError } from "../errors.ts";
import {
  type DirStub,
  type DirStubEntry,
  type FileStub,
  formatDirStub,
  formatFileStub,
  isStubName,
  MAX_DIR_STUB_BYTES,
  MAX_STUB_BYTES,
  parseDirStub,
  parseFileStub,
  realNameOf,
  StubFormatError,
  stubNameFor,
} from "./mod.ts";

const OID = "blake3:4d7a2146" + "0".repeat(48) + "1234e239";
const MANIFEST = "blake3:" + "ab".repeat(32);
const HEADER = "version https://tummycrypt.io/tcfs/v1\n";

const SEED: FileStub = {
  chunks: 23,
  compressed: 0,
  fetched: 0,
  oid: OID,
  origin: "seaweedfs://filer.example.com/bucket/path/to/file",
  size: 94371840,
};

const SEED_TEXT = HEADER +
  "chunks 23\n" +
  "compressed 0\n" +
  "fetched 0\n" +
  `oid ${OID}\n` +
  "origin seaweedfs://filer.example.com/bucket/path/to/file\n" +
  "size 94371840\n";

/** Replace one line (1-based) of the seed stub text. */
function seedWith(line: number, replacement: string): string {
  const lines = SEED_TEXT.split("\n");
  lines[line - 1] = replacement;
  return lines.join("\n");
}

function assertStubError(run: () => unknown, substring: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof StubFormatError, `expected StubFormatError, got ${e}`);
    assert.ok(e instanceof IntegrityError);
    assert.ok(
      e.message.includes(substring),
      `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(substring)}`,
    );
    return true;
  });
}

Deno.test("file stub: the seed example formats to the documented bytes and back", () => {
  assert.equal(formatFileStub(SEED), SEED_TEXT);
  assert.deepEqual(parseFileStub(SEED_TEXT), SEED);
  assert.deepEqual(parseFileStub(new TextEncoder().encode(SEED_TEXT)), SEED);
});

Deno.test("file stub: optional keys are written sorted among the required ones", () => {
  const stub: FileStub = { ...SEED, manifest: MANIFEST, mode: 0o644, mtime: 1700000000123 };
  const text = formatFileStub(stub);
  assert.equal(
    text,
    HEADER + "chunks 23\ncompressed 0\nfetched 0\n" + `manifest ${MANIFEST}\n` +
      "mode 0644\nmtime 1700000000123\n" + `oid ${OID}\n` +
      "origin seaweedfs://filer.example.com/bucket/path/to/file\nsize 94371840\n",
  );
  assert.deepEqual(parseFileStub(text), stub);
  assert.equal(parseFileStub(formatFileStub({ ...SEED, mode: 0o4755 })).mode, 0o4755);
});

Deno.test("file stub: odd origins round-trip and are stored as printable ASCII", () => {
  const origins = [
    "s3://bucket/dir with spaces/file name.txt",
    "s3://bucket/line\nbreak\r\nand\ttab",
    "s3://bucket/100% done/%41%2F?#",
    "s3://bucket/ünïcödé/日本語/😀.jpg",
    "file:///srv/tcfs/objects/a+b=c;d,e@f:g!h$i&j'k(l)m*n~o",
    "s3://[::1]:9000/bucket/key",
    "s3://bucket/nul\0inside",
  ];
  for (const origin of origins) {
    const text = formatFileStub({ ...SEED, origin });
    assert.match(text, /^[\x20-\x7e\n]+$/);
    const originLine = text.split("\n").find((l) => l.startsWith("origin "))!;
    assert.equal(originLine.split(" ").length, 2);
    assert.equal(parseFileStub(text).origin, origin);
    assert.equal(formatFileStub(parseFileStub(text)), text);
  }
  assert.ok(
    formatFileStub({ ...SEED, origin: "s3://b/a b%c/é" }).includes(
      "origin s3://b/a%20b%25c/%C3%A9\n",
    ),
  );
});

Deno.test("file stub: arbitrary values round-trip (property)", () => {
  const origin = fc.string({ unit: "grapheme", maxLength: 200 }).map((p) => `s3://bucket/${p}`);
  const count = fc.maxSafeNat();
  fc.assert(
    fc.property(
      origin,
      count,
      count,
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.option(fc.integer({ min: 0, max: 0o7777 }), { nil: undefined }),
      (o, size, compressed, hex, mode) => {
        const stub: FileStub = {
          chunks: Math.floor(size / 3),
          compressed,
          fetched: Math.floor(size / 2),
          oid: `blake3:${hex}`,
          origin: o,
          size,
        };
        if (mode !== undefined) stub.mode = mode;
        const text = formatFileStub(stub);
        assert.deepEqual(parseFileStub(text), stub);
        assert.equal(formatFileStub(parseFileStub(text)), text);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("file stub: every malformed stub is refused with a message naming the problem", () => {
  const cases: [string, string | Uint8Array, string][] = [
    ["empty file", "", "empty file"],
    [
      "other version",
      seedWith(1, "version https://tummycrypt.io/tcfs/v2"),
      "unsupported stub version 'https://tummycrypt.io/tcfs/v2'",
    ],
    [
      "no version line",
      SEED_TEXT.slice(HEADER.length),
      "line 1: expected 'version https://tummycrypt.io/tcfs/v1', found key 'chunks'",
    ],
    ["missing key", SEED_TEXT.replace("fetched 0\n", ""), "missing key 'fetched'"],
    ["missing size", SEED_TEXT.replace("size 94371840\n", ""), "missing key 'size'"],
    [
      "unknown key",
      SEED_TEXT.replace("fetched 0\n", "fetched 0\nfoo 1\n"),
      "line 5: unknown key 'foo'",
    ],
    [
      "dir stub key",
      SEED_TEXT.replace("chunks 23\n", "chunks 23\nentries 2\n"),
      "unknown key 'entries' (this looks like a .tcf directory stub)",
    ],
    [
      "duplicate key",
      SEED_TEXT.replace("chunks 23\n", "chunks 23\nchunks 23\n"),
      "line 3: duplicate key 'chunks'",
    ],
    [
      "unsorted keys",
      HEADER + "compressed 0\nchunks 23\nfetched 0\n",
      "line 3: keys not sorted: 'chunks' after 'compressed'",
    ],
    ["version twice", SEED_TEXT + "version x\n", "line 8: 'version' may only be line 1"],
    [
      "letters in number",
      seedWith(7, "size 12a"),
      "line 7: size: not a non-negative integer: '12a'",
    ],
    ["negative number", seedWith(2, "chunks -1"), "chunks: not a non-negative integer: '-1'"],
    ["hex number", seedWith(7, "size 0x10"), "size: not a non-negative integer: '0x10'"],
    ["exponent", seedWith(7, "size 1e3"), "size: not a non-negative integer: '1e3'"],
    ["fraction", seedWith(3, "compressed 1.5"), "compressed: not a non-negative integer: '1.5'"],
    ["leading zero", seedWith(7, "size 094371840"), "size: leading zeros not allowed: '094371840'"],
    ["beyond 2^53-1", seedWith(7, "size 9007199254740992"), "size: larger than 2^53-1"],
    [
      "wrong algorithm",
      seedWith(5, "oid sha256:" + "0".repeat(64)),
      "oid: unsupported hash algorithm 'sha256'",
    ],
    [
      "no algorithm",
      seedWith(5, "oid " + "0".repeat(64)),
      "oid: expected 'blake3:<64 hex digits>'",
    ],
    [
      "short digest",
      seedWith(5, "oid blake3:" + "0".repeat(63)),
      "oid: digest must be 64 hex digits, got 63",
    ],
    [
      "long digest",
      seedWith(5, "oid blake3:" + "0".repeat(65)),
      "oid: digest must be 64 hex digits, got 65",
    ],
    [
      "uppercase digest",
      seedWith(5, "oid blake3:" + "A".repeat(64)),
      "oid: digest must be lowercase hex",
    ],
    [
      "bad manifest",
      SEED_TEXT.replace("fetched 0\n", "fetched 0\nmanifest blake3:xyz\n"),
      "manifest: digest must be 64 hex digits",
    ],
    [
      "decimal mode",
      SEED_TEXT.replace("fetched 0\n", "fetched 0\nmode 644\n"),
      "mode: expected four octal digits like 0644, got '644'",
    ],
    [
      "mode digit 8",
      SEED_TEXT.replace("fetched 0\n", "fetched 0\nmode 0688\n"),
      "mode: expected four octal digits",
    ],
    ["empty origin", seedWith(6, "origin "), "origin: value must follow a single space"],
    ["origin without value", seedWith(6, "origin"), "expected 'key value', got 'origin'"],
    ["origin not a URL", seedWith(6, "origin /path/to/file"), "origin: expected '<scheme>://...'"],
    ["origin with space", seedWith(6, "origin s3://b/a b"), "origin: value contains a space"],
    ["two spaces", seedWith(7, "size  5"), "size: value must follow a single space"],
    [
      "raw percent",
      seedWith(6, "origin s3://b/100%"),
      "origin: '%' not followed by two hex digits: '%'",
    ],
    [
      "bad escape",
      seedWith(6, "origin s3://b/%zz"),
      "origin: '%' not followed by two hex digits: '%zz'",
    ],
    [
      "lowercase escape",
      seedWith(6, "origin s3://b/%c3%a9"),
      "origin: percent escape '%c3' must use uppercase hex digits",
    ],
    [
      "needless escape",
      seedWith(6, "origin s3://b/%41"),
      "origin: '%41' encodes 'A', which must be written as is",
    ],
    [
      "unescaped '?'",
      seedWith(6, "origin s3://b/a?b"),
      "origin: character '?' must be percent-encoded as %3F",
    ],
    [
      "escapes not UTF-8",
      seedWith(6, "origin s3://b/%FF"),
      "origin: percent-encoded bytes are not valid UTF-8",
    ],
    ["raw non-ASCII", seedWith(6, "origin s3://b/é"), "line 6: character U+00E9 not allowed"],
    ["tab", seedWith(7, "size\t5"), "line 7: character U+0009 not allowed"],
    ["CRLF", SEED_TEXT.replaceAll("\n", "\r\n"), "line 1: CRLF line ending"],
    ["no final newline", SEED_TEXT.slice(0, -1), "missing trailing newline"],
    ["blank line", SEED_TEXT.replace("chunks 23\n", "chunks 23\n\n"), "line 3: empty line"],
    ["byte order mark", "\ufeff" + SEED_TEXT, "starts with a byte order mark"],
    ["uppercase key", seedWith(7, "Size 5"), "key must be lowercase letters a-z, got 'Size'"],
    ["fetched > size", seedWith(4, "fetched 94371841"), "fetched 94371841 exceeds size 94371840"],
    [
      "chunks > size",
      SEED_TEXT.replace("chunks 23", "chunks 1").replace("size 94371840", "size 0"),
      "chunks 1 exceeds size 0",
    ],
    [
      "invalid UTF-8",
      new Uint8Array([...new TextEncoder().encode(SEED_TEXT), 0xc3, 0x28, 0x0a]),
      "not valid UTF-8",
    ],
    [
      "oversized string",
      SEED_TEXT + "x".repeat(MAX_STUB_BYTES),
      `stub larger than ${MAX_STUB_BYTES} bytes`,
    ],
    [
      "oversized bytes",
      new Uint8Array(MAX_STUB_BYTES + 1).fill(0x61),
      `stub larger than ${MAX_STUB_BYTES} bytes (4097 bytes)`,
    ],
  ];
  for (const [name, text, message] of cases) {
    try {
      assertStubError(() => parseFileStub(text), message);
    } catch (e) {
      throw new Error(`case ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  }
});

Deno.test("file stub: the formatter refuses values the parser would refuse", () => {
  const cases: [Partial<FileStub>, string][] = [
    [{ size: -1 }, "size: not a non-negative safe integer: -1"],
    [{ size: 1.5 }, "size: not a non-negative safe integer: 1.5"],
    [{ size: Number.NaN }, "size: not a non-negative safe integer: NaN"],
    [{ compressed: 2 ** 53 }, "compressed: not a non-negative safe integer"],
    [{ oid: "blake3:ABC" }, "oid: digest must be 64 hex digits"],
    [{ origin: "" }, "origin: empty"],
    [{ origin: "no-scheme/path" }, "origin: expected '<scheme>://...'"],
    [{ origin: "s3://b/\ud800" }, "origin: contains a lone UTF-16 surrogate"],
    [{ mode: 0o10000 }, "mode: not permission bits"],
    [{ mtime: -5 }, "mtime: not a non-negative safe integer: -5"],
    [{ fetched: 94371841 }, "fetched 94371841 exceeds size 94371840"],
    [{ origin: "s3://b/" + "é".repeat(700) }, `stub larger than ${MAX_STUB_BYTES} bytes`],
  ];
  for (const [change, message] of cases) {
    assertStubError(() => formatFileStub({ ...SEED, ...change }), message);
  }
});

const DIR: DirStub = {
  origin: "s3://bucket/photos",
  entries: [
    { name: "b.txt", kind: "file", size: 10 },
    { name: "a dir", kind: "dir", size: 0 },
    { name: "link", kind: "symlink", size: 7 },
    { name: "100%", kind: "file", size: 0 },
  ],
};

const DIR_TEXT = HEADER + "entries 4\norigin s3://bucket/photos\n" +
  "entry f 0 100%25\nentry d 0 a%20dir\nentry f 10 b.txt\nentry l 7 link\n";

Deno.test("dir stub: entries are written sorted by encoded name and read back", () => {
  assert.equal(formatDirStub(DIR), DIR_TEXT);
  const parsed = parseDirStub(DIR_TEXT);
  assert.equal(parsed.origin, DIR.origin);
  assert.deepEqual(parsed.entries.map((e) => e.name), ["100%", "a dir", "b.txt", "link"]);
  assert.deepEqual(
    [...parsed.entries].sort((a, b) => a.name.localeCompare(b.name)),
    [...DIR.entries].sort((a, b) => a.name.localeCompare(b.name)),
  );
  assert.equal(formatDirStub(parsed), DIR_TEXT);
});

Deno.test("dir stub: empty directory, optional keys and odd names round-trip", () => {
  const empty: DirStub = { origin: "file:///srv/x", entries: [], mode: 0o755, mtime: 0 };
  assert.equal(
    formatDirStub(empty),
    HEADER + "entries 0\nmode 0755\nmtime 0\norigin file:///srv/x\n",
  );
  assert.deepEqual(parseDirStub(formatDirStub(empty)), empty);
  const names = ["new\nline", " leading space", "tab\there", "日本語", "😀", "%41", "a.tc", "..."];
  const odd: DirStub = {
    origin: "s3://b/d",
    entries: names.map((name, i) => ({ name, kind: "file", size: i })),
  };
  const text = formatDirStub(odd);
  assert.match(text, /^[\x20-\x7e\n]+$/);
  const back = parseDirStub(text);
  assert.deepEqual(new Set(back.entries.map((e) => e.name)), new Set(names));
  assert.equal(formatDirStub(back), text);
});

Deno.test("dir stub: every malformed stub is refused with a message naming the problem", () => {
  const cases: [string, string, string][] = [
    ["file stub", SEED_TEXT, "line 2: unknown key 'chunks'"],
    ["missing entries", HEADER + "origin s3://b/d\n", "missing key 'entries'"],
    ["missing origin", HEADER + "entries 0\n", "missing key 'origin'"],
    [
      "count too high",
      DIR_TEXT.replace("entries 4", "entries 5"),
      "'entries 5' but 4 entry lines follow",
    ],
    [
      "count too low",
      DIR_TEXT.replace("entries 4", "entries 3"),
      "'entries 3' but 4 entry lines follow",
    ],
    [
      "unsorted entries",
      DIR_TEXT.replace("entry f 10 b.txt\nentry l 7 link", "entry l 7 link\nentry f 10 b.txt"),
      "line 7: entries not sorted by name: 'b.txt' after 'link'",
    ],
    [
      "duplicate entry",
      DIR_TEXT.replace("entry l 7 link", "entry l 7 b.txt"),
      "line 7: duplicate entry 'b.txt'",
    ],
    ["header after entries", DIR_TEXT + "mode 0755\n", "line 8: key 'mode' after entry lines"],
    [
      "required key after entries",
      HEADER + "origin s3://b/d\nentry f 1 a\nentries 1\n",
      "line 4: key 'entries' after entry lines",
    ],
    ["unknown kind", DIR_TEXT.replace("entry l 7", "entry x 7"), "line 7: entry: unknown kind 'x'"],
    [
      "dir with size",
      DIR_TEXT.replace("entry d 0", "entry d 5"),
      "entry size: must be 0 for a directory, got 5",
    ],
    [
      "bad size",
      DIR_TEXT.replace("entry f 10", "entry f 010"),
      "entry size: leading zeros not allowed",
    ],
    [
      "missing field",
      DIR_TEXT.replace("entry l 7 link", "entry l link"),
      "entry: expected 'entry <f|d|l> <size> <name>'",
    ],
    ["extra field", DIR_TEXT.replace("entry l 7 link", "entry l 7 link x"), "entry: expected"],
    ["double space", DIR_TEXT.replace("entry l 7 link", "entry l  7 link"), "entry: expected"],
    [
      "dot name",
      DIR_TEXT.replace("entry l 7 link", "entry l 7 ."),
      "entry name: '.' is not a file name",
    ],
    [
      "slash in name",
      DIR_TEXT.replace("entry l 7 link", "entry l 7 x/y"),
      "entry name: name contains '/'",
    ],
    [
      "NUL in name",
      DIR_TEXT.replace("entry l 7 link", "entry l 7 x%00"),
      "entry name: name contains a NUL",
    ],
    [
      "unescaped name",
      DIR_TEXT.replace("entry l 7 link", "entry l 7 li#nk"),
      "entry name: character '#' must be percent-encoded",
    ],
    [
      "unsorted header",
      HEADER + "origin s3://b/d\nentries 0\n",
      "keys not sorted: 'entries' after 'origin'",
    ],
    [
      "origin with space",
      HEADER + "entries 0\norigin s3://b/a b\n",
      "origin: value contains a space",
    ],
  ];
  for (const [name, text, message] of cases) {
    try {
      assertStubError(() => parseDirStub(text), message);
    } catch (e) {
      throw new Error(`case ${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  }
});

Deno.test("dir stub: the formatter refuses bad entries", () => {
  const bad: [DirStub, string][] = [
    [
      { origin: "s3://b", entries: [{ name: "", kind: "file", size: 0 }] },
      "entry name: empty name",
    ],
    [{ origin: "s3://b", entries: [{ name: "a/b", kind: "file", size: 0 }] }, "name contains '/'"],
    [
      { origin: "s3://b", entries: [{ name: "..", kind: "dir", size: 0 }] },
      "'..' is not a file name",
    ],
    [
      { origin: "s3://b", entries: [{ name: "d", kind: "dir", size: 4096 }] },
      "must be 0 for a directory",
    ],
    [{
      origin: "s3://b",
      entries: [{ name: "x", kind: "file", size: 1 }, { name: "x", kind: "symlink", size: 1 }],
    }, "duplicate entry 'x'"],
    [{ origin: "", entries: [] }, "origin: empty"],
  ];
  for (const [stub, message] of bad) assertStubError(() => formatDirStub(stub), message);
});

Deno.test("stub names: suffixes map to real names and back", () => {
  assert.equal(stubNameFor("main.rs", "file"), "main.rs.tc");
  assert.equal(stubNameFor("docs", "dir"), "docs.tcf");
  assert.equal(realNameOf("main.rs.tc"), "main.rs");
  assert.equal(realNameOf("docs.tcf"), "docs");
  assert.equal(realNameOf("a.tc.tc"), "a.tc");
  for (const name of ["x.tc", "x.tcf", "with space.tc", ".hidden.tc"]) {
    assert.equal(isStubName(name), true, name);
  }
  for (const name of ["x", "x.tcx", ".tc", ".tcf", "..tc", "...tcf", "x.TC", "x.tc/"]) {
    assert.equal(isStubName(name), false, name);
  }
  assertStubError(() => realNameOf("notes.txt"), "not a stub name: 'notes.txt'");
  assertStubError(() => realNameOf(".tc"), "not a stub name");
  assertStubError(
    () => stubNameFor("a/b", "file"),
    "cannot make a stub name: name: name contains '/'",
  );
  assertStubError(() => stubNameFor("", "dir"), "empty name");
});

Deno.test("dir stub: size limit holds on both sides", () => {
  const name = (i: number) => String(i).padStart(5, "0") + "é".repeat(250);
  const big: DirStub = {
    origin: "s3://b/d",
    entries: Array.from({ length: 12000 }, (_, i) => ({ name: name(i), kind: "file", size: i })),
  };
  assertStubError(() => formatDirStub(big), `stub larger than ${MAX_DIR_STUB_BYTES} bytes`);
  const fits = formatDirStub({ ...big, entries: big.entries.slice(0, 10000) });
  assert.equal(parseDirStub(fits).entries.length, 10000);
  const tooBig = fits + fits.slice(fits.indexOf("entry "));
  assertStubError(() => parseDirStub(tooBig), `stub larger than ${MAX_DIR_STUB_BYTES} bytes`);
  const kind = "socket" as DirStubEntry["kind"];
  assertStubError(
    () => formatDirStub({ origin: "s3://b", entries: [{ name: "s", kind, size: 0 }] }),
    "entry kind: expected file, dir or symlink, got socket",
  );
});
