import assert from "node:assert/strict";
import { KeyError } from "../errors.ts";
import { generateIdentity, parseIdentityFile } from "../crypto/identity.ts";
import { type ChainStep, loadAgeIdentity } from "./chain.ts";
import { decryptSops } from "./sops.ts";

const TESTDATA = new URL("../../tests/testdata/sops/", import.meta.url);
const REAL_FILE = await Deno.readTextFile(new URL("secrets.enc.yaml", TESTDATA));
const REAL_KEYS = await Deno.readTextFile(new URL("age-keys.txt", TESTDATA));
const REAL_ID = parseIdentityFile(REAL_KEYS)[0];

async function writeKeyFile(path: string, text: string, mode = 0o600): Promise<string> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text, { mode });
  await Deno.chmod(path, mode);
  return path;
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-chain-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertKeyError(p: Promise<unknown>, pattern: RegExp, secrets: string[] = []) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KeyError, String(err));
    assert.match(err.message, pattern);
    for (const s of secrets) assert.ok(!err.message.includes(s), "message leaks a key");
    return true;
  });
}

/** The identity opens the sops-written test file. */
async function opensRealFile(identities: string[]): Promise<void> {
  const doc = await decryptSops(REAL_FILE, identities);
  assert.equal((doc.data as Record<string, unknown>).test_key, "test_value");
}

Deno.test("chain: each of the four places supplies the identity on its own", async () => {
  await withTemp(async (tmp) => {
    const cases: [ChainStep, Record<string, string>, string][] = [
      [
        "credentials-directory",
        { CREDENTIALS_DIRECTORY: `${tmp}/creds` },
        await writeKeyFile(`${tmp}/creds/age-identity`, REAL_KEYS, 0o400),
      ],
      [
        "sops-age-key-file",
        { SOPS_AGE_KEY_FILE: `${tmp}/k/keys.txt` },
        await writeKeyFile(`${tmp}/k/keys.txt`, REAL_KEYS),
      ],
      ["sops-age-key", { SOPS_AGE_KEY: REAL_KEYS }, "SOPS_AGE_KEY"],
      [
        "default-keys-file",
        { HOME: `${tmp}/home` },
        await writeKeyFile(`${tmp}/home/.config/sops/age/keys.txt`, REAL_KEYS),
      ],
      [
        "default-keys-file",
        { HOME: `${tmp}/nohome`, XDG_CONFIG_HOME: `${tmp}/xdg` },
        await writeKeyFile(`${tmp}/xdg/sops/age/keys.txt`, REAL_KEYS),
      ],
    ];
    for (const [step, env, source] of cases) {
      const got = await loadAgeIdentity(env);
      assert.equal(got.step, step);
      assert.equal(got.source, source);
      assert.deepEqual(got.identities, [REAL_ID]);
      assert.deepEqual(got.recipients, [
        "age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw",
      ]);
      await opensRealFile(got.identities);
    }
  });
});

Deno.test("chain: an earlier place wins over every later one", async () => {
  await withTemp(async (tmp) => {
    const others = await Promise.all([1, 2, 3].map(() => generateIdentity()));
    const env: Record<string, string> = {
      CREDENTIALS_DIRECTORY: `${tmp}/creds`,
      SOPS_AGE_KEY_FILE: `${tmp}/k/keys.txt`,
      SOPS_AGE_KEY: others[1].identity,
      HOME: `${tmp}/home`,
    };
    const cred = await writeKeyFile(`${tmp}/creds/age-identity`, REAL_KEYS, 0o400);
    await writeKeyFile(env.SOPS_AGE_KEY_FILE, others[0].identity + "\n");
    await writeKeyFile(`${tmp}/home/.config/sops/age/keys.txt`, others[2].identity + "\n");

    assert.equal((await loadAgeIdentity(env)).step, "credentials-directory");
    await opensRealFile((await loadAgeIdentity(env)).identities);
    await Deno.remove(cred);
    const second = await loadAgeIdentity(env);
    assert.equal(second.step, "sops-age-key-file");
    assert.deepEqual(second.identities, [others[0].identity]);
    await assert.rejects(decryptSops(REAL_FILE, second.identities), /no matching age identity/);
    delete env.SOPS_AGE_KEY_FILE;
    assert.deepEqual((await loadAgeIdentity(env)).identities, [others[1].identity]);
    delete env.SOPS_AGE_KEY;
    const last = await loadAgeIdentity(env);
    assert.equal(last.step, "default-keys-file");
    assert.deepEqual(last.identities, [others[2].identity]);
  });
});

Deno.test("chain: a place that exists but is unusable is an error naming it", async () => {
  await withTemp(async (tmp) => {
    const other = await generateIdentity();
    const fallback = { SOPS_AGE_KEY: other.identity };
    // A malformed systemd credential does not fall through to $SOPS_AGE_KEY.
    await writeKeyFile(`${tmp}/creds/age-identity`, "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQ\n", 0o400);
    await assertKeyError(
      loadAgeIdentity({ CREDENTIALS_DIRECTORY: `${tmp}/creds`, ...fallback }),
      /^\$CREDENTIALS_DIRECTORY\/age-identity: .*age-identity line 1 is a malformed age identity/,
      ["QQQQQQQQ", other.identity],
    );
    // A key file others can read is refused.
    const loose = await writeKeyFile(`${tmp}/loose/keys.txt`, REAL_KEYS, 0o644);
    await assertKeyError(
      loadAgeIdentity({ SOPS_AGE_KEY_FILE: loose, ...fallback }),
      /^\$SOPS_AGE_KEY_FILE: .*accessible by other users \(mode 0644\)/,
      [REAL_ID],
    );
    await assertKeyError(
      loadAgeIdentity({ SOPS_AGE_KEY_FILE: `${tmp}/missing.txt`, ...fallback }),
      /^\$SOPS_AGE_KEY_FILE names .*missing\.txt, which does not exist$/,
    );
    await assertKeyError(
      loadAgeIdentity({ SOPS_AGE_KEY: `# comment\n${REAL_ID.slice(0, -1)}x\n`, HOME: tmp }),
      /^\$SOPS_AGE_KEY line 2 is a malformed age identity/,
      [REAL_ID.slice(20, 40)],
    );
    await assertKeyError(
      loadAgeIdentity({ HOME: `${tmp}/h`, ...(await emptyDefault(`${tmp}/h`)) }),
      /^the default sops key file: .* contains no age identity$/,
    );
  });
});

async function emptyDefault(home: string): Promise<Record<string, string>> {
  await writeKeyFile(`${home}/.config/sops/age/keys.txt`, "# nothing here\n");
  return {};
}

Deno.test("chain: no place at all lists the four places", async () => {
  await withTemp(async (tmp) => {
    await assertKeyError(
      loadAgeIdentity({ HOME: tmp, CREDENTIALS_DIRECTORY: `${tmp}/creds` }),
      new RegExp(
        "^no age identity found; looked at .*/creds/age-identity \\(does not exist\\), " +
          "\\$SOPS_AGE_KEY_FILE \\(not set\\), \\$SOPS_AGE_KEY \\(not set\\), " +
          ".*/\\.config/sops/age/keys\\.txt \\(does not exist\\)$",
      ),
    );
    await assertKeyError(loadAgeIdentity({}), /CREDENTIALS_DIRECTORY.*\(HOME not set\)$/);
  });
});
