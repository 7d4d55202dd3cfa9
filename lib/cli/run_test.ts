import { assert, assertEquals } from "../../tests/assert.ts";
import { type Command, lazyCommand } from "./command.ts";
import { runCli } from "./run.ts";
import { TcfsError } from "../errors.ts";

const echo: Command = {
  name: "echo",
  summary: "print arguments",
  usage: "echo <word>... [--upper]",
  options: { upper: { type: "boolean", short: "u", help: "upper-case" } },
  minArgs: 1,
  run(ctx, { positionals, values }) {
    const words = values.upper ? positionals.map((w) => w.toUpperCase()) : positionals;
    ctx.out.result({ words }, (r) => r.words.join(" "));
    return Promise.resolve(0);
  },
};
const failing: Command = {
  name: "fail",
  summary: "always fails",
  usage: "fail",
  run() {
    throw new TcfsError("the bucket 'x' does not exist: create it first");
  },
};
const crashing: Command = {
  name: "crash",
  summary: "throws an unexpected error",
  usage: "crash",
  run() {
    throw new RangeError("index out of range\n    at somewhere");
  },
};

async function run(argv: string[]) {
  let out = "";
  const err: string[] = [];
  const code = await runCli(argv, [echo, failing, crashing], {
    stdout: (t) => out += t,
    stderr: (l) => err.push(l),
    isTerminal: false,
  });
  return { code, out, err: err.join("\n") };
}

Deno.test("dispatches to the subcommand with options after it", async () => {
  const r = await run(["echo", "a", "-u", "b"]);
  assertEquals(r.code, 0);
  assertEquals(r.out, "A B\n");
});

Deno.test("--json gives machine-readable output, before or after the command", async () => {
  for (const argv of [["--json", "echo", "x"], ["echo", "x", "--json"]]) {
    const r = await run(argv);
    assertEquals(JSON.parse(r.out), { words: ["x"] });
  }
});

Deno.test("help for the whole and for a subcommand exit 0", async () => {
  const all = await run(["--help"]);
  assertEquals(all.code, 0);
  assert(all.out.includes("echo") && all.out.includes("fail"));
  const one = await run(["echo", "--help"]);
  assertEquals(one.code, 0);
  assert(one.out.includes("Usage: tcfs echo <word>"));
  assert(one.out.includes("--upper"));
});

Deno.test("usage errors exit 2 with a pointer to help", async () => {
  for (const argv of [["frobnicate"], ["echo"], ["echo", "x", "--nope"], ["--nope", "echo"], []]) {
    const r = await run(argv);
    assertEquals(r.code, 2, argv.join(" "));
  }
  const r = await run(["frobnicate"]);
  assert(r.err.includes("unknown command 'frobnicate'"));
  assert(r.err.includes("tcfs --help"));
});

Deno.test("failures exit 1 with one line and no stack; --debug adds the stack", async () => {
  const r = await run(["fail"]);
  assertEquals(r.code, 1);
  assertEquals(r.err, "tcfs: error: the bucket 'x' does not exist: create it first");
  const crash = await run(["crash"]);
  assertEquals(crash.code, 1);
  assert(!crash.err.includes("at somewhere"));
  const debug = await run(["--debug", "crash"]);
  assert(debug.err.includes("RangeError"), debug.err);
});

Deno.test("a lazy command is loaded only to run it or to list the commands", async () => {
  const loads: string[] = [];
  const lazy = (command: Command) =>
    lazyCommand(command.name, () => {
      loads.push(command.name);
      return Promise.resolve(command);
    });
  const commands = [lazy(echo), lazy(failing)];
  const out: string[] = [];
  const io = { stdout: (t: string) => void out.push(t), stderr: () => {}, isTerminal: false };
  assertEquals(await runCli(["echo", "hi"], commands, io), 0);
  assertEquals(loads, ["echo"]);
  assertEquals(out, ["hi\n"]);
  assertEquals(await runCli(["--help"], commands, io), 0);
  assertEquals(loads, ["echo", "echo", "fail"]);
  assert(out[1].includes("always fails"));
  // A command listed under another name is a bug in the list, not a usage error.
  const wrong = lazyCommand("other", () => Promise.resolve(echo));
  assertEquals(await runCli(["other", "x"], [wrong], io), 1);
});
