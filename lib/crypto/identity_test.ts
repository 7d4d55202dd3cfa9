import assert from "node:assert/strict";
import { KeyError, NotFoundError } from "../errors.ts";
import { wrapForRecipients } from "./age.ts";
import {
  generateIdentity,
  parseIdentityFile,
  readIdentityFile,
  recipientOf,
  writeIdentityFile,
} from "./identity.ts";
import { generateMasterKey } from "./keys.ts";

const hasAge = await commandExists("age-keygen");

async function commandExists(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", { args: ["-c", `command -v ${name}`] })
      .output();
    return success;
  } catch {
    return false;
  }
}

async function run(
  cmd: string,
  args: string[],
  stdin?: Uint8Array,
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

async function keygen(): Promise<string> {
  const out = await run("age-keygen", []);
  assert.equal(out.code, 0, out.stderr);
  return new TextDecoder().decode(out.stdout);
}

function flipChar(s: string, i: number): string {
  const c = s[i] === "Q" ? "P" : "Q";
  return s.slice(0, i) + c + s.slice(i + 1);
}

Deno.test("generateIdentity makes an X25519 pair whose recipient matches", async () => {
  const id = await generateIdentity();
  assert.match(id.identity, /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  assert.match(id.recipient, /^age1[0-9a-z]{58}$/);
  assert.equal(await recipientOf(id.identity), id.recipient);
  assert.notEqual((await generateIdentity()).identity, id.identity);
});

Deno.test({
  name: "age-keygen output parses, and age-keygen -y agrees on recipients",
  ignore: !hasAge,
  fn: async () => {
    const text = await keygen();
    const ids = parseIdentityFile(text);
    assert.equal(ids.length, 1);
    const publicLine = text.split("\n").find((l) => l.startsWith("# public key: "));
    assert.ok(publicLine);
    assert.equal(await recipientOf(ids[0]), publicLine.slice("# public key: ".length));
    const ours = await generateIdentity();
    const y = await run("age-keygen", ["-y"], new TextEncoder().encode(ours.identity + "\n"));
    assert.equal(y.code, 0, y.stderr);
    assert.equal(new TextDecoder().decode(y.stdout).trim(), ours.recipient);
  },
});

Deno.test("parser keeps every identity and skips comments, blank lines and CRLF", async () => {
  const a = await generateIdentity();
  const b = await generateIdentity();
  const text = `\r\n# created: 2025-01-01T00:00:00Z\r\n# public key: ${a.recipient}\r\n` +
    `  ${a.identity}  \r\n\n\n   # indented comment\n${b.identity}`;
  assert.deepEqual(parseIdentityFile(text), [a.identity, b.identity]);
  // $SOPS_AGE_KEY holds the same format, often a bare key.
  assert.deepEqual(parseIdentityFile(b.identity), [b.identity]);
});

Deno.test("parser refuses malformed content without echoing secrets", async () => {
  const { identity } = await generateIdentity();
  const broken = flipChar(identity, 30);
  assert.throws(
    () => parseIdentityFile(`# c\n\n${broken}\n`, "keys.txt"),
    (e: unknown) => {
      assert.ok(e instanceof KeyError);
      assert.match(e.message, /^keys\.txt line 3 is a malformed age identity/);
      assert.ok(!e.message.includes(broken.slice(16, 40)));
      return true;
    },
  );
  assert.throws(() => parseIdentityFile(identity.slice(0, -1)), /malformed age identity/);
  const mixedCase = identity.slice(0, 16) + identity.slice(16).toLowerCase();
  assert.throws(() => parseIdentityFile(mixedCase), /malformed age identity/);
  assert.throws(() => parseIdentityFile("ssh-ed25519 AAAA"), /line 1 is not an age identity/);
  assert.throws(
    () => parseIdentityFile(`AGE-SECRET-KEY-PQ-1${identity.slice(16)}`),
    /post-quantum/,
  );
  assert.throws(() => parseIdentityFile("AGE-PLUGIN-YUBIKEY-1ABC"), /plugin identities/);
  assert.throws(
    () => parseIdentityFile("# only comments\n\n", "keys.txt"),
    /keys\.txt contains no age identity/,
  );
  assert.throws(
    () => parseIdentityFile("age-encryption.org/v1\n-> scrypt x 18\n"),
    /passphrase-encrypted/,
  );
  await assert.rejects(recipientOf(broken), KeyError);
  await assert.rejects(recipientOf(`AGE-SECRET-KEY-PQ-1${identity.slice(16)}`), KeyError);
});

Deno.test("writeIdentityFile creates 0700 dirs and a 0600 file in age-keygen format", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/a/b/keys.txt`;
    const id = await generateIdentity();
    await writeIdentityFile(path, id);
    assert.equal((await Deno.stat(`${root}/a`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${root}/a/b`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.match(lines[0], /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(lines[1], `# public key: ${id.recipient}`);
    assert.equal(lines[2], id.identity);
    assert.deepEqual(await readIdentityFile(path), [id.identity]);
    // No temporary file is left behind.
    assert.deepEqual([...Deno.readDirSync(`${root}/a/b`)].map((e) => e.name), ["keys.txt"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeIdentityFile never overwrites, and appends on request", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/keys.txt`;
    const first = await generateIdentity();
    const second = await generateIdentity();
    await writeIdentityFile(path, first);
    const before = await Deno.readTextFile(path);
    await assert.rejects(writeIdentityFile(path, second), /already exists: refusing to overwrite/);
    assert.equal(await Deno.readTextFile(path), before);
    await writeIdentityFile(path, second, { append: true });
    assert.deepEqual(await readIdentityFile(path), [first.identity, second.identity]);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await writeIdentityFile(`${root}/fresh.txt`, first, { append: true });
    assert.deepEqual(await readIdentityFile(`${root}/fresh.txt`), [first.identity]);
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), [
      "fresh.txt",
      "keys.txt",
    ]);
    const mismatched = { identity: first.identity, recipient: second.recipient };
    await assert.rejects(writeIdentityFile(`${root}/x.txt`, mismatched), /do not belong together/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readIdentityFile refuses files other users can access, and reports missing ones", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = `${root}/keys.txt`;
    await writeIdentityFile(path, await generateIdentity());
    for (const mode of [0o644, 0o604, 0o602]) {
      await Deno.chmod(path, mode);
      await assert.rejects(readIdentityFile(path), (e: unknown) => {
        assert.ok(e instanceof KeyError);
        assert.match(e.message, /accessible by other users \(mode 06\d\d\): run chmod 600/);
        return true;
      });
    }
    await Deno.chmod(path, 0o440); // group-readable, as a Kubernetes secret with fsGroup
    assert.equal((await readIdentityFile(path)).length, 1);
    await assert.rejects(readIdentityFile(`${root}/missing.txt`), NotFoundError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "identity files we write are usable by age -d -i",
  ignore: !hasAge,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const path = `${root}/keys.txt`;
      const other = await generateIdentity();
      const mine = await generateIdentity();
      await writeIdentityFile(path, other);
      await writeIdentityFile(path, mine, { append: true });
      const master = generateMasterKey();
      const wrapped = await wrapForRecipients(master, [mine.recipient]);
      const out = await run("age", ["-d", "-i", path], wrapped);
      assert.equal(out.code, 0, out.stderr);
      const doc = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(Uint8Array.from(atob(doc.masterKey), (c) => c.charCodeAt(0)), master);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("property: any single-character change to an identity is caught", async () => {
  const alphabet = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
  for (let n = 0; n < 20; n++) {
    const { identity } = await generateIdentity();
    for (let i = "AGE-SECRET-KEY-1".length; i < identity.length; i += 3) {
      const replacement = alphabet[(alphabet.indexOf(identity[i]) + 1 + n) % 32];
      const changed = identity.slice(0, i) + replacement + identity.slice(i + 1);
      assert.notEqual(changed, identity);
      assert.throws(() => parseIdentityFile(changed), KeyError, `position ${i}`);
    }
  }
});
