/**
 * The daemon's credential chain with the real SOPS file, each chain step in
 * turn, and a live key rotation at a real Ceph RGW: the old key is revoked
 * with radosgw-admin and the next push works without a restart.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeDevice, type TestDevice } from "./fixtures/device.ts";
import { startDaemon } from "./fixtures/daemon.ts";
import { startCephRgw } from "./services/mod.ts";
import { generateIdentity, writeIdentityFile } from "../lib/crypto/mod.ts";
import { encryptSopsForTest } from "../lib/secrets/_testing_sops_encrypt.ts";
import { DaemonClient } from "../lib/rpc/mod.ts";

const SOPS_FILE = new URL("./testdata/sops/secrets.enc.yaml", import.meta.url).pathname;
const SOPS_KEYS = new URL("./testdata/sops/age-keys.txt", import.meta.url).pathname;

async function credentialStatus(d: TestDevice) {
  const client = await DaemonClient.connect(`${d.env.XDG_RUNTIME_DIR}/tcfs/tcfsd.sock`);
  assert(client, "daemon not reachable");
  try {
    return await client.credentialStatus() as {
      step: string;
      source: string;
      files: { names: string[] }[];
      reloads: number;
    };
  } finally {
    await client.close();
  }
}

Deno.test("the daemon finds the age identity through each chain step and decrypts the real SOPS file", async () => {
  const d = await makeDevice("chain");
  try {
    await Deno.writeTextFile(`${d.dir}/pass`, "chain passphrase\n");
    await d.ok(["init", `file://${d.dir}/repo`, "--passphrase-file", `${d.dir}/pass`]);
    const creds = `${d.dir}/creds`;
    await Deno.mkdir(creds);
    await Deno.copyFile(SOPS_FILE, `${creds}/secrets.enc.yaml`);
    const keyText = await Deno.readTextFile(SOPS_KEYS);
    const credDir = `${d.dir}/systemd-creds`;
    await Deno.mkdir(credDir);
    await Deno.writeTextFile(`${credDir}/age-identity`, keyText, { mode: 0o600 });
    await Deno.mkdir(`${d.env.XDG_CONFIG_HOME}/sops/age`, { recursive: true });
    const steps: [string, Record<string, string>][] = [
      ["credentials-directory", { CREDENTIALS_DIRECTORY: credDir }],
      ["sops-age-key-file", { SOPS_AGE_KEY_FILE: `${credDir}/age-identity` }],
      ["sops-age-key", {
        SOPS_AGE_KEY: keyText.split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"))!,
      }],
      ["default-keys-file", {}],
    ];
    await Deno.writeTextFile(`${d.env.XDG_CONFIG_HOME}/sops/age/keys.txt`, keyText, {
      mode: 0o600,
    });
    for (const [step, extra] of steps) {
      const env = { ...d.env, TCFS_CREDENTIALS_DIR: creds, ...extra };
      const daemon = await startDaemon({ ...d, env });
      try {
        const s = await credentialStatus({ ...d, env });
        assertEquals(s.step, step);
        assert(s.files[0].names.includes("test_key"), JSON.stringify(s));
      } finally {
        assertEquals((await daemon.stop()).code, 0);
      }
    }
    // A changed value byte breaks the MAC; a wrong identity is named as such.
    const text = await Deno.readTextFile(SOPS_FILE);
    await Deno.writeTextFile(
      `${d.dir}/tampered.yaml`,
      text.replace("data:2mP+IAdczoEr0g==", "data:2mQ+IAdczoEr0g=="),
    );
    const env = { SOPS_AGE_KEY_FILE: `${credDir}/age-identity` };
    const good = await runWith(d, ["sops", "decrypt", SOPS_FILE], env);
    assertEquals(good.code, 0, good.stderr);
    assertMatch(good.stdout, /test_key: test_value/);
    const bad = await runWith(d, ["sops", "decrypt", `${d.dir}/tampered.yaml`], env);
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /MAC|does not decrypt|modified/i);
    const other = await generateIdentity();
    await writeIdentityFile(`${d.dir}/other.txt`, other);
    const wrong = await runWith(d, ["sops", "decrypt", SOPS_FILE], {
      SOPS_AGE_KEY_FILE: `${d.dir}/other.txt`,
    });
    assertEquals(wrong.code, 1);
    assertMatch(wrong.stderr, /no matching age identity/);
  } finally {
    await d.remove();
  }
});

function runWith(d: TestDevice, args: string[], extra: Record<string, string>) {
  return makeRun({ ...d.env, ...extra }, args);
}

async function makeRun(env: Record<string, string>, args: string[]) {
  const { runTcfs } = await import("./tcfs_process.ts");
  return await runTcfs(args, { env });
}

Deno.test("rotating S3 keys in the SOPS file while the daemon runs: the next push works", async () => {
  await using s3 = await startCephRgw();
  await s3.createBucket("rot");
  const d = await makeDevice("rotate", s3);
  try {
    const id = await generateIdentity();
    await writeIdentityFile(`${d.dir}/sops-age.txt`, id);
    const creds = `${d.dir}/creds`;
    await Deno.mkdir(creds);
    const writeCreds = async (access: string, secret: string) =>
      await Deno.writeTextFile(
        `${creds}/s3.yaml`,
        await encryptSopsForTest(
          `s3:\n  access_key_id: ${access}\n  secret_access_key: ${secret}\n`,
          {
            recipients: [id.recipient],
          },
        ),
      );
    await writeCreds(s3.accessKeyId, s3.secretAccessKey);
    await Deno.writeTextFile(`${d.dir}/pass`, "rotation passphrase\n");
    await d.ok(["init", "s3://rot/repo", "--passphrase-file", `${d.dir}/pass`]);
    // The daemon gets no keys from config or environment: only the SOPS file.
    const env: Record<string, string> = {
      ...d.env,
      SOPS_AGE_KEY_FILE: `${d.dir}/sops-age.txt`,
      TCFS_CREDENTIALS_DIR: creds,
    };
    delete env.TCFS_S3_ACCESS_KEY_ID;
    delete env.TCFS_S3_SECRET_ACCESS_KEY;
    const root = `${d.dir}/root`;
    await Deno.mkdir(root);
    env.TCFS_SYNC_ROOTS = root;
    const dd = { ...d, env };
    const daemon = await startDaemon(dd);
    try {
      await Deno.writeTextFile(`${root}/one.txt`, "before rotation\n".repeat(200));
      const first = await runWith(dd, ["--json", "push", `${root}/one.txt`], {});
      assertEquals(first.code, 0, first.stderr);
      const newAccess = "TCFSROTATED0000001";
      const newSecret = "rotatedSecretKey0123456789abcdefghijklmn";
      await s3.admin([
        "key",
        "create",
        "--uid=tcfs-test",
        "--key-type=s3",
        `--access-key=${newAccess}`,
        `--secret=${newSecret}`,
      ]);
      await writeCreds(newAccess, newSecret);
      await s3.admin([
        "key",
        "rm",
        "--uid=tcfs-test",
        "--key-type=s3",
        `--access-key=${s3.accessKeyId}`,
      ]);
      let reloaded = false;
      for (let i = 0; i < 50 && !reloaded; i++) {
        await new Promise((r) => setTimeout(r, 200));
        reloaded = (await credentialStatus(dd)).reloads >= 1;
      }
      assert(reloaded, "the daemon did not reload the rotated credentials");
      await Deno.writeTextFile(`${root}/two.txt`, "after rotation\n".repeat(200));
      const second = await runWith(dd, ["--json", "push", `${root}/two.txt`], {});
      assertEquals(second.code, 0, second.stderr);
      assertEquals(JSON.parse(second.stdout).filesPushed, 1);
      assert(!second.stderr.includes(newSecret));
    } finally {
      assertEquals((await daemon.stop()).code, 0);
    }
    // The old key really is revoked.
    const old = await runWith(d, ["ls", "/"], {});
    assertEquals(old.code, 1);
  } finally {
    await d.remove();
  }
});
