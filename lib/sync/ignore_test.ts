import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { DEFAULT_IGNORES, IgnoreRules, loadIgnoreFile } from "./ignore.ts";

/** A path to ask about; directories end with "/" in these tables. */
type Case = [patterns: string, path: string, expected: boolean];

function entry(path: string): { rel: string; isDir: boolean } {
  return path.endsWith("/") ? { rel: path.slice(0, -1), isDir: true } : { rel: path, isDir: false };
}

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

// ---- Cross-checks against git itself ----

interface Scenario {
  /** .gitignore text per directory ("" = root). */
  files: Map<string, string>;
  /** Lines of .git/info/exclude, the git counterpart of the global patterns. */
  global: string[];
  /** Directories (ending in "/") and files to create and ask about. */
  paths: string[];
}

const gitEnv = (home: string): Record<string, string> => ({
  HOME: home,
  XDG_CONFIG_HOME: home,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
});

/** Ask `git check-ignore` which of the scenario's paths are ignored. */
async function gitVerdicts(s: Scenario): Promise<Map<string, boolean>> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-ignore-git-" });
  try {
    const repo = `${dir}/repo`;
    const env = gitEnv(dir);
    const init = await new Deno.Command("git", { args: ["init", "-q", repo], env }).output();
    assert.equal(init.code, 0, new TextDecoder().decode(init.stderr));
    for (const path of s.paths) {
      if (path.endsWith("/")) await Deno.mkdir(`${repo}/${path}`, { recursive: true });
    }
    for (const path of s.paths) {
      if (!path.endsWith("/")) await Deno.writeTextFile(`${repo}/${path}`, "");
    }
    for (const [d, text] of s.files) {
      await Deno.writeTextFile(`${repo}/${d === "" ? "" : d + "/"}.gitignore`, text);
    }
    await Deno.writeTextFile(`${repo}/.git/info/exclude`, s.global.join("\n") + "\n");
    const child = new Deno.Command("git", {
      args: ["check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
      cwd: repo,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(s.paths.map((p) => entry(p).rel + "\0").join("")));
    await writer.close();
    const out = await child.output();
    const fields = new TextDecoder().decode(out.stdout).split("\0");
    const verdicts = new Map<string, boolean>();
    for (let i = 0; i + 3 < fields.length; i += 4) {
      const [source, , pattern, path] = fields.slice(i, i + 4);
      verdicts.set(path, source !== "" && !pattern.startsWith("!"));
    }
    assert.equal(verdicts.size, s.paths.length, new TextDecoder().decode(out.stderr));
    return verdicts;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Paths git said were ignored and not, over every comparison (so the fuzzing is not vacuous). */
const tally = { ignored: 0, kept: 0 };

/** Compare IgnoreRules with git on a scenario; returns the disagreements. */
async function compareWithGit(s: Scenario): Promise<string[]> {
  const expected = await gitVerdicts(s);
  for (const v of expected.values()) v ? tally.ignored++ : tally.kept++;
  const rules = new IgnoreRules(s.global);
  for (const [d, text] of s.files) rules.addFile(d, text);
  const wrong: string[] = [];
  for (const path of s.paths) {
    const { rel, isDir } = entry(path);
    const ours = rules.ignores(rel, isDir);
    if (ours !== expected.get(rel)) {
      wrong.push(
        `${path}: tcfs ${ours}, git ${expected.get(rel)} with ${
          JSON.stringify({ ...s, files: Object.fromEntries(s.files) })
        }`,
      );
    }
  }
  return wrong;
}

/** Every ancestor directory of the paths, as "dir/" entries, plus the paths. */
function withParents(paths: string[]): string[] {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (i < parts.length - 1 || parts[i] !== "") all.add(parts.slice(0, i).join("/") + "/");
    }
    all.add(p);
  }
  return [...all];
}

Deno.test("the table agrees with git check-ignore", async () => {
  const wrong: string[] = [];
  for (const [patterns, path] of TABLE) {
    wrong.push(
      ...await compareWithGit({
        files: new Map([["", patterns]]),
        global: [],
        paths: withParents([path]),
      }),
    );
  }
  assert.deepEqual(wrong, []);
});

/** Small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ["a", "b", "c", "ab", "ba", "abc", "a.b", "b.c", "x.log", "a b", "[a]", "a*", "#c"];
const TOKENS = [
  "a",
  "b",
  "c",
  "ab",
  ".",
  "x",
  "*",
  "?",
  "**",
  "[ab]",
  "[!a]",
  "[a-c]",
  "[-b]",
  "[a-b-c]",
  "[]a]",
  "\\*",
  "[[:alpha:]]",
  ".log",
  " ",
];

function randomScenario(seed: number): Scenario {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const paths: string[] = [];
  const dirs: string[] = [""];
  const grow = (dir: string, depth: number) => {
    const names = new Set<string>();
    const count = 1 + Math.floor(rnd() * 4);
    while (names.size < count) names.add(pick(NAMES));
    for (const name of names) {
      const path = dir === "" ? name : `${dir}/${name}`;
      if (depth < 3 && rnd() < 0.45) {
        paths.push(path + "/");
        dirs.push(path);
        grow(path, depth + 1);
      } else {
        paths.push(path);
      }
    }
  };
  grow("", 0);
  const segment = () => {
    if (rnd() < 0.35) return pick(NAMES);
    let s = "";
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) s += pick(TOKENS);
    return s;
  };
  const line = () => {
    const r = rnd();
    if (r < 0.03) return "";
    if (r < 0.06) return "# " + segment();
    let p = Array.from({ length: 1 + Math.floor(rnd() * 3) }, segment).join("/");
    const lead = rnd();
    if (lead < 0.2) p = "/" + p;
    else if (lead < 0.3) p = "**/" + p;
    const trail = rnd();
    if (trail < 0.2) p += "/";
    else if (trail < 0.3) p += "/**";
    else if (trail < 0.35) p += "  ";
    if (rnd() < 0.3) p = "!" + p;
    return p;
  };
  const lines = (n: number) => Array.from({ length: n }, line).join("\n") + "\n";
  const files = new Map<string, string>([["", lines(3 + Math.floor(rnd() * 6))]]);
  if (dirs.length > 1 && rnd() < 0.6) {
    files.set(pick(dirs.slice(1)), lines(1 + Math.floor(rnd() * 3)));
  }
  const global = rnd() < 0.4 ? lines(1 + Math.floor(rnd() * 2)).trimEnd().split("\n") : [];
  return { files, global: global.filter((g) => !/\[[^\]]*$|\\$/.test(g)), paths };
}

Deno.test("IgnoreRules agrees with git check-ignore on random patterns and trees", async () => {
  const wrong: string[] = [];
  let compared = 0;
  tally.ignored = tally.kept = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const scenario = randomScenario(seed);
    compared += scenario.paths.length;
    wrong.push(...(await compareWithGit(scenario)).map((w) => `seed ${seed}: ${w}`));
  }
  assert.ok(compared > 2000, `only ${compared} paths compared`);
  console.log(`compared ${compared} paths: git ignored ${tally.ignored}, kept ${tally.kept}`);
  assert.ok(tally.ignored > compared / 10 && tally.kept > compared / 10, JSON.stringify(tally));
  assert.deepEqual(wrong.slice(0, 5), []);
});
