/**
 * Translation of git's wildmatch glob syntax (`*`, `**`, `?`, `[...]`,
 * `[:class:]`, `\` escapes) to RegExp source, for the ignore patterns.
 *
 * Two deliberate differences from git: `?` and `[...]` match one Unicode
 * character where git matches one byte (they agree on ASCII names), and
 * matching is always case-sensitive. One git quirk is reproduced on purpose:
 * a pattern with a slash is compared as a literal prefix up to its first
 * wildcard and then as a glob, so a `**` that directly follows that prefix
 * (as in `x/a**` followed by `/b`) spans directories as a leading `**` would;
 * git behaves so, and users port their .gitignore files.
 *
 * @module
 */

/**
 * Translate wildmatch syntax (the pattern's characters) to a RegExp source,
 * or null when the pattern cannot match. `quirkAt` is where git splits off
 * the literal prefix (-1 for name patterns), which counts as a pattern start
 * for `**`.
 */
export function globToRegExp(p: readonly string[], quirkAt: number): string | null {
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
function bracket(p: readonly string[], start: number): { source: string; end: number } | null {
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
