import assert from "node:assert/strict";
import { Daemon, findExecutable, isProcessAlive, ServiceError } from "./process.ts";

const sh = findExecutable("sh", "dash");

Deno.test("findExecutable names the Debian package of a missing binary", () => {
  assert.throws(
    () => findExecutable("tcfs-no-such-daemon", "tcfs-pkg"),
    (e: unknown) =>
      e instanceof ServiceError && e.message.includes("tcfs-no-such-daemon") &&
      e.message.includes("tcfs-pkg"),
  );
});

Deno.test("findExecutable finds daemons outside PATH in sbin", () => {
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", "/nonexistent");
  try {
    assert.equal(findExecutable("sh", "dash").endsWith("/sh"), true);
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
  }
});

Deno.test("Daemon logs to its file and stops by PID: SIGTERM, or SIGKILL after the grace period", async () => {
  const dir = await Deno.makeTempDir();
  const spawn = (name: string, script: string) =>
    Daemon.spawn(
      { name, command: sh, args: ["-c", script] },
      `${dir}/${name}.log`,
      `${dir}/${name}.pid`,
    );
  const polite = spawn("polite", "echo polite-started; exec sleep 1000");
  // An ignored signal stays ignored across exec, so this sleep shrugs off SIGTERM.
  const stubborn = spawn("stubborn", "trap '' TERM; echo stubborn-started; exec sleep 1000");
  try {
    assert.equal(Deno.readTextFileSync(polite.pidPath).trim(), String(polite.pid));
    // Wait (bounded) until both have printed and exec'd sleep, so the trap is in place.
    const ready = (d: Daemon) =>
      d.logTail().endsWith("started") &&
      Deno.readTextFileSync(`/proc/${d.pid}/cmdline`).startsWith("sleep");
    for (let i = 0; i < 500 && !(ready(polite) && ready(stubborn)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(polite.logTail(), "polite-started");
    assert.ok(polite.running && isProcessAlive(polite.pid) && isProcessAlive(stubborn.pid));

    await polite.stop(60_000);
    assert.equal(polite.describeExit(), "signal SIGTERM");
    await stubborn.stop(200);
    assert.equal(stubborn.describeExit(), "signal SIGKILL");
    assert.ok(!isProcessAlive(polite.pid) && !isProcessAlive(stubborn.pid));
    assert.ok(!polite.running);
    await assert.rejects(Deno.stat(polite.pidPath), Deno.errors.NotFound);
    await polite.stop(0); // idempotent
  } finally {
    await Promise.all([polite.stop(0), stubborn.stop(0)]);
    await Deno.remove(dir, { recursive: true });
  }
});
