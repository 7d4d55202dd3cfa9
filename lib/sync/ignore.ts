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
 * The syntax and matching follow gitignore(5) and git's wildmatch
 * (`ignore_pattern.ts` compiles one source's lines, `wildmatch.ts` translates
 * globs and lists the deliberate differences from git), and the tests compare
 * the results with `git check-ignore` itself. This module stacks the sources
 * per directory.
 *
 * @module
 */

import { ConfigError, TcfsError } from "../errors.ts";
import {
  compilePatterns,
  matchPatterns,
  parsePatterns,
  type PatternList,
} from "./ignore_pattern.ts";

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
    const patterns = parsePatterns(globalPatterns);
    const broken = patterns.find((p) => p.kind === "never");
    if (broken !== undefined) {
      throw new ConfigError(
        `ignore pattern "${broken.text}" can never match (unclosed "[", unknown "[:class:]" ` +
          `or trailing "\\"); fix it in the sync configuration`,
      );
    }
    this.#global = compilePatterns(patterns);
    this.#defaults = compilePatterns(parsePatterns(DEFAULT_IGNORES));
  }

  /**
   * Add the patterns of a .tcfsignore found in directory `dirRel` ("" for the
   * root). They replace any earlier ones for that directory, so calling this
   * again after the file changed (or with "" after it was deleted) updates
   * the rules. Lines that can never match are skipped silently, as git does.
   */
  addFile(dirRel: string, text: string): void {
    const patterns = parsePatterns(text.replace(/^\uFEFF/, "").split("\n"));
    if (patterns.length === 0) {
      if (this.#files.delete(dirRel)) this.#dirs.clear();
      return;
    }
    this.#files.set(dirRel, compilePatterns(patterns));
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
    if (matchPatterns(this.#defaults, rel, name, isDir) === true) return true;
    for (const { list, cut } of lists) {
      const verdict = matchPatterns(list, cut === 0 ? rel : rel.slice(cut), name, isDir);
      if (verdict !== undefined) return verdict;
    }
    return matchPatterns(this.#global, rel, name, isDir) === true;
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
