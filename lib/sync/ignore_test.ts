import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { DEFAULT_IGNORES, IgnoreRules, loadIgnoreFile } from "./ignore.ts";
import { compareWithGit, entry, withParents } from "./testing/check_ignore.ts";

/** A path to ask about; directories end with "/" in these tables. */
type Case = [patterns: string, path: string, expected: boolean];

// Each row: root .tcfsignore text, path ("/" suffix = directory), ignored?
// Every row is also checked against `git check-ignore` below.
const TABLE: Case[] = [
  // Blank lines and comments
  ["\n\n", "a", false],
  ["# a\n", "# a", false],
  ["#a\n", "#a", false],
  ["\\#a\n", "#a", true],
  [" #a\n", " #a", true],
  // Escaped "!" and negation
  ["\\!a\n", "!a", true],
  ["\\!a\n", "a", false],
  ["*.log\n!keep.log\n", "x.log", true],
  ["*.log\n!keep.log\n", "keep.log", false],
  ["*.log\n!keep.log\n", "d/keep.log", false],
  ["!keep.log\n*.log\n", "keep.log", true], // last match wins
  // A file cannot be re-included when a parent directory is excluded
  ["build/\n!build/keep\n", "build/keep", true],
  ["build\n!build/keep\n", "build/keep", true],
  ["build/*\n!build/keep\n", "build/keep", false],
  ["build/*\n!build/keep\n", "build/other", true],
  ["build/**\n!build/keep\n", "build/keep", false],
  ["build/**\n!build/keep\n", "build/", false],
  // Trailing spaces: dropped unless escaped
  ["a  \n", "a", true],
  ["a\\ \n", "a ", true],
  ["a\\ \n", "a", false],
  ["a\\  \n", "a ", true],
  ["a\t\n", "a", false],
  // Leading and middle slashes anchor to the file's directory
  ["/a\n", "a", true],
  ["/a\n", "d/a", false],
  ["d/a\n", "d/a", true],
  ["d/a\n", "x/d/a", false],
  ["a\n", "x/y/a", true],
  ["a\n", "x/y/a/", true],
  ["/*.c\n", "x.c", true],
  ["/*.c\n", "d/x.c", false],
  ["*.c\n", "d/x.c", true],
  // Trailing slash: directories only
  ["a/\n", "a/", true],
  ["a/\n", "a", false],
  ["a/\n", "x/a/", true],
  ["a/\n", "a/f", true],
  ["/d/a/\n", "d/a/", true],
  ["/d/a/\n", "d/a", false],
  // Wildcards: "*" and "?" never match "/"
  ["a*\n", "abc", true],
  ["*.c\n", "a.cc", false],
  ["*~*\n", "a~b", true],
  ["*~*\n", "ab", false],
  ["d/*\n", "d/x", true],
  ["d/*\n", "d/x/y", true], // through the excluded d/x
  ["d/*/f\n", "d/x/y/f", false],
  ["d/*/f\n", "d/x/f", true],
  ["a?c\n", "abc", true],
  ["a?c\n", "ac", false],
  ["d?f\n", "d/f", false],
  ["x/a?c\n", "x/a/c", false],
  ["\\*\n", "*", true],
  ["\\*\n", "a", false],
  ["a\\\n", "a", false], // a trailing backslash never matches
  ["a\\\n", "a\\", false],
  // Bracket expressions
  ["[a-c]x\n", "bx", true],
  ["[a-c]x\n", "dx", false],
  ["[!a-c]x\n", "dx", true],
  ["[!a-c]x\n", "bx", false],
  ["[^a]x\n", "bx", true],
  ["[]a]x\n", "]x", true],
  ["[!]a]x\n", "]x", false],
  ["[a-]x\n", "-x", true],
  ["[\\]]x\n", "]x", true],
  ["[[:digit:]]x\n", "7x", true],
  ["[[:digit:]]x\n", "ax", false],
  ["[[:alpha:][:digit:]]x\n", "7x", true],
  ["[[:nope:]]x\n", "nx", false],
  ["[[:constructor:]]x\n", "cx", false],
  ["[[:]x\n", "[x", true], // no ":]": "[" and ":" are ordinary members
  ["a[[:]x\n", "a:x", true], // (check-ignore reads a leading ":" as pathspec magic)
  ["[[::]]x\n", ":x", false],
  ["[[:alpha]x\n", "ax", true],
  ["[abx\n", "[abx", false], // unclosed: never matches
  ["[abx\n", "ax", false],
  ["d[/]f\n", "d/f", false],
  ["d[!a]f\n", "d/f", false],
  ["x/d[!a]f\n", "x/d/f", false],
  ["x/d[^a]f\n", "x/dbf", true],
  ["[-a]x\n", "-x", true],
  ["[a-c-e]x\n", "-x", true], // after a range, "-" is literal
  ["[a-c-e]x\n", "dx", false],
  ["[a-c-e]x\n", "ex", true],
  ["[z-a]x\n", "zx", true], // an empty range; "z" alone still counts
  // "**"
  ["**/a\n", "a", true],
  ["**/a\n", "x/y/a", true],
  ["**/d/a\n", "x/d/a", true],
  ["**/d/a\n", "d/a", true],
  ["**/d/a\n", "d/x/a", false],
  ["d/**\n", "d/x/y", true],
  ["d/**\n", "d/", false],
  ["d/**\n!d/x/\n", "d/x/y", true], // "/**" itself reaches d/x/y
  ["d/**\n!d/x/\n", "d/x/", false],
  ["d/**\n", "d", false],
  ["a/**/b\n", "a/b", true],
  ["a/**/b\n", "a/x/y/b", true],
  ["a/**/b\n", "a/xb", false],
  ["a**b\n", "a/b", false],
  ["x/a**b\n", "x/a/b", false],
  ["x/a**/b\n", "x/a/y/b", true], // git's literal-prefix quirk
  ["x/a**/b\n", "x/ab", true],
  ["x/a*/b\n", "x/a/y/b", false],
  ["/**\n", "x/y", true],
  ["**\n", "x", true],
  // Files with CRLF
  ["a\r\nb\r\n", "b", true],
];

// git matches bytes where tcfs matches characters, so these are not compared with git.
const UNICODE: Case[] = [
  ["é?\n", "éa", true],
  ["?\n", "é", true],
  ["[é]\n", "é", true],
  ["[!é]\n", "é", false],
];

Deno.test("IgnoreRules follows gitignore(5) for a table of cases", () => {
  for (const [patterns, path, expected] of [...TABLE, ...UNICODE]) {
    const rules = new IgnoreRules([]);
    rules.addFile("", patterns);
    const { rel, isDir } = entry(path);
    assert.equal(rules.ignores(rel, isDir), expected, `${JSON.stringify(patterns)} vs ${path}`);
  }
});

Deno.test("IgnoreRules: a .tcfsignore applies below its directory and beats shallower ones", () => {
  const rules = new IgnoreRules(["*.tmp", "!keep.tmp", "global-only"]);
  rules.addFile("", "*.o\n!x.o\n/top\nsub/top\n");
  rules.addFile("sub", "!*.o\nx.o\n/top\nkeep.tmp\n*.tmp/\n");
  const cases: [string, boolean][] = [
    ["a.o", true],
    ["x.o", false],
    ["sub/a.o", false], // the deeper file re-includes
    ["sub/x.o", true],
    ["sub/deep/a.o", false],
    ["top", true],
    ["sub/top", true], // anchored in sub/.tcfsignore and in the root one
    ["sub/deep/top", false],
    ["other/top", false],
    ["sub/", false], // sub/.tcfsignore does not apply to sub itself
    ["a.tmp", true], // global patterns
    ["keep.tmp", false],
    ["sub/keep.tmp", true], // a .tcfsignore beats the global ones
    ["sub/b.tmp", true], // its dir-only "*.tmp/" does not decide; the global one does
    ["global-only", true],
  ];
  for (const [path, expected] of cases) {
    const { rel, isDir } = entry(path);
    assert.equal(rules.ignores(rel, isDir), expected, path);
  }
});

Deno.test("IgnoreRules: defaults are always ignored and cannot be re-included", () => {
  assert.deepEqual([...DEFAULT_IGNORES], [".tcfs-*", "*.tcfs-tmp-*"]);
  const rules = new IgnoreRules(["!.tcfs-*", "!*"]);
  rules.addFile("", "!.tcfs-pull-x\n!*.tcfs-tmp-*\n");
  assert.equal(rules.ignores(".tcfs-pull-1234", true), true);
  assert.equal(rules.ignores("d/.tcfs-pull-1234/file", false), true);
  assert.equal(rules.ignores("d/report.pdf.tcfs-tmp-9f2c", false), true);
  assert.equal(rules.ignores(".tcfsignore", false), false);
  assert.equal(rules.ignores("sub/.tcfsignore", false), false);
  assert.equal(rules.ignores("tcfs-notes", false), false);
});

Deno.test("IgnoreRules: addFile replaces a directory's rules and clears cached verdicts", () => {
  const rules = new IgnoreRules([]);
  rules.addFile("a", "b/\n");
  assert.equal(rules.ignores("a/b", true), true);
  assert.equal(rules.ignores("a/b/c", false), true);
  rules.addFile("a", "c\n");
  assert.equal(rules.ignores("a/b", true), false);
  assert.equal(rules.ignores("a/b/c", false), true);
  rules.addFile("a", "# only a comment\n");
  assert.equal(rules.ignores("a/b/c", false), false);
  rules.addFile("", "\uFEFFa\n"); // a byte order mark is not part of the pattern
  assert.equal(rules.ignores("a/b/c", false), true);
});

Deno.test("IgnoreRules rejects global patterns that can never match", () => {
  for (const bad of ["[abc", "x[[:nope:]]", "trailing\\"]) {
    assert.throws(() => new IgnoreRules([bad]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`"${bad.replace(/[[\]\\]/g, "\\$&")}" can never match`));
      return true;
    });
  }
  assert.doesNotThrow(() => new IgnoreRules(["# comment", "", "ok/"]));
});

Deno.test("loadIgnoreFile reads .tcfsignore files and skips absent ones and symlinks", async () => {
  const root = await Deno.makeTempDir({ prefix: "tcfs-ignore-" });
  try {
    await Deno.mkdir(`${root}/sub/deep`, { recursive: true });
    await Deno.mkdir(`${root}/dir/.tcfsignore`, { recursive: true });
    await Deno.writeTextFile(`${root}/.tcfsignore`, "*.log\n");
    await Deno.writeTextFile(`${root}/sub/.tcfsignore`, "!keep.log\n");
    await Deno.writeTextFile(`${root}/outside`, "*\n");
    await Deno.symlink(`${root}/outside`, `${root}/sub/deep/.tcfsignore`);
    const rules = new IgnoreRules([]);
    for (const dir of ["", "sub", "sub/deep", "dir", "missing"]) {
      await loadIgnoreFile(rules, root, dir);
    }
    assert.equal(rules.ignores("a.log", false), true);
    assert.equal(rules.ignores("sub/keep.log", false), false);
    assert.equal(rules.ignores("sub/deep/other", false), false); // the symlink was not read
    await Deno.remove(`${root}/sub/.tcfsignore`);
    await loadIgnoreFile(rules, root, "sub");
    assert.equal(rules.ignores("sub/keep.log", false), true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the table agrees with git check-ignore", async () => {
  const wrong: string[] = [];
  for (const [patterns, path] of TABLE) {
    const { wrong: found } = await compareWithGit({
      files: new Map([["", patterns]]),
      global: [],
      paths: withParents([path]),
    });
    wrong.push(...found);
  }
  assert.deepEqual(wrong, []);
});
