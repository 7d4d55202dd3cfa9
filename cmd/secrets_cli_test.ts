/**
 * `tcfs sops decrypt` and `tcfs credentials` as a user runs them: a real
 * child process, its environment as the only input.
 */

import assert from "node:assert/strict";
import { COMMANDS } from "./mod.ts";
import { runTcfs, type TcfsRun } from "../tests/tcfs_process.ts";
import { generateIdentity, writeIdentityFile } from "../lib/crypto/identity.ts";
import { encryptSopsForTest } from "../lib/secrets/_testing_sops_encrypt.ts";

const TESTDATA = new URL("../tests/testdata/sops/", import.meta.url);
const REAL_FILE = new URL("secrets.enc.yaml", TESTDATA).pathname;
const REAL_KEYS = await Deno.readTextFile(new URL("age-keys.txt", TESTDATA));
const SECRET = "s3cr3t-EXAMPLE-only";

/**
 * Run the CLI in a child process: through `deno task tcfs` once the
 * commands are registered in cmd/mod.ts, else through the same runner
 * with just these two commands.
 */
async function run(args: string[], env: Record<string, string>): Promise<TcfsRun> {
  if (COMMANDS.some((c) => c.name === "sops")) return await runTcfs(args, { env });
  const runner = new URL("../lib/cli/run.ts", import.meta.url).href;
  const code = `import { runCli } from "${runner}";
    import { sopsCommand } from "${new URL("./sops.ts", import.meta.url).href}";
    import { credentialsCommand } from "${new URL("./credentials.ts", import.meta.url).href}";
    Deno.exit(await runCli(${JSON.stringify(args)}, [sopsCommand, credentialsCommand]));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", code],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** An environment where only what the test sets can supply an identity or config. */
async function isolatedEnv(tmp: string, extra: Record<string, string>) {
  await Deno.mkdir(`${tmp}/home`, { recursive: true });
  return {
    HOME: `${tmp}/home`,
    XDG_CONFIG_HOME: `${tmp}/home/.config`,
    TCFS_CONFIG: "",
    CREDENTIALS_DIRECTORY: "",
    SOPS_AGE_KEY_FILE: "",
    SOPS_AGE_KEY: "",
    ...extra,
  };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-secrets-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("tcfs sops decrypt prints the sops-written file like sops -d, or JSON", async () => {
  await withTemp(async (tmp) => {
    const env = await isolatedEnv(tmp, { SOPS_AGE_KEY: REAL_KEYS });
    const r = await run(["sops", "decrypt", REAL_FILE], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "test_key: test_value\na_list:\n    - e1\n    - e3\nnested:\n    test:\n        file: another value\n",
    );
    const j = await run(["sops", "decrypt", REAL_FILE, "--json"], env);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), {
      test_key: "test_value",
      a_list: ["e1", "e3"],
      nested: { test: { file: "another value" } },
    });
  });
});

Deno.test("tcfs sops decrypt refuses a modified file and a missing identity", async () => {
  await withTemp(async (tmp) => {
    const env = await isolatedEnv(tmp, { SOPS_AGE_KEY: REAL_KEYS });
    const text = await Deno.readTextFile(REAL_FILE);
    await Deno.writeTextFile(`${tmp}/bad.yaml`, text.replace("data:9Yhs", "data:9Yhr"));
    const bad = await run(["sops", "decrypt", `${tmp}/bad.yaml`], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.yaml: value at nested\.test\.file does not decrypt/);
    assert.ok(!bad.stdout.includes("test_value") && !bad.stderr.includes("another value"));

    const none = await run(["sops", "decrypt", REAL_FILE], await isolatedEnv(tmp, {}));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no age identity found; looked at/);
    assert.equal((await run(["sops", "encrypt", REAL_FILE], env)).code, 2);
  });
});

Deno.test("tcfs credentials shows the chain step and the names each file provides", async () => {
  await withTemp(async (tmp) => {
    const id = await generateIdentity();
    const keyFile = `${tmp}/keys.txt`;
    await writeIdentityFile(keyFile, id);
    const dir = `${tmp}/credentials`;
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      `${dir}/s3.yaml`,
      await encryptSopsForTest(
        `access_key_id: AKIDEXAMPLE\nsecret_access_key: ${SECRET}\nendpoint: http://127.0.0.1:7480\n`,
        { recipients: [id.recipient] },
      ),
    );
    const env = await isolatedEnv(tmp, { SOPS_AGE_KEY_FILE: keyFile, TCFS_CREDENTIALS_DIR: dir });

    const r = await run(["credentials"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^identity: sops-age-key-file \\(${keyFile}\\)$`, "m"));
    assert.match(r.stdout, new RegExp(`recipient ${id.recipient}`));
    assert.match(r.stdout, /^ {4}access_key_id, secret_access_key, endpoint$/m);
    assert.match(r.stdout, /^S3 credentials: found in .*s3\.yaml$/m);
    for (const s of [SECRET, "AKIDEXAMPLE", "7480", id.identity]) {
      assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `output leaks a value`);
    }

    await Deno.writeTextFile(`${dir}/broken.yaml`, "password: hunter2\n");
    const j = await run(["credentials", "--json"], env);
    assert.equal(j.code, 1, j.stderr);
    const report = JSON.parse(j.stdout);
    assert.deepEqual(report.identity, {
      step: "sops-age-key-file",
      source: keyFile,
      recipients: [id.recipient],
    });
    assert.equal(report.dir, dir);
    assert.deepEqual(report.files, [
      {
        path: `${dir}/broken.yaml`,
        names: [],
        error: `${dir}/broken.yaml is not a SOPS file: it has no sops metadata`,
      },
      { path: `${dir}/s3.yaml`, names: ["access_key_id", "secret_access_key", "endpoint"] },
    ]);
    assert.deepEqual(report.s3, { found: true, source: `${dir}/s3.yaml` });
    assert.ok(!j.stdout.includes("hunter2") && !j.stdout.includes(SECRET));
  });
});
