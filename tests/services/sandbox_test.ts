import assert from "node:assert/strict";
import { findExecutable, isProcessAlive, ServiceError } from "./process.ts";
import { Sandbox } from "./sandbox.ts";

const sh = findExecutable("sh", "dash");

Deno.test("Sandbox.close stops its daemons and removes its dir", async () => {
  const sandbox = await Sandbox.create("proc");
  const daemon = sandbox.spawn({ name: "d", command: sh, args: ["-c", "exec sleep 1000"] });
  assert.ok(Deno.statSync(`${sandbox.logDir}`).isDirectory);
  await sandbox.close(5_000);
  assert.ok(!isProcessAlive(daemon.pid));
  await assert.rejects(Deno.stat(sandbox.dir), Deno.errors.NotFound);
  await sandbox.close(); // idempotent
  assert.throws(() => sandbox.spawn({ name: "late", command: sh, args: [] }), ServiceError);
});

Deno.test("Sandbox.waitUntil fails fast with the log of a daemon that died", async () => {
  const sandbox = await Sandbox.create("proc");
  try {
    sandbox.spawn({ name: "dying", command: sh, args: ["-c", "echo boom-in-log >&2; exit 3"] });
    await assert.rejects(
      sandbox.waitUntil("never", () => Promise.resolve(false), { timeoutMs: 60_000 }),
      (e: unknown) =>
        e instanceof ServiceError && e.message.includes("dying exited (exit code 3)") &&
        e.message.includes("boom-in-log"),
    );
    await assert.rejects(
      sandbox.run(sh, ["-c", "echo tool-said-no >&2; exit 2"]),
      (e: unknown) =>
        e instanceof ServiceError && e.message.includes("exit code 2") &&
        e.message.includes("tool-said-no"),
    );
  } finally {
    await sandbox.close();
  }
});

/** Start a Deno child that opens a sandbox with one daemon; return it with the daemon's PID and dir. */
async function harnessChild(): Promise<{ child: Deno.ChildProcess; pid: number; dir: string }> {
  const module = new URL("./sandbox.ts", import.meta.url).href;
  const script = `
    import { Sandbox } from ${JSON.stringify(module)};
    const sandbox = await Sandbox.create("proc");
    // tail's command line names the sandbox, as every service daemon's does.
    const d = sandbox.spawn({ name: "d", command: "/usr/bin/tail", args: ["-f", sandbox.dir + "/logs/d.out"] });
    console.log(JSON.stringify({ pid: d.pid, dir: sandbox.dir }));
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("harness child exited early");
    text += value;
  }
  await reader.cancel();
  return { child, ...JSON.parse(text) };
}

async function gone(pid: number, dir: string): Promise<boolean> {
  // Poll with a generous bound: the watchdog checks once a second.
  for (let i = 0; i < 300; i++) {
    const dirGone = await Deno.stat(dir).then(() => false, () => true);
    if (!isProcessAlive(pid) && dirGone) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

Deno.test("the watchdog kills daemons and removes the dir when the harness is SIGKILLed", async () => {
  const { child, pid, dir } = await harnessChild();
  assert.ok(isProcessAlive(pid));
  child.kill("SIGKILL");
  await child.status;
  assert.ok(await gone(pid, dir), `daemon ${pid} or ${dir} survived the harness`);
});

Deno.test("a SIGTERM to the harness stops its daemons before it exits", async () => {
  const { child, pid, dir } = await harnessChild();
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 143);
  assert.ok(await gone(pid, dir), `daemon ${pid} or ${dir} survived the harness`);
});
