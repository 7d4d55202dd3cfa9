import assert from "node:assert/strict";
import { IntegrityError, KeyError, NotImplementedError } from "../errors.ts";
import { generateIdentity, parseIdentityFile } from "../crypto/identity.ts";
import { decryptSops, decryptSopsWithDataKey, toYaml } from "./sops.ts";
import { formatGoFloat } from "./sops_values.ts";
import { typeScalar } from "./sops_scalar.ts";
import { encryptSopsForTest } from "./_testing_sops_encrypt.ts";
import { parseDocument, type Scalar } from "yaml";

const TESTDATA = new URL("../../tests/testdata/sops/", import.meta.url);
const REAL_FILE = await Deno.readTextFile(new URL("secrets.enc.yaml", TESTDATA));
const REAL_IDS = parseIdentityFile(await Deno.readTextFile(new URL("age-keys.txt", TESTDATA)));
const REAL_RECIPIENT = "age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw";

async function rejects<E extends Error>(
  p: Promise<unknown> | (() => unknown),
  type: new (...a: never[]) => E,
  pattern: RegExp,
  secrets: string[] = [],
): Promise<E> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${err}`);
    assert.match(err.message, pattern);
    for (const s of secrets) assert.ok(!err.message.includes(s), `message leaks "${s}"`);
    return err;
  }
  assert.fail(`expected ${type.name} matching ${pattern}`);
}

/** Replace one base64 character of the `data:` part of the value on `line`. */
function tamperData(text: string, lineStart: string): string {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.trimStart().startsWith(lineStart));
  assert.ok(i >= 0, `no line starting with ${lineStart}`);
  lines[i] = lines[i].replace(/data:(.)/, (_, c: string) => `data:${c === "A" ? "B" : "A"}`);
  return lines.join("\n");
}

Deno.test("sops: the file written by sops 3.7.1 decrypts and its MAC verifies", async () => {
  const doc = await decryptSops(REAL_FILE, REAL_IDS, { source: "secrets.enc.yaml" });
  assert.equal((doc.data as Record<string, unknown>).test_key, "test_value");
  // Checked by hand: each value opened separately with its key path as
  // additional data, and the MAC recomputed over "test_value" "e1" "e3" "another value".
  assert.deepEqual(doc.data, {
    test_key: "test_value",
    a_list: ["e1", "e3"],
    nested: { test: { file: "another value" } },
  });
  assert.deepEqual(Object.keys(doc.data as object), ["test_key", "a_list", "nested"]);
  assert.deepEqual(doc.recipients, [
    REAL_RECIPIENT,
    "age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs",
  ]);
  assert.equal(doc.lastModified, "2021-09-30T19:49:41Z");
  assert.equal(doc.format, "yaml");
  assert.deepEqual(doc.warnings, []);
  assert.equal(
    doc.plainText,
    "test_key: test_value\na_list:\n    - e1\n    - e3\nnested:\n    test:\n        file: another value\n",
  );
  assert.equal(toYaml(doc.data), doc.plainText);
});

Deno.test("sops: a changed character in an encrypted value is refused, naming the path", async () => {
  for (const [line, where] of [["test_key:", "test_key"], ["file:", "nested.test.file"]]) {
    const err = await rejects(
      decryptSops(tamperData(REAL_FILE, line), REAL_IDS, { source: "s.yaml" }),
      IntegrityError,
      new RegExp(`s\\.yaml: value at ${where.replaceAll(".", "\\.")} does not decrypt`),
      ["test_value", "another value"],
    );
    assert.ok(!err.message.includes("ENC["));
  }
  // List items are named by position.
  const lines = REAL_FILE.split("\n");
  const i = lines.findIndex((l) => l.includes("data:mYU="));
  // The first character: the last one of "mYU=" carries padding bits that
  // base64 decoders ignore, so changing it would not change the ciphertext.
  lines[i] = lines[i].replace("data:mYU=", "data:nYU=");
  await rejects(
    decryptSops(lines.join("\n"), REAL_IDS),
    IntegrityError,
    /value at a_list\[1\] does not decrypt/,
  );
});

Deno.test("sops: swapping encrypted values between keys is refused (path is authenticated)", async () => {
  const a = /test_key: (ENC\[[^\]]+\])/.exec(REAL_FILE)![1];
  const b = /file: (ENC\[[^\]]+\])/.exec(REAL_FILE)![1];
  const swapped = REAL_FILE.replace(a, "@A@").replace(b, a).replace("@A@", b);
  await rejects(
    decryptSops(swapped, REAL_IDS),
    IntegrityError,
    /value at test_key does not decrypt/,
  );
});

Deno.test("sops: removing a value or changing lastmodified is refused by the MAC", async () => {
  const removed = REAL_FILE.replace(/^test_key: .*\n/m, "");
  await rejects(decryptSops(removed, REAL_IDS), IntegrityError, /^MAC mismatch: /);
  const added = "extra_unencrypted: hi\n" + REAL_FILE;
  await rejects(decryptSops(added, REAL_IDS), IntegrityError, /^MAC mismatch: .* was modified/);
  const redated = REAL_FILE.replace("2021-09-30T19:49:41Z", "2021-09-30T19:49:42Z");
  await rejects(
    decryptSops(redated, REAL_IDS),
    IntegrityError,
    /^MAC mismatch: .*does not decrypt/,
  );
});

Deno.test("sops: a wrong identity gets 'no matching age identity' with the recipients", async () => {
  const other = await generateIdentity();
  await rejects(
    decryptSops(REAL_FILE, [other.identity], { source: "secrets.enc.yaml" }),
    KeyError,
    new RegExp(
      `^no matching age identity for secrets\\.enc\\.yaml \\(recipients: ${REAL_RECIPIENT}, age1a8pk`,
    ),
    [other.identity],
  );
  await rejects(decryptSops(REAL_FILE, []), KeyError, /no age identity given/);
  // A malformed identity is refused without echoing it.
  await rejects(decryptSops(REAL_FILE, ["AGE-SECRET-KEY-1NOTAKEY"]), KeyError, /malformed/, [
    "NOTAKEY",
  ]);
});

Deno.test("sops: non-SOPS and malformed input", async () => {
  await rejects(decryptSops("a: b\n", REAL_IDS), IntegrityError, /is not a SOPS file/);
  await rejects(
    decryptSops("A=ENC[...]\n", REAL_IDS, { source: "x.env" }),
    NotImplementedError,
    /decrypting x\.env: SOPS env files is not implemented yet/,
  );
  await rejects(
    decryptSops("a: [secret-value\n", REAL_IDS, { source: "x.yaml" }),
    IntegrityError,
    /x\.yaml: not valid YAML/,
    ["secret-value"],
  );
  const plainInEncryptedPlace = REAL_FILE.replace(/^test_key: .*$/m, "test_key: hunter2");
  await rejects(
    decryptSops(plainInEncryptedPlace, REAL_IDS),
    IntegrityError,
    /value at test_key should be encrypted but is not/,
    ["hunter2"],
  );
});

const TYPED_PLAIN = `# top comment
str: hello # line comment
int: 0777
negative: -42
big: 9007199254740993
float: 1.50
exp: 1e3
bool: True
word: yes
bin: !!binary aGVsbG8=
when: 2021-01-02
nothing:
empty: ""
list:
    # in list
    - a
    - 2
    - [x, y]
nested:
    # before k
    k: v
    deeper:
        z: 0.1
    # foot of nested
note_unencrypted: clear text
last: end
`;

Deno.test("sops: every value type round-trips with the test encrypter", async () => {
  const id = await generateIdentity();
  const enc = await encryptSopsForTest(TYPED_PLAIN, { recipients: [id.recipient] });
  for (const type of ["str", "int", "float", "bool", "bytes", "time", "comment"]) {
    assert.ok(enc.includes(`type:${type}]`), `no value of type ${type}`);
  }
  for (const secret of ["hello", "before k", "foot of nested", "0777"]) {
    assert.ok(!enc.includes(secret), `"${secret}" left in clear`);
  }
  assert.ok(enc.includes("note_unencrypted: clear text"));

  const doc = await decryptSops(enc, [id.identity], { source: "t.yaml" });
  assert.deepEqual(doc.warnings, []);
  assert.deepEqual(doc.data, {
    str: "hello",
    int: 511, // go-yaml reads a leading 0 as octal
    negative: -42,
    big: 9007199254740993n,
    float: 1.5,
    exp: 1000,
    bool: true,
    word: "yes",
    bin: new TextEncoder().encode("hello"),
    when: "2021-01-02T00:00:00Z",
    nothing: null,
    empty: "",
    list: ["a", 2, ["x", "y"]],
    nested: { k: "v", deeper: { z: 0.1 } },
    note_unencrypted: "clear text",
    last: "end",
  });
  for (const comment of ["# top comment", "# line comment", "    # in list", "    # before k"]) {
    assert.ok(doc.plainText.includes(comment + "\n"), `comment "${comment}" not restored`);
  }
  assert.ok(doc.plainText.includes("# foot of nested"));
});

Deno.test("sops: editing an _unencrypted value is refused by the MAC (sops 3.7.1 covers it)", async () => {
  const id = await generateIdentity();
  const enc = await encryptSopsForTest(TYPED_PLAIN, { recipients: [id.recipient] });
  const edited = enc.replace("note_unencrypted: clear text", "note_unencrypted: clear test");
  assert.notEqual(edited, enc);
  await rejects(
    decryptSops(edited, [id.identity], { source: "t.yaml" }),
    IntegrityError,
    /^MAC mismatch: t\.yaml was modified/,
    ["clear te"],
  );

  // With mac_only_encrypted (sops 3.9+) clear values are outside the MAC.
  const loose = await encryptSopsForTest(TYPED_PLAIN, {
    recipients: [id.recipient],
    macOnlyEncrypted: true,
  });
  assert.match(loose, /mac_only_encrypted: true/);
  const looseEdited = loose.replace("note_unencrypted: clear text", "note_unencrypted: changed");
  const doc = await decryptSops(looseEdited, [id.identity]);
  assert.equal((doc.data as Record<string, unknown>).note_unencrypted, "changed");
  await rejects(
    decryptSops(loose.replace(/^last: .*$/m, "last: ''"), [id.identity]),
    IntegrityError,
    /^MAC mismatch/,
  );
});

Deno.test("sops: encrypted_regex and a custom unencrypted_suffix decide what is encrypted", async () => {
  const id = await generateIdentity();
  const plain =
    "kind: Secret\nmetadata:\n    name: db\ndata:\n    password: s3cret\n    user: app\n";
  const enc = await encryptSopsForTest(plain, {
    recipients: [id.recipient],
    rule: { encrypted_regex: "^(data|stringData)$" },
  });
  assert.match(enc, /^kind: Secret$/m);
  assert.match(enc, /^ {4}name: db$/m);
  assert.ok(!enc.includes("s3cret") && !enc.includes("user: app"));
  assert.match(enc, /encrypted_regex: \^\(data\|stringData\)\$/);
  const doc = await decryptSops(enc, [id.identity]);
  assert.deepEqual(doc.data, {
    kind: "Secret",
    metadata: { name: "db" },
    data: { password: "s3cret", user: "app" },
  });
  await rejects(
    decryptSops(enc.replace("name: db", "name: dc"), [id.identity]),
    IntegrityError,
    /^MAC mismatch/,
  );

  const suffixed = await encryptSopsForTest(
    "a_public: 1\nb: 2\nc:\n    d_public:\n        e: x\n",
    {
      recipients: [id.recipient],
      rule: { unencrypted_suffix: "_public" },
    },
  );
  assert.match(suffixed, /^a_public: 1$/m);
  assert.match(suffixed, /^ {8}e: x$/m); // every key on the path counts
  assert.match(suffixed, /^b: ENC\[/m);
  assert.deepEqual((await decryptSops(suffixed, [id.identity])).data, {
    a_public: 1,
    b: 2,
    c: { d_public: { e: "x" } },
  });
});

Deno.test("sops: JSON files keep key order and read numbers as floats", async () => {
  const id = await generateIdentity();
  const plain = '{"b": 1, "a": [true, null, "x"], "c": {"d": 1.5e300, "e": 0.1}}';
  const enc = await encryptSopsForTest(plain, { recipients: [id.recipient], format: "json" });
  assert.match(enc, /"b": "ENC\[AES256_GCM,[^"]*type:float\]"/);
  const doc = await decryptSops(enc, [id.identity], { source: "creds.json" });
  assert.equal(doc.format, "json");
  assert.deepEqual(doc.data, { b: 1, a: [true, null, "x"], c: { d: 1.5e300, e: 0.1 } });
  assert.equal(
    doc.plainText,
    '{\n\t"b": 1,\n\t"a": [\n\t\ttrue,\n\t\tnull,\n\t\t"x"\n\t],\n\t"c": {\n\t\t"d": 1.5e+300,\n\t\t"e": 0.1\n\t}\n}\n',
  );
  await rejects(
    decryptSops(tamperData(enc, '"e":'), [id.identity], { source: "creds.json" }),
    IntegrityError,
    /creds\.json: value at c\.e does not decrypt/,
  );
});

Deno.test("sops: decryptSopsWithDataKey opens a file whose data key is known", async () => {
  const id = await generateIdentity();
  const dataKey = crypto.getRandomValues(new Uint8Array(32));
  const enc = await encryptSopsForTest("k: v\n", { recipients: [id.recipient], dataKey });
  assert.deepEqual(decryptSopsWithDataKey(enc, dataKey).data, { k: "v" });
  assert.throws(
    () => decryptSopsWithDataKey(enc, new Uint8Array(32)),
    /value at k does not decrypt/,
  );
});

Deno.test("sops values: Go's float formatting (FormatFloat 'f', -1)", () => {
  const cases: [number, string][] = [
    [1, "1"],
    [1.5, "1.5"],
    [0.1, "0.1"],
    [-0, "-0"],
    [1e21, "1000000000000000000000"],
    [1.5e300, "15" + "0".repeat(299)],
    [1e-7, "0.0000001"],
    [1.234e-7, "0.0000001234"],
    [123456789.125, "123456789.125"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ];
  for (const [f, s] of cases) assert.equal(formatGoFloat(f), s, `formatGoFloat(${f})`);
});

Deno.test("sops values: plain YAML scalars are typed as go-yaml v3 types them", () => {
  const cases: [string, string, unknown][] = [
    ["0777", "int", 511],
    ["0x1F", "int", 31],
    ["1_000", "int", 1000],
    ["+1", "int", 1],
    ["08", "float", 8],
    ["1e3", "float", 1000],
    [".5", "float", 0.5],
    ["1.", "float", 1],
    ["yes", "str", "yes"],
    ["on", "str", "on"],
    ["True", "bool", true],
    ["~", "null", null],
    [".inf", "float", Infinity],
    ["2001-12-14 21:59:43.10", "time", "2001-12-14 21:59:43.10"],
    ["2001-02-30", "str", "2001-02-30"],
    ["1e400", "str", "1e400"],
    ["ENC[AES256_GCM,data:x]", "str", "ENC[AES256_GCM,data:x]"],
  ];
  for (const [src, kind, value] of cases) {
    const node = parseDocument(`v: ${src}\n`, { keepSourceTokens: true }).get("v", true) as Scalar;
    const t = typeScalar(node, false);
    assert.ok(!("error" in t), src);
    assert.equal(t.kind, kind, src);
    assert.deepEqual(t.value, value, src);
  }
  const mac = (src: string) => {
    const node = parseDocument(`v: ${src}\n`, { keepSourceTokens: true }).get("v", true) as Scalar;
    const t = typeScalar(node, false);
    return "mac" in t ? new TextDecoder().decode(t.mac) : null;
  };
  assert.equal(mac("True"), "True");
  assert.equal(mac("false"), "False");
  assert.equal(mac("1.50"), "1.5");
  assert.equal(mac("2001-12-14 21:59:43.10"), "2001-12-14T21:59:43.1Z");
  assert.equal(mac("'0777'"), "0777");
  assert.equal(mac("~"), null);
});
