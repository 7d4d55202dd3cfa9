/**
 * The CLI contract as a user meets it, through the real process.
 */

import { assert, assertEquals } from "./assert.ts";
import { runTcfs } from "./tcfs_process.ts";

const SUBCOMMANDS = [
  "init",
  "push",
  "pull",
  "ls",
  "sync",
  "status",
  "unsync",
  "hydrate",
  "mount",
  "unmount",
  "daemon",
  "worker",
  "config",
  "version",
];

Deno.test("tcfs --help lists every subcommand and exits 0", async () => {
  const r = await runTcfs(["--help"]);
  assertEquals(r.code, 0, r.stderr);
  for (const name of SUBCOMMANDS) {
    assert(new RegExp(`^  ${name} `, "m").test(r.stdout), `--help does not list ${name}`);
  }
});

Deno.test("every subcommand has --help with its usage", async () => {
  for (const name of ["push", "pull", "init", "status"]) {
    const r = await runTcfs([name, "--help"]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.startsWith(`Usage: tcfs ${name}`), r.stdout);
  }
});

Deno.test("an unknown subcommand exits 2 with a helpful message", async () => {
  const r = await runTcfs(["frobnicate"]);
  assertEquals(r.code, 2);
  assert(r.stderr.includes("unknown command 'frobnicate'"), r.stderr);
  assert(r.stderr.includes("tcfs --help"), r.stderr);
});

Deno.test("a missing --config file exits 1 naming the file, without a stack trace", async () => {
  const r = await runTcfs(["--config", "/nonexistent", "status"]);
  assertEquals(r.code, 1);
  assert(r.stderr.includes("/nonexistent"), r.stderr);
  assert(!r.stderr.includes("    at "), r.stderr);
});

Deno.test("a config file with a typo in a key exits 1 naming the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-cli-test-" });
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, "transfer:\n  concurency: 4\n");
    const r = await runTcfs(["config", "show"], { env: { TCFS_CONFIG: `${dir}/config.yaml` } });
    assertEquals(r.code, 1);
    assert(r.stderr.includes("transfer.concurency"), r.stderr);
    assert(r.stderr.includes("did you mean 'transfer.concurrency'"), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config show applies TCFS_* overrides and redacts secrets", async () => {
  const r = await runTcfs(["--json", "config", "show"], {
    env: {
      HOME: "/nonexistent-home",
      TCFS_S3_SECRET_ACCESS_KEY: "very-secret-key-42",
      TCFS_TRANSFER_CONCURRENCY: "3",
    },
  });
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stdout.includes("very-secret-key-42"));
  const shown = JSON.parse(r.stdout);
  assertEquals(shown.config.transfer.concurrency, 3);
  assertEquals(shown.sources["transfer.concurrency"], "env");
  assertEquals(shown.config.s3.secret_access_key, "<redacted>");
});

Deno.test("version prints the release", async () => {
  const r = await runTcfs(["version", "--json"]);
  assertEquals(r.code, 0);
  assertEquals(typeof JSON.parse(r.stdout).version, "string");
});
