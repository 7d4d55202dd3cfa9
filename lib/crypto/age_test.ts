import assert from "node:assert/strict";
import * as age from "age-encryption";
import { IntegrityError, KeyError } from "../errors.ts";
import {
  unwrapWithIdentities,
  unwrapWithPassphrase,
  wrapForPassphrase,
  wrapForRecipients,
} from "./age.ts";
import { generateIdentity, parseIdentityFile, recipientOf } from "./identity.ts";
import { generateMasterKey } from "./keys.ts";

const hasAge = await commandExists("age") && await commandExists("age-keygen");
// `age -p` reads passphrases only from a terminal; util-linux `script` gives it one.
const hasScript = hasAge && await commandExists("script");
const FAST = { workFactor: 10 };

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

/** Run a shell command line under a pseudo-terminal, typing `typed` into it. */
async function runInPty(commandLine: string, typed: string): Promise<void> {
  const out = await run(
    "script",
    ["-q", "-e", "-c", commandLine, "/dev/null"],
    new TextEncoder().encode(typed),
  );
  assert.equal(out.code, 0, `${commandLine}: ${new TextDecoder().decode(out.stdout)}`);
}

function payloadOf(master: Uint8Array): Uint8Array {
  const json = JSON.stringify({ v: 1, masterKey: btoa(String.fromCharCode(...master)) });
  return new TextEncoder().encode(json);
}

function masterOf(payload: Uint8Array): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(payload));
  assert.equal(doc.v, 1);
  return Uint8Array.from(atob(doc.masterKey), (c) => c.charCodeAt(0));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("wrap for several recipients: each identity unwraps, others do not", async () => {
  const master = generateMasterKey();
  const devices = [await generateIdentity(), await generateIdentity(), await generateIdentity()];
  const wrapped = await wrapForRecipients(master, devices.map((d) => d.recipient));
  for (const d of devices) {
    assert.deepEqual(await unwrapWithIdentities(wrapped, [d.identity]), master);
  }
  const stranger = await generateIdentity();
  // Any one matching identity among several suffices.
  assert.deepEqual(
    await unwrapWithIdentities(wrapped, [stranger.identity, devices[1].identity]),
    master,
  );
  await assert.rejects(unwrapWithIdentities(wrapped, [stranger.identity]), (e: unknown) => {
    assert.ok(e instanceof KeyError);
    assert.match(e.message, /no matching age identity/);
    assert.match(e.message, /wrapped for 3 device\(s\)/);
    return true;
  });
});

Deno.test({
  name: "interop: a key we wrap decrypts with age -d -i",
  ignore: !hasAge,
  fn: () =>
    withTempDir(async (dir) => {
      const keygen = await run("age-keygen", ["-o", `${dir}/keys.txt`]);
      assert.equal(keygen.code, 0, keygen.stderr);
      const [identity] = parseIdentityFile(await Deno.readTextFile(`${dir}/keys.txt`));
      const master = generateMasterKey();
      const wrapped = await wrapForRecipients(master, [
        (await generateIdentity()).recipient,
        await recipientOf(identity),
      ]);
      await Deno.writeFile(`${dir}/wrapped`, wrapped);
      const out = await run("age", ["-d", "-i", `${dir}/keys.txt`, `${dir}/wrapped`]);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(masterOf(out.stdout), master);
    }),
});

Deno.test({
  name: "interop: files made by age -r (binary and armored) unwrap with our code",
  ignore: !hasAge,
  fn: async () => {
    const device = await generateIdentity();
    const master = generateMasterKey();
    for (const armor of [[], ["-a"]]) {
      const made = await run("age", [...armor, "-r", device.recipient], payloadOf(master));
      assert.equal(made.code, 0, made.stderr);
      assert.deepEqual(await unwrapWithIdentities(made.stdout, [device.identity]), master);
      const other = await generateIdentity();
      await assert.rejects(
        unwrapWithIdentities(made.stdout, [other.identity]),
        /no matching age identity/,
      );
    }
  },
});

Deno.test("passphrase round trip; wrong passphrase is a KeyError", async () => {
  const master = generateMasterKey();
  const wrapped = await wrapForPassphrase(master, "correct horse battery staple", FAST);
  assert.match(new TextDecoder().decode(wrapped.subarray(0, 60)), /-> scrypt \S+ 10\n/);
  assert.deepEqual(await unwrapWithPassphrase(wrapped, "correct horse battery staple"), master);
  await assert.rejects(unwrapWithPassphrase(wrapped, "correct horse battery stapler"), (e) => {
    assert.ok(e instanceof KeyError);
    assert.equal(e.message, "wrong recovery passphrase");
    return true;
  });
});

Deno.test("passphrase wrapping defaults to age's work factor 18", async () => {
  const wrapped = await wrapForPassphrase(generateMasterKey(), "pw");
  assert.match(new TextDecoder().decode(wrapped.subarray(0, 60)), /-> scrypt \S+ 18\n/);
});

Deno.test({
  name: "interop: passphrase-wrapped keys work both ways with age -p",
  ignore: !hasScript,
  fn: () =>
    withTempDir(async (dir) => {
      const master = generateMasterKey();
      await Deno.writeFile(`${dir}/ours`, await wrapForPassphrase(master, "rec0very", FAST));
      await runInPty(`age -d -o ${dir}/ours.json ${dir}/ours`, "rec0very\n");
      assert.deepEqual(masterOf(await Deno.readFile(`${dir}/ours.json`)), master);

      await Deno.writeFile(`${dir}/payload.json`, payloadOf(master));
      await runInPty(
        `age -e -p -o ${dir}/theirs ${dir}/payload.json`,
        "s3cret pass\ns3cret pass\n",
      );
      const theirs = await Deno.readFile(`${dir}/theirs`);
      assert.deepEqual(await unwrapWithPassphrase(theirs, "s3cret pass"), master);
      await assert.rejects(unwrapWithPassphrase(theirs, "s3cret"), /wrong recovery passphrase/);
    }),
});

Deno.test("a key is unwrapped only the way it was wrapped", async () => {
  const device = await generateIdentity();
  const byPassphrase = await wrapForPassphrase(generateMasterKey(), "pw", FAST);
  await assert.rejects(unwrapWithIdentities(byPassphrase, [device.identity]), (e) => {
    assert.ok(e instanceof KeyError);
    assert.match(e.message, /^no matching age identity: .*recovery passphrase/);
    return true;
  });
  const forDevice = await wrapForRecipients(generateMasterKey(), [device.recipient]);
  await assert.rejects(unwrapWithPassphrase(forDevice, "pw"), /wrapped for device identities/);
});

Deno.test("damaged or foreign files are IntegrityErrors", async () => {
  const device = await generateIdentity();
  const wrapped = await wrapForRecipients(generateMasterKey(), [device.recipient]);
  // Flip a byte in the header MAC, then one in the encrypted payload.
  const macAt = new TextDecoder().decode(wrapped).indexOf("\n--- ") + 6;
  for (const at of [macAt, wrapped.length - 5]) {
    const bad = new Uint8Array(wrapped);
    bad[at] ^= 0x01;
    await assert.rejects(unwrapWithIdentities(bad, [device.identity]), (e) => {
      assert.ok(e instanceof IntegrityError);
      assert.match(e.message, /^wrapped master key is corrupted/);
      return true;
    });
  }
  await assert.rejects(
    unwrapWithIdentities(new TextEncoder().encode("hello"), [device.identity]),
    /not an age file/,
  );
  await assert.rejects(
    unwrapWithIdentities(wrapped.subarray(0, 40), [device.identity]),
    IntegrityError,
  );
  // A valid age file that does not hold a wrapped key.
  const e = new age.Encrypter();
  e.addRecipient(device.recipient);
  for (const plain of ["not json", '{"v":1,"masterKey":"AAAA"}', '{"v":1}', "{}"]) {
    await assert.rejects(
      unwrapWithIdentities(await e.encrypt(plain), [device.identity]),
      /does not hold a 32-byte key/,
    );
  }
  await assert.rejects(
    unwrapWithIdentities(await e.encrypt('{"v":2,"masterKey":"x"}'), [device.identity]),
    /format version 2, newer than this tcfs/,
  );
});

Deno.test("bad inputs are refused with KeyError or RangeError", async () => {
  const master = generateMasterKey();
  const device = await generateIdentity();
  await assert.rejects(wrapForRecipients(master, []), KeyError);
  await assert.rejects(wrapForRecipients(new Uint8Array(16), [device.recipient]), KeyError);
  await assert.rejects(wrapForRecipients(master, ["age1notarecipient"]), KeyError);
  await assert.rejects(wrapForRecipients(master, [device.identity]), KeyError);
  const pq = await age.identityToRecipient(await age.generateHybridIdentity());
  await assert.rejects(wrapForRecipients(master, [pq]), /post-quantum/);
  await assert.rejects(wrapForPassphrase(master, ""), KeyError);
  await assert.rejects(wrapForPassphrase(master, "pw", { workFactor: 9 }), RangeError);
  await assert.rejects(wrapForPassphrase(master, "pw", { workFactor: 21 }), RangeError);
  const wrapped = await wrapForRecipients(master, [device.recipient]);
  await assert.rejects(unwrapWithIdentities(wrapped, []), KeyError);
  await assert.rejects(unwrapWithIdentities(wrapped, ["AGE-SECRET-KEY-1XYZ"]), KeyError);
});

Deno.test("an X25519 recipient whose data happens to begin with 'tag' is accepted", async () => {
  // A real key pair, found by generating keys until one's recipient looked like a tagged one.
  const identity = "AGE-SECRET-KEY-1FWKKFERTA2V7WA535XLSXCS4H9UPUP7V5VNXWM9GWCQ2W2MHMAZSENHXQG";
  const recipient = "age1taggt2qz7nkreg5n6uj3sa794axy23f49tdwdvxm4efvvujzkqeswxtg6m";
  assert.equal(await recipientOf(identity), recipient);
  const master = generateMasterKey();
  const wrapped = await wrapForRecipients(master, [recipient]);
  assert.deepEqual(await unwrapWithIdentities(wrapped, [identity]), master);
});
