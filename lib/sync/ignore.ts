/**
 * Ignore rules for sync, in gitignore syntax.
 *
 * Patterns come from three places, checked in this order:
 *
 * 1. {@link DEFAULT_IGNORES}: tcfs's own temporary names, always ignored; no
 *    pattern can re-include them.
 * 2. `.tcfsignore` files. One in directory `d` applies to paths below `d`,
 *    and a deeper file takes precedence over a shallower one.
 * 3. Global patterns from the configuration, relative to the sync root, with
 *    the lowest precedence (the role `.git/info/exclude` has for git).
 *
 * Within one source the last matching pattern wins, and a path is ignored
 * whenever one of its parent directories is, whatever later patterns say.
 *
 * The syntax and matching follow gitignore(5) and git's wildmatch, and the
 * tests compare the results with `git check-ignore` itself. Two deliberate
 * differences: `?` and `[...]` match one Unicode character where git matches
 * one byte (they agree on ASCII names), and matching is always case-sensitive.
 * One git quirk is reproduced on purpose: a pattern with a slash is compared
 * as a literal prefix up to its first wildcard and then as a glob, so a `**`
 * that directly follows that prefix (as in `x/a**` followed by `/b`) spans
 * directories as a leading `**` would; git behaves so, and users port their
 * .gitignore files.
 *
 * @module
 */

import { ConfigError, TcfsError } from "../errors.ts";

/** Answers whether a path below the sync root is ignored. */
export interface IgnoreMatcher {
  /** Whether `rel` (a file, or a directory when isDir) is ignored. */
  ignores(rel: string, isDir: boolean): boolean;
}

/**
 * Patterns that are always ignored, whatever the other rules say: the names
 * tcfs itself gives to temporary files and directories. `.tcfs-*` covers the
 * `.tcfs-pull-*` staging directories of pull; `*.tcfs-tmp-*` covers files
 * written beside their destination before an atomic rename. `.tcfsignore`
 * (no dash) is not matched: it syncs like any file.
 */
export const DEFAULT_IGNORES: readonly string[] = Object.freeze([".tcfs-*", "*.tcfs-tmp-*"]);

/** Name of the per-directory ignore file. */
export const IGNORE_FILE = ".tcfsignore";

/**
 * How a pattern is tested: a literal name or path, a name made of one literal
 * and outer stars (`*.log`, `tmp-*`, `*~*`: plain string tests, the common
 * case), a RegExp on the name or on the path, or never (bad syntax).
 */
type Kind = "name" | "path" | "suffix" | "prefix" | "infix" | "nameGlob" | "pathGlob" | "never";

/** One parsed pattern line. */
interface Pattern {
  text: string;
  negated: boolean;
  dirOnly: boolean;
  kind: Kind;
  /** The literal, or the RegExp source for globs. */
  value: string;
}

/** Patterns of one run of same-signed lines, for files or for directories. */
interface Matcher {
  /** Literal names and paths (null when empty, to skip hashing). */
  names: Set<string> | null;
  paths: Set<string> | null;
  /** Name patterns `*lit`, `lit*` and `*lit*`, tested as strings: the common cases. */
  suffixes: string[];
  prefixes: string[];
  infixes: string[];
  /** Everything else, one alternation each. */
  nameRe: RegExp | null;
  pathRe: RegExp | null;
}

/** Consecutive lines of the same sign: any match among them decides alike. */
interface Run {
  negated: boolean;
  file: Matcher;
  dir: Matcher;
}

/** The compiled patterns of one source. */
type PatternList = Run[];

/** A .tcfsignore's patterns and how much of a path to cut to make it relative to them. */
interface Scoped {
  list: PatternList;
  /** Length of "<dir>/" (0 at the root). */
  cut: number;
}

/** What a directory's children need: whether it is ignored, and the .tcfsignore files above them. */
interface DirState {
  ignored: boolean;
  /** Deepest first. */
  lists: readonly Scoped[];
}

/** Build a matcher from config patterns; .tcfsignore files are added as the walk discovers them. */
export class IgnoreRules implements IgnoreMatcher {
  readonly #defaults: PatternList;
  readonly #global: PatternList;
  readonly #files = new Map<string, PatternList>();
  /**
   * Per directory asked about so far (files ask about their parent), so a
   * path costs one map lookup plus its own pattern tests, whatever its depth.
   * It holds one entry per directory of the tree and is rebuilt after addFile.
   */
  readonly #dirs = new Map<string, DirState>();

  /**
   * Compile the global patterns (each string is one pattern line, relative to
   * the sync root). Throws {@link ConfigError} for a pattern that could never
   * match because of its syntax (unclosed `[`, unknown `[:class:]`, trailing
   * backslash), which is almost always a typo.
   */
  constructor(globalPatterns: string[]) {
    const patterns = parseLines(globalPatterns);
    const broken = patterns.find((p) => p.kind === "never");
    if (broken !== undefined) {
      throw new ConfigError(
        `ignore pattern "${broken.text}" can never match (unclosed "[", unknown "[:class:]" ` +
          `or trailing "\\"); fix it in the sync configuration`,
      );
    }
    this.#global = compile(patterns);
    this.#defaults = compile(parseLines(DEFAULT_IGNORES));
  }

  /**
   * Add the patterns of a .tcfsignore found in directory `dirRel` ("" for the
   * root). They replace any earlier ones for that directory, so calling this
   * again after the file changed (or with "" after it was deleted) updates
   * the rules. Lines that can never match are skipped silently, as git does.
   */
  addFile(dirRel: string, text: string): void {
    const patterns = parseLines(text.replace(/^\uFEFF/, "").split("\n"));
    if (patterns.length === 0) {
      if (this.#files.delete(dirRel)) this.#dirs.clear();
      return;
    }
    this.#files.set(dirRel, compile(patterns));
    this.#dirs.clear();
  }

  /** Whether `rel` (a file, or a directory when isDir) is ignored. */
  ignores(rel: string, isDir: boolean): boolean {
    if (isDir) return this.#dir(rel).ignored;
    const slash = rel.lastIndexOf("/");
    const parent = this.#dir(slash < 0 ? "" : rel.slice(0, slash));
    return parent.ignored || this.#matches(parent.lists, rel, rel.slice(slash + 1), false);
  }

  #dir(dir: string): DirState {
    let state = this.#dirs.get(dir);
    if (state === undefined) {
      const own = this.#files.get(dir);
      if (dir === "") {
        state = { ignored: false, lists: own === undefined ? [] : [{ list: own, cut: 0 }] };
      } else {
        const slash = dir.lastIndexOf("/");
        const parent = this.#dir(slash < 0 ? "" : dir.slice(0, slash));
        state = {
          ignored: parent.ignored || this.#matches(parent.lists, dir, dir.slice(slash + 1), true),
          lists: own === undefined
            ? parent.lists
            : [{ list: own, cut: dir.length + 1 }, ...parent.lists],
        };
      }
      this.#dirs.set(dir, state);
    }
    return state;
  }

  /** Whether the patterns exclude `rel` itself, its parents aside. */
  #matches(lists: readonly Scoped[], rel: string, name: string, isDir: boolean): boolean {
    if (matchList(this.#defaults, rel, name, isDir) === true) return true;
    for (const { list, cut } of lists) {
      const verdict = matchList(list, cut === 0 ? rel : rel.slice(cut), name, isDir);
      if (verdict !== undefined) return verdict;
    }
    return matchList(this.#global, rel, name, isDir) === true;
  }
}

/** Convenience: read `<root>/<dirRel>/.tcfsignore` if present and add it. */
export async function loadIgnoreFile(
  rules: IgnoreRules,
  root: string,
  dirRel: string,
): Promise<void> {
  const path = dirRel === "" ? `${root}/${IGNORE_FILE}` : `${root}/${dirRel}/${IGNORE_FILE}`;
  let text = "";
  try {
    // A symlink is not followed (git does the same for in-tree .gitignore),
    // so a link cannot pull rules in from outside the tree.
    const info = await Deno.lstat(path);
    if (info.isFile) text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
      throw new TcfsError(`${path}: cannot read ignore file: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  rules.addFile(dirRel, text);
}

/** The verdict of the last matching pattern of a list: true ignored, false re-included. */
function matchList(
  list: PatternList,
  rel: string,
  name: string,
  isDir: boolean,
): boolean | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const run = list[i];
    if (runMatches(isDir ? run.dir : run.file, rel, name)) return !run.negated;
  }
  return undefined;
}

function runMatches(m: Matcher, rel: string, name: string): boolean {
  if (m.names !== null && m.names.has(name)) return true;
  if (m.paths !== null && m.paths.has(rel)) return true;
  for (const s of m.suffixes) if (name.endsWith(s)) return true;
  for (const s of m.prefixes) if (name.startsWith(s)) return true;
  for (const s of m.infixes) if (name.includes(s)) return true;
  return (m.nameRe !== null && m.nameRe.test(name)) || (m.pathRe !== null && m.pathRe.test(rel));
}

/** Parse pattern lines (gitignore(5): comments, blanks, escapes, `!`, slashes). */
function parseLines(lines: readonly string[]): Pattern[] {
  const out: Pattern[] = [];
  for (const raw of lines) {
    for (let line of raw.split("\n")) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.startsWith("#")) continue;
      const pattern = parsePattern(trimTrailingSpaces(line));
      if (pattern !== null) out.push(pattern);
    }
  }
  return out;
}

/** Drop unescaped trailing spaces (only spaces, not tabs, as git does). */
function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === " ") {
    let backslashes = 0;
    while (end - 2 - backslashes >= 0 && line[end - 2 - backslashes] === "\\") backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return line.slice(0, end);
}

function parsePattern(line: string): Pattern | null {
  const text = line;
  const negated = line.startsWith("!");
  if (negated) line = line.slice(1);
  const dirOnly = line.endsWith("/");
  if (dirOnly) line = line.slice(0, -1);
  if (line === "") return null;
  const chars = Array.from(line);
  // No slash: match the name at any depth. Otherwise: the path below the file's directory.
  const onName = !line.includes("/");
  let prefix = chars.findIndex((c) => c === "*" || c === "?" || c === "[" || c === "\\");
  if (prefix < 0) prefix = chars.length;
  if (!onName && chars[0] === "/") {
    chars.shift();
    prefix--;
  }
  const glob = chars.join("");
  const pattern = (kind: Kind, value: string) => ({ text, negated, dirOnly, kind, value });
  if (prefix === chars.length) return pattern(onName ? "name" : "path", glob);
  const affix = onName ? /^(\*?)([^*?[\\]+)(\*?)$/.exec(glob) : null;
  if (affix !== null && (affix[1] !== "" || affix[3] !== "")) {
    const kind = affix[1] === "" ? "prefix" : affix[3] === "" ? "suffix" : "infix";
    return pattern(kind, affix[2]);
  }
  const source = globToRegExp(chars, onName ? -1 : prefix);
  return pattern(source === null ? "never" : onName ? "nameGlob" : "pathGlob", source ?? "");
}

/** Group same-signed runs and compile each into sets and one RegExp per kind. */
function compile(patterns: Pattern[]): PatternList {
  const runs: Run[] = [];
  let group: Pattern[] = [];
  const flush = () => {
    if (group.length === 0) return;
    runs.push({
      negated: group[0].negated,
      file: matcher(group.filter((p) => !p.dirOnly)),
      dir: matcher(group),
    });
    group = [];
  };
  for (const p of patterns) {
    if (p.kind === "never") continue;
    if (group.length > 0 && group[0].negated !== p.negated) flush();
    group.push(p);
  }
  flush();
  return runs;
}

function matcher(patterns: Pattern[]): Matcher {
  const of = (kind: Kind) => patterns.filter((p) => p.kind === kind).map((p) => p.value);
  const set = (xs: string[]) => xs.length === 0 ? null : new Set(xs);
  const re = (xs: string[]) => xs.length === 0 ? null : new RegExp(`^(?:${xs.join("|")})$`, "su");
  return {
    names: set(of("name")),
    paths: set(of("path")),
    suffixes: of("suffix"),
    prefixes: of("prefix"),
    infixes: of("infix"),
    nameRe: re(of("nameGlob")),
    pathRe: re(of("pathGlob")),
  };
}

/**
 * Translate wildmatch syntax to a RegExp source, or null when the pattern
 * cannot match. `quirkAt` is where git splits off the literal prefix (-1 for
 * name patterns), which counts as a pattern start for `**`.
 */
function globToRegExp(p: string[], quirkAt: number): string | null {
  let out = "";
  let i = 0;
  while (i < p.length) {
    const c = p[i];
    if (c === "*") {
      let j = i;
      while (p[j] === "*") j++;
      const atStart = i === 0 || p[i - 1] === "/" || i === quirkAt;
      if (j - i >= 2 && atStart && quirkAt >= 0) {
        if (j === p.length) {
          out += ".*";
          i = j;
          continue;
        }
        if (p[j] === "/") {
          out += "(?:.*/)?"; // zero or more whole directories
          i = j + 1;
          continue;
        }
        if (p[j] === "\\" && p[j + 1] === "/") {
          out += ".*/"; // wildmatch tries no zero-directory shortcut here
          i = j + 2;
          continue;
        }
      }
      out += "[^/]*";
      i = j;
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "[") {
      const cls = bracket(p, i);
      if (cls === null) return null;
      out += cls.source;
      i = cls.end;
    } else if (c === "\\") {
      if (i + 1 >= p.length) return null;
      out += escapeChar(p[i + 1]);
      i += 2;
    } else {
      out += escapeChar(c);
      i++;
    }
  }
  return out;
}

const SYNTAX = new Set("^$\\.*+?()[]{}|/");

function escapeChar(c: string): string {
  return SYNTAX.has(c) ? `\\${c}` : c;
}

function hex(c: number): string {
  return `\\u{${c.toString(16)}}`;
}

/** ASCII classes of wildmatch (git's own ctype: no \v or \f in space). */
const CLASSES = new Map<string, [number, number][]>([
  ["alnum", [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]]],
  ["alpha", [[0x41, 0x5a], [0x61, 0x7a]]],
  ["blank", [[0x09, 0x09], [0x20, 0x20]]],
  ["cntrl", [[0x00, 0x1f], [0x7f, 0x7f]]],
  ["digit", [[0x30, 0x39]]],
  ["graph", [[0x21, 0x7e]]],
  ["lower", [[0x61, 0x7a]]],
  ["print", [[0x20, 0x7e]]],
  ["punct", [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]]],
  ["space", [[0x09, 0x0a], [0x0d, 0x0d], [0x20, 0x20]]],
  ["upper", [[0x41, 0x5a]]],
  ["xdigit", [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]]],
]);

/**
 * Parse a bracket expression at `p[start]` the way wildmatch does: `!` or `^`
 * negates, a leading `]` is literal, `\` escapes, `a-z` ranges, `[:class:]`.
 * It never matches `/`. Returns null when unclosed or malformed.
 */
function bracket(p: string[], start: number): { source: string; end: number } | null {
  let j = start + 1;
  const negated = p[j] === "!" || p[j] === "^";
  if (negated) j++;
  const ranges: [number, number][] = [];
  let prev = -1; // the previous single character, a possible range start
  do {
    let c = p[j];
    if (c === undefined) return null;
    if (c === "\\") {
      c = p[++j];
      if (c === undefined) return null;
      prev = c.codePointAt(0)!;
      ranges.push([prev, prev]);
    } else if (c === "-" && prev >= 0 && p[j + 1] !== undefined && p[j + 1] !== "]") {
      let hi = p[++j];
      if (hi === "\\") {
        hi = p[++j];
        if (hi === undefined) return null;
      }
      const h = hi.codePointAt(0)!;
      if (prev <= h) ranges.push([prev, h]);
      prev = -1;
    } else if (c === "[" && p[j + 1] === ":") {
      let k = j + 2;
      while (p[k] !== undefined && p[k] !== "]") k++;
      if (p[k] === undefined) return null;
      if (k === j + 2 || p[k - 1] !== ":") {
        prev = 0x5b; // no ":]": the "[" is an ordinary member
        ranges.push([prev, prev]);
      } else {
        const cls = CLASSES.get(p.slice(j + 2, k - 1).join(""));
        if (cls === undefined) return null;
        ranges.push(...cls);
        prev = -1;
        j = k;
      }
    } else {
      prev = c.codePointAt(0)!;
      ranges.push([prev, prev]);
    }
    j++;
  } while (p[j] !== "]");
  const body = ranges.map(([lo, hi]) => lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`).join("");
  if (negated) return { source: `[^/${body}]`, end: j + 1 };
  const slash = ranges.some(([lo, hi]) => lo <= 0x2f && 0x2f <= hi);
  return { source: slash ? `(?!/)[${body}]` : `[${body}]`, end: j + 1 };
}
