import assert from "node:assert/strict";
import { compareWithGit, type Scenario } from "./testing/check_ignore.ts";

// Random ignore files and trees, each checked against `git check-ignore`.

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
  const tally = { ignored: 0, kept: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const scenario = randomScenario(seed);
    compared += scenario.paths.length;
    const result = await compareWithGit(scenario);
    tally.ignored += result.ignored;
    tally.kept += result.kept;
    wrong.push(...result.wrong.map((w) => `seed ${seed}: ${w}`));
  }
  assert.ok(compared > 2000, `only ${compared} paths compared`);
  console.log(`compared ${compared} paths: git ignored ${tally.ignored}, kept ${tally.kept}`);
  assert.ok(tally.ignored > compared / 10 && tally.kept > compared / 10, JSON.stringify(tally));
  assert.deepEqual(wrong.slice(0, 5), []);
});
