/**
 * The gitignore pattern compiler: pattern lines of one source (a .tcfsignore
 * file, the global configuration) parsed as gitignore(5) reads them, compiled
 * into string tests and RegExps, and matched against one path with "the last
 * matching pattern wins". Which sources apply to a path, and the rule that a
 * path inside an ignored directory is ignored, live in `ignore.ts`.
 *
 * @module
 */

import { globToRegExp } from "./wildmatch.ts";

/**
 * How a pattern is tested: a literal name or path, a name made of one literal
 * and outer stars (`*.log`, `tmp-*`, `*~*`: plain string tests, the common
 * case), a RegExp on the name or on the path, or never (bad syntax).
 */
export type PatternKind =
  | "name"
  | "path"
  | "suffix"
  | "prefix"
  | "infix"
  | "nameGlob"
  | "pathGlob"
  | "never";

/** One parsed pattern line. */
export interface Pattern {
  /** The line as written, trailing spaces trimmed, for error messages. */
  text: string;
  /** Whether the line starts with `!` (re-includes what it matches). */
  negated: boolean;
  /** Whether the line ends with `/` (matches directories only). */
  dirOnly: boolean;
  /** How the pattern is tested. */
  kind: PatternKind;
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

/** The compiled patterns of one source, opaque outside this module. */
export type PatternList = readonly Run[];

/** Parse pattern lines (gitignore(5): comments, blanks, escapes, `!`, slashes). */
export function parsePatterns(lines: readonly string[]): Pattern[] {
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

/**
 * Group same-signed runs and compile each into sets and one RegExp per kind.
 * Patterns that can never match are left out.
 */
export function compilePatterns(patterns: readonly Pattern[]): PatternList {
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

/**
 * The verdict of the last pattern of `list` that matches `rel` (the path
 * relative to the patterns' directory) with last component `name`: true
 * ignored, false re-included, undefined when none matches.
 */
export function matchPatterns(
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
  const pattern = (kind: PatternKind, value: string) => ({ text, negated, dirOnly, kind, value });
  if (prefix === chars.length) return pattern(onName ? "name" : "path", glob);
  const affix = onName ? /^(\*?)([^*?[\\]+)(\*?)$/.exec(glob) : null;
  if (affix !== null && (affix[1] !== "" || affix[3] !== "")) {
    const kind = affix[1] === "" ? "prefix" : affix[3] === "" ? "suffix" : "infix";
    return pattern(kind, affix[2]);
  }
  const source = globToRegExp(chars, onName ? -1 : prefix);
  return pattern(source === null ? "never" : onName ? "nameGlob" : "pathGlob", source ?? "");
}

function matcher(patterns: readonly Pattern[]): Matcher {
  const of = (kind: PatternKind) => patterns.filter((p) => p.kind === kind).map((p) => p.value);
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
