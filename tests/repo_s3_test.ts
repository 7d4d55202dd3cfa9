/**
 * Repository acceptance against a real Ceph RGW through the real CLI: a large
 * awkward tree round-trips byte for byte, re-pushing uploads nothing, the
 * bucket holds no file name or plaintext hash, other devices get in only once
 * added, and a corrupted chunk fails the pull without writing anything.
 */

import { S3Client } from "@aws-sdk/client-s3";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeDevice } from "./fixtures/device.ts";
import { assertSameTree, makeTree, randomBytes } from "./fixtures/tree.ts";
import { startCephRgw } from "./services/mod.ts";
import { blake3, toHex } from "../lib/hash/mod.ts";
import { Logger } from "../lib/log/mod.ts";
import { push } from "../lib/engine/mod.ts";
import { listAll, type ObjectStore, openStore, type S3Options } from "../lib/storage/mod.ts";
import type { S3Service } from "./services/mod.ts";
import { createTestRepo } from "./fixtures/repo.ts";

const GiB = 1024 ** 3;
const quiet = new Logger({ level: "error", sink: () => {} });

function s3Options(s3: S3Service): S3Options {
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  };
}

/** A store that records the key of every write. */
function recordPuts(inner: ObjectStore, puts: string[]): ObjectStore {
  return Object.assign(Object.create(inner) as ObjectStore, {
    put: (key: string, body: Uint8Array) => (puts.push(key), inner.put(key, body)),
    putIfAbsent: (key: string, body: Uint8Array) => (puts.push(key), inner.putIfAbsent(key, body)),
    get: inner.get.bind(inner),
    head: inner.head.bind(inner),
    listPage: inner.listPage.bind(inner),
    delete: inner.delete.bind(inner),
    close: inner.close.bind(inner),
    url: inner.url,
  });
}

/** Lines in every upload journal under `stateDir`. */
async function journalLines(stateDir: string): Promise<number> {
  let n = 0;
  try {
    for await (const repo of Deno.readDir(stateDir)) {
      if (!repo.isDirectory) continue;
      const text = await Deno.readTextFile(`${stateDir}/${repo.name}/upload-journal`).catch(() =>
        ""
      );
      n += text.split("\n").filter((l) => l !== "").length;
    }
  } catch { /* no state yet */ }
  return n;
}

/** Write `size` pseudo-random bytes to `path` in 4 MiB pieces (never all in memory). */
async function writeStreamed(path: string, size: number, seed: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const piece = new Uint8Array(4 * 1024 * 1024);
  const words = new Uint32Array(piece.buffer);
  let x = seed >>> 0 || 1;
  for (let done = 0; done < size; done += piece.length) {
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    const n = Math.min(piece.length, size - done);
    for (let off = 0; off < n;) off += await file.write(piece.subarray(off, n));
  }
  file.close();
}

/** Peak RSS (KiB) of a command, from GNU time's format or /proc when time is absent. */
async function runMeasured(cmd: string[], env: Record<string, string>) {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  let peak = 0;
  const timer = setInterval(async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > peak) peak = kb;
    } catch { /* exited */ }
  }, 50);
  const out = await child.output();
  clearInterval(timer);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    peakKiB: peak,
  };
}

Deno.test("repository acceptance on a real Ceph RGW", async (t) => {
  await using s3 = await startCephRgw();
  await s3.createBucket("tcfs");
  const url = "s3://tcfs/repo";
  const a = await makeDevice("a", s3);
  const b = await makeDevice("b", s3);
  const work = await Deno.makeTempDir({ prefix: "tcfs-s3-acceptance-" });
  try {
    await Deno.writeTextFile(`${a.dir}/passphrase`, "correct horse battery staple\n");
    const init = await a.ok<{ action: string; encrypted: boolean }>([
      "init",
      url,
      "--passphrase-file",
      `${a.dir}/passphrase`,
    ]);
    assertEquals([init.action, init.encrypted], ["created", true]);

    const src = `${work}/src`;
    await makeTree(src, { smallFiles: 10_000 });
    await writeStreamed(`${src}/one gibibyte.bin`, GiB, 0x9e3779b9);

    await t.step("a 10,000-file tree with a 1 GiB file round-trips byte for byte", async () => {
      const deno = Deno.execPath();
      const main = new URL("../main.ts", import.meta.url).pathname;
      const pushed = await runMeasured(
        [deno, "run", "-A", "--unstable-kv", main, "--json", "push", src, "--to", "/tree"],
        { ...a.env, NO_COLOR: "1" },
      );
      assertEquals(pushed.code, 0, pushed.stderr);
      const summary = JSON.parse(pushed.stdout);
      assertEquals(summary.errors, []);
      assert(summary.filesPushed >= 10_004, JSON.stringify(summary));
      // The 1 GiB file is streamed: the push holds a few chunks per encode worker, the uploads in
      // flight and three V8 heaps (450-650 MiB measured). Reading it whole would need the file
      // plus its encoded copy, over 2 GiB.
      assert(pushed.peakKiB < 800 * 1024, `push peak RSS ${pushed.peakKiB} KiB`);
      await a.ok(["pull", "/tree", `${work}/pulled`]);
      await assertSameTree(src, `${work}/pulled`);
    });

    await t.step("pushing the unchanged tree again uploads nothing", async () => {
      const again = await a.ok<
        { objectsUploaded: number; records: number; filesUnchanged: number }
      >(
        ["push", src, "--to", "/tree"],
      );
      assertEquals(again.objectsUploaded, 0);
      assertEquals(again.records, 0);
      assert(again.filesUnchanged >= 10_004);
    });

    await t.step("no object key or body contains a file name or a plain file hash", async () => {
      const names = [
        "naïve café.txt",
        "100% sure & (odd) #name.txt",
        "one gibibyte.bin",
        "script.sh",
      ];
      const needles: Uint8Array[] = names.map((n) => new TextEncoder().encode(n));
      for (const f of ["script.sh", "ünïcødé/深い/dir/naïve café.txt", "many/d1/file 1.dat"]) {
        const digest = blake3(await Deno.readFile(`${src}/${f}`));
        needles.push(digest, new TextEncoder().encode(toHex(digest)));
      }
      const store = await openStore(url, s3Options(s3));
      let objects = 0;
      for await (const o of listAll(store, "")) {
        objects++;
        for (const n of names) assert(!o.key.includes(n), `key ${o.key} contains ${n}`);
        if (o.size > 64 * 1024 * 1024) continue;
        const body = await store.get(o.key);
        for (const needle of needles) assert(!contains(body, needle), `${o.key} contains a secret`);
      }
      assert(objects > 10, `only ${objects} objects`);
      await store.close();
    });

    await t.step("another device can read only after it is added", async () => {
      const denied = await b.run(["init", url]);
      assertEquals(denied.code, 1);
      assertMatch(denied.stderr, /no matching age identity/);
      const show = await b.ok<{ recipient: string }>(["device", "show"]);
      await a.ok(["device", "add", show.recipient]);
      const joined = await b.ok<{ action: string }>(["init", url]);
      assertEquals(joined.action, "joined");
      await b.ok(["pull", "/tree/ünïcødé", `${work}/by-b`]);
      await assertSameTree(`${src}/ünïcødé`, `${work}/by-b`);
    });

    await t.step("a flipped byte in a chunk fails the pull naming file and chunk", async () => {
      await Deno.mkdir(`${work}/victim`);
      await writeStreamed(`${work}/victim/victim.bin`, 3 * 1024 * 1024 + 17, 12345);
      const before = new Set<string>();
      const client = new S3Client(s3.clientConfig());
      const store = await openStore(url, s3Options(s3));
      for await (const o of listAll(store, "data/")) before.add(o.key);
      await a.ok(["push", `${work}/victim`, "--to", "/victim"]);
      const fresh: string[] = [];
      for await (const o of listAll(store, "data/")) if (!before.has(o.key)) fresh.push(o.key);
      assert(fresh.length >= 1, "the victim file made no chunk object");
      const body = await store.get(fresh[0]);
      body[body.length - 40] ^= 0x20;
      await store.put(fresh[0], body);
      const r = await a.run(["pull", "/victim/victim.bin", `${work}/restored.bin`]);
      assertEquals(r.code, 1);
      assert(r.stderr.includes("/victim/victim.bin"), r.stderr);
      assert(r.stderr.includes(fresh[0].slice(-64)), r.stderr);
      const left = [...Deno.readDirSync(work)].map((e) => e.name);
      assert(
        !left.some((n) => n.startsWith("restored") || n.startsWith(".tcfs-pull")),
        String(left),
      );
      client.destroy();
      await store.close();
    });

    await t.step("a 1 MiB edit in a 256 MiB file re-uploads at most 3 chunk objects", async () => {
      const inner = await openStore("s3://tcfs/dedup", s3Options(s3));
      const puts: string[] = [];
      const store = recordPuts(inner, puts);
      const { repo } = await createTestRepo(store);
      await Deno.mkdir(`${work}/dedup`);
      const path = `${work}/dedup/big.bin`;
      await writeStreamed(path, 256 * 1024 * 1024, 777);
      const opts = {
        sources: [`${work}/dedup`],
        to: "/d",
        device: "00000000000000d1",
        concurrency: 8,
        log: quiet,
      };
      await push(repo, opts);
      const file = await Deno.open(path, { write: true });
      await file.seek(128 * 1024 * 1024, Deno.SeekMode.Start);
      await file.write(randomBytes(1024 * 1024, 4242));
      file.close();
      puts.length = 0;
      const again = await push(repo, opts);
      const chunkPuts = puts.filter((k) => k.startsWith("data/") || k.startsWith("packs/"));
      assert(
        chunkPuts.length >= 1 && chunkPuts.length <= 3,
        `chunk objects uploaded: ${chunkPuts}`,
      );
      assertEquals(again.filesPushed, 1);
      puts.length = 0;
      const unchanged = await push(repo, opts);
      assertEquals([unchanged.filesPushed, puts.length], [0, 0]);
      await store.close();
    });

    await t.step(
      "kill -9 during a push: nothing half-visible, the rerun uploads only what is missing",
      async () => {
        const src2 = `${work}/resume`;
        await Deno.mkdir(`${src2}/small`, { recursive: true });
        for (let i = 0; i < 24; i++) {
          await writeStreamed(`${src2}/part ${i}.bin`, 8 * 1024 * 1024, 1000 + i);
        }
        for (let i = 0; i < 500; i++) {
          await Deno.writeFile(`${src2}/small/${i}.txt`, randomBytes(3000, i));
        }
        const store = await openStore(url, s3Options(s3));
        const countObjects = async () => {
          let n = 0;
          for await (const o of listAll(store, "")) if (/^(data|packs)\//.test(o.key)) n++;
          return n;
        };
        const journal = `${a.env.XDG_DATA_HOME}/tcfs/state`;
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--unstable-kv",
            new URL("../main.ts", import.meta.url).pathname,
            "push",
            src2,
            "--to",
            "/resume",
          ],
          env: a.env,
          stdout: "null",
          stderr: "null",
        }).spawn();
        // Wait until some objects are durable (journaled), then kill without warning.
        for (let waited = 0; waited < 60_000; waited += 50) {
          const lines = await journalLines(journal);
          if (lines >= 20) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        child.kill("SIGKILL");
        const status = await child.status;
        assert(!status.success, "the push finished before it could be killed");
        assert(await journalLines(journal) > 0, "nothing was journaled before the kill");
        // Whatever the namespace shows must be complete and correct.
        const listed = await a.run(["--json", "ls", "/resume"]);
        if (listed.code === 0) {
          const pulled = await a.run(["pull", "/resume", `${work}/partial`]);
          assertEquals(pulled.code, 0, pulled.stderr);
          for await (const e of Deno.readDir(`${work}/partial`)) {
            if (e.isFile) {
              assertEquals(
                await Deno.readFile(`${work}/partial/${e.name}`),
                await Deno.readFile(`${src2}/${e.name}`),
              );
            }
          }
        }
        const before = await countObjects();
        const rerun = await a.ok<{ objectsUploaded: number; errors: unknown[] }>([
          "push",
          src2,
          "--to",
          "/resume",
        ]);
        assertEquals(rerun.errors, []);
        const added = (await countObjects()) - before;
        // Content-addressed chunk objects already stored are not sent again; at most the few that
        // were in flight when the kill came (uploaded but not yet journaled) are repeated.
        assert(
          rerun.objectsUploaded <= added + 8,
          `rerun uploaded ${rerun.objectsUploaded}, new ${added}`,
        );
        assertEquals(
          await journalLines(journal),
          0,
          "the journal is emptied after a complete push",
        );
        await a.ok(["pull", "/resume", `${work}/resumed`]);
        await assertSameTree(src2, `${work}/resumed`);
        await store.close();
      },
    );
  } finally {
    await a.remove();
    await b.remove();
    await Deno.remove(work, { recursive: true });
  }
});

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0 || hay.length < needle.length) return false;
  const first = needle[0];
  outer: for (
    let i = hay.indexOf(first);
    i !== -1 && i <= hay.length - needle.length;
    i = hay.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
