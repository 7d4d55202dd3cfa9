/**
 * Cross-checks of {@linkcode IgnoreRules} against `git check-ignore`, for the
 * ignore tests: a scenario (ignore files, global patterns, a tree) is built
 * in a scratch git repository and every path's verdict is compared.
 *
 * @module
 */

import assert from "node:assert/strict";
import { IgnoreRules } from "../ignore.ts";

/** Ignore files, global patterns and paths to ask about. */
export interface Scenario {
  /** .gitignore text per directory ("" = root). */
  files: Map<string, string>;
  /** Lines of .git/info/exclude, the git counterpart of the global patterns. */
  global: string[];
  /** Directories (ending in "/") and files to create and ask about. */
  paths: string[];
}

/** What {@linkcode compareWithGit} found. */
export interface Comparison {
  /** One line per path where tcfs and git disagree. */
  wrong: string[];
  /** Paths git ignored. */
  ignored: number;
  /** Paths git kept. */
  kept: number;
}

/** A path to ask about; directories end with "/" in scenarios and tables. */
export function entry(path: string): { rel: string; isDir: boolean } {
  return path.endsWith("/") ? { rel: path.slice(0, -1), isDir: true } : { rel: path, isDir: false };
}

/** Every ancestor directory of the paths, as "dir/" entries, plus the paths. */
export function withParents(paths: string[]): string[] {
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

/** Compare IgnoreRules with git on a scenario. */
export async function compareWithGit(s: Scenario): Promise<Comparison> {
  const expected = await gitVerdicts(s);
  const result: Comparison = { wrong: [], ignored: 0, kept: 0 };
  for (const v of expected.values()) v ? result.ignored++ : result.kept++;
  const rules = new IgnoreRules(s.global);
  for (const [d, text] of s.files) rules.addFile(d, text);
  for (const path of s.paths) {
    const { rel, isDir } = entry(path);
    const ours = rules.ignores(rel, isDir);
    if (ours !== expected.get(rel)) {
      result.wrong.push(
        `${path}: tcfs ${ours}, git ${expected.get(rel)} with ${
          JSON.stringify({ ...s, files: Object.fromEntries(s.files) })
        }`,
      );
    }
  }
  return result;
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
