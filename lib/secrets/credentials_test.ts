import assert from "node:assert/strict";
import { IntegrityError } from "../errors.ts";
import { generateIdentity, writeIdentityFile } from "../crypto/identity.ts";
import {
  type CredentialFile,
  type CredentialsState,
  listCredentialFiles,
  loadCredentialFiles,
  s3CredentialsFrom,
  watchCredentials,
} from "./credentials.ts";
import { encryptSopsForTest } from "./_testing_sops_encrypt.ts";

const SECRET = "wJalrXUtnFEMI-K7MDENG-EXAMPLEKEY";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-creds-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Write a file atomically (new inode), as editors and secret syncers do. */
async function replaceFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path + ".tmp", text);
  await Deno.rename(path + ".tmp", path);
}

async function setup(dir: string) {
  const id = await generateIdentity();
  const keyFile = `${dir}/keys.txt`;
  await writeIdentityFile(keyFile, id);
  const creds = `${dir}/credentials`;
  await Deno.mkdir(creds);
  const enc = (plain: string, format: "yaml" | "json" = "yaml") =>
    encryptSopsForTest(plain, { recipients: [id.recipient], format });
  await Deno.writeTextFile(
    `${creds}/b-s3.yaml`,
    await enc(
      `s3:\n    access_key_id: AKIDB\n    secret_access_key: ${SECRET}\n` +
        "    endpoint: http://127.0.0.1:7480\n    region: us-east-1\nnote: hello\n",
    ),
  );
  await Deno.writeTextFile(
    `${creds}/a-nats.json`,
    await enc('{"nats": {"user": "u", "password": "p"}, "list": [1, 2]}', "json"),
  );
  await Deno.writeTextFile(`${creds}/.sops.yaml`, "creation_rules: []\n");
  await Deno.writeTextFile(`${creds}/README.txt`, "not a credential\n");
  return { id, keyFile, creds, enc };
}

Deno.test("credentials: every SOPS file of the directory, in name order, names only", async () => {
  await withTemp(async (dir) => {
    const { id, creds } = await setup(dir);
    assert.deepEqual(await listCredentialFiles(creds), [
      `${creds}/a-nats.json`,
      `${creds}/b-s3.yaml`,
    ]);
    const files = await loadCredentialFiles(creds, [id.identity]);
    assert.deepEqual(files.map((f) => [f.path, f.names]), [
      [`${creds}/a-nats.json`, ["nats.user", "nats.password", "list"]],
      [`${creds}/b-s3.yaml`, [
        "s3.access_key_id",
        "s3.secret_access_key",
        "s3.endpoint",
        "s3.region",
        "note",
      ]],
    ]);
    assert.equal((files[1].values.s3 as Record<string, string>).secret_access_key, SECRET);
    assert.deepEqual(s3CredentialsFrom(files), {
      accessKeyId: "AKIDB",
      secretAccessKey: SECRET,
      endpoint: "http://127.0.0.1:7480",
      region: "us-east-1",
      source: `${creds}/b-s3.yaml#s3`,
    });
    assert.deepEqual(await loadCredentialFiles(`${dir}/absent`, [id.identity]), []);
  });
});

Deno.test("credentials: a damaged file is an error naming it, never its values", async () => {
  await withTemp(async (dir) => {
    const { id, creds } = await setup(dir);
    const path = `${creds}/b-s3.yaml`;
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(
      path,
      text.replace("note: ENC[AES256_GCM,data:", "note: ENC[AES256_GCM,data:AAAA"),
    );
    await assert.rejects(loadCredentialFiles(creds, [id.identity]), (err: unknown) => {
      assert.ok(err instanceof IntegrityError);
      assert.match(err.message, new RegExp(`^${path}: value at note does not decrypt`));
      for (const s of [SECRET, "hello", "AKIDB"]) assert.ok(!err.message.includes(s));
      return true;
    });
  });
});

Deno.test("credentials: S3 names in their accepted spellings", () => {
  const file = (path: string, values: Record<string, unknown>): CredentialFile => ({
    path,
    names: [],
    values,
  });
  const env = file("env.yaml", {
    AWS_ACCESS_KEY_ID: "A1",
    AWS_SECRET_ACCESS_KEY: "S1",
    AWS_SESSION_TOKEN: "T1",
    AWS_DEFAULT_REGION: "eu-west-1",
  });
  assert.deepEqual(s3CredentialsFrom([env]), {
    accessKeyId: "A1",
    secretAccessKey: "S1",
    sessionToken: "T1",
    region: "eu-west-1",
    source: "env.yaml",
  });
  const camel = file("c.json", {
    aws: { accessKeyId: "A2", secretAccessKey: "S2", endpointUrl: "http://e" },
  });
  assert.deepEqual(s3CredentialsFrom([camel]), {
    accessKeyId: "A2",
    secretAccessKey: "S2",
    endpoint: "http://e",
    source: "c.json#aws",
  });
  // Incomplete sets are skipped, never mixed; the first complete file wins.
  const half = file("half.yaml", { access_key_id: "A3", s3: { secret_key: "S3" } });
  assert.equal(s3CredentialsFrom([half]), null);
  assert.equal(s3CredentialsFrom([half, camel, env])?.source, "c.json#aws");
  assert.equal(s3CredentialsFrom([file("n.yaml", { access_key: 5, secret_key: "x" })]), null);
});

Deno.test("credentials: the watcher reports the start state and every rewrite", async () => {
  await withTemp(async (dir) => {
    const { keyFile, creds, enc } = await setup(dir);
    const states: CredentialsState[] = [];
    const errors: unknown[] = [];
    let wake: () => void = () => {};
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    let waiting = next();
    const watcher = watchCredentials({
      dir: creds,
      env: { SOPS_AGE_KEY_FILE: keyFile },
      intervalMs: 10,
      onChange: (s) => {
        states.push(s);
        wake();
      },
      onError: (e) => {
        errors.push(e);
        wake();
      },
    });
    try {
      await waiting;
      assert.equal(states.length, 1);
      assert.equal(states[0].identity.step, "sops-age-key-file");
      assert.equal(states[0].s3?.accessKeyId, "AKIDB");

      // Nothing changed: polling does not reload.
      await watcher.check();
      assert.equal(states.length, 1);

      waiting = next();
      await replaceFile(
        `${creds}/b-s3.yaml`,
        await enc(`access_key_id: AKIDNEW\nsecret_access_key: rotated-${SECRET}\n`),
      );
      await waiting;
      assert.equal(states.length, 2);
      assert.deepEqual(states[1].files[1].names, ["access_key_id", "secret_access_key"]);
      assert.equal(states[1].s3?.accessKeyId, "AKIDNEW");
      assert.equal(states[1].s3?.secretAccessKey, `rotated-${SECRET}`);

      waiting = next();
      await replaceFile(`${creds}/b-s3.yaml`, "access_key_id: plain\n");
      await waiting;
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /b-s3\.yaml is not a SOPS file/);

      waiting = next();
      await Deno.remove(`${creds}/b-s3.yaml`);
      await waiting;
      assert.equal(states.length, 3);
      assert.equal(states[2].s3, null);
    } finally {
      watcher.stop();
      await watcher.check(); // lets an in-flight poll finish
    }
  });
});
