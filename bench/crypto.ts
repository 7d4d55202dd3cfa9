/**
 * Throughput of the crypto layer, with references measured in the same run.
 *
 * Run: `deno run -A bench/crypto.ts [--quick]`
 *
 * Prints MB/s (10^6 bytes per second) for sealing and opening 1 MiB
 * envelopes with AES-256-GCM through WebCrypto, and, as references: raw
 * WebCrypto AES-256-GCM without the envelope (the envelope's own cost),
 * WebCrypto SHA-256 over the same buffers, and OpenSSL's `speed` figure for
 * AES-256-GCM on 1 MiB blocks (the native ceiling of this CPU) when the
 * `openssl` command exists. Also times master key wrapping with age.
 *
 * Each figure is the best of several rounds, so that a busy shared machine
 * disturbs it less.
 *
 * @module
 */

import {
  deriveRepoKeys,
  generateIdentity,
  generateMasterKey,
  generateRepoId,
  open,
  seal,
  unwrapWithIdentities,
  unwrapWithPassphrase,
  wrapForPassphrase,
  wrapForRecipients,
} from "../lib/crypto/mod.ts";

const MIB = 1024 * 1024;
const quick = Deno.args.includes("--quick");
const ROUNDS = quick ? 2 : 5;
const ROUND_MS = quick ? 200 : 500;

/** Best throughput in MB/s of `op` over `bytes` bytes per call. */
async function throughput(bytes: number, op: () => Promise<unknown>): Promise<number> {
  await op(); // warm up
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      await op();
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < ROUND_MS);
    best = Math.max(best, (n * bytes) / (elapsed / 1000) / 1e6);
  }
  return best;
}

/** Best wall time in milliseconds of `op` over `runs` runs. */
async function bestMs(runs: number, op: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await op();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

async function opensslAesGcm(): Promise<number | null> {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["speed", "-evp", "aes-256-gcm", "-seconds", "1", "-bytes", String(MIB)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const m = new TextDecoder().decode(out.stdout).match(/^AES-256-GCM\s+([\d.]+)k\s*$/m);
    return m ? (Number(m[1]) * 1000) / 1e6 : null;
  } catch {
    return null;
  }
}

const keys = await deriveRepoKeys(generateMasterKey(), generateRepoId());
const payload = new Uint8Array(MIB);
for (let i = 0; i < MIB; i += 65536) crypto.getRandomValues(payload.subarray(i, i + 65536));
const aad = new TextEncoder().encode("chunk/bench");
const sealed = await seal(keys.dataKey, payload, { compressed: false, aad });
const iv = crypto.getRandomValues(new Uint8Array(12));
const raw = new Uint8Array(
  await crypto.subtle.encrypt({ name: "AES-GCM", iv }, keys.dataKey, payload),
);

const sealMBs = await throughput(
  MIB,
  () => seal(keys.dataKey, payload, { compressed: false, aad }),
);
const openMBs = await throughput(MIB, () => open(keys.dataKey, sealed, aad));
const rawEncMBs = await throughput(
  MIB,
  () => crypto.subtle.encrypt({ name: "AES-GCM", iv }, keys.dataKey, payload),
);
const rawDecMBs = await throughput(
  MIB,
  () => crypto.subtle.decrypt({ name: "AES-GCM", iv }, keys.dataKey, raw),
);
const sha256MBs = await throughput(MIB, () => crypto.subtle.digest("SHA-256", payload));
const opensslMBs = await opensslAesGcm();

const fmt = (x: number) => x.toFixed(0).padStart(6);
const ratio = (x: number, ref: number) => `${(x / ref).toFixed(2)}x`;
console.log(`crypto bench: 1 MiB payloads, best of ${ROUNDS} rounds of ${ROUND_MS} ms`);
console.log(`envelope seal  (AES-256-GCM, WebCrypto)  ${fmt(sealMBs)} MB/s`);
console.log(`envelope open  (AES-256-GCM, WebCrypto)  ${fmt(openMBs)} MB/s`);
console.log(
  `raw WebCrypto AES-GCM encrypt / decrypt   ${fmt(rawEncMBs)} / ${fmt(rawDecMBs).trim()} MB/s` +
    `  (envelope seal ${ratio(sealMBs, rawEncMBs)}, open ${ratio(openMBs, rawDecMBs)} of raw)`,
);
console.log(
  `reference WebCrypto SHA-256               ${fmt(sha256MBs)} MB/s` +
    `  (seal ${ratio(sealMBs, sha256MBs)}, open ${ratio(openMBs, sha256MBs)} of it)`,
);
if (opensslMBs === null) {
  console.log("reference openssl speed aes-256-gcm      (openssl not available)");
} else {
  console.log(
    `reference openssl speed aes-256-gcm      ${fmt(opensslMBs)} MB/s` +
      `  (seal ${ratio(sealMBs, opensslMBs)}, open ${ratio(openMBs, opensslMBs)} of it)`,
  );
}

const master = generateMasterKey();
const devices = await Promise.all([1, 2, 3].map(() => generateIdentity()));
const recipients = devices.map((d) => d.recipient);
const wrapped = await wrapForRecipients(master, recipients);
const wrapMs = await bestMs(20, () => wrapForRecipients(master, recipients));
const unwrapMs = await bestMs(20, () => unwrapWithIdentities(wrapped, [devices[2].identity]));
console.log(
  `age wrap for 3 X25519 recipients ${wrapMs.toFixed(2)} ms, unwrap ${unwrapMs.toFixed(2)} ms`,
);
if (!quick) {
  const pw = await wrapForPassphrase(master, "bench passphrase");
  const pwWrapMs = await bestMs(1, () => wrapForPassphrase(master, "bench passphrase"));
  const pwUnwrapMs = await bestMs(1, () => unwrapWithPassphrase(pw, "bench passphrase"));
  console.log(
    `age scrypt (work factor 18) wrap ${pwWrapMs.toFixed(0)} ms, unwrap ${
      pwUnwrapMs.toFixed(0)
    } ms`,
  );
}
