/**
 * The daemon through the real CLI and a Node gRPC client: every operation
 * goes through it while it runs, paths outside the sync roots are refused,
 * concurrent clients work, and SIGTERM stops it cleanly.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { makeDevice } from "./fixtures/device.ts";
import { randomBytes } from "./fixtures/tree.ts";
import { startDaemon } from "./fixtures/daemon.ts";
import { PROTO_PATH } from "../lib/rpc/mod.ts";
import {
  apiGet,
  freePort,
  LOOPBACK,
  Sandbox,
  startPrometheus,
  type Target,
} from "./services/mod.ts";

Deno.test("the daemon serves the CLI and plain gRPC clients, confined to the sync roots", async (t) => {
  const d = await makeDevice("daemon");
  const root = `${d.dir}/root`;
  await Deno.mkdir(root);
  d.env.TCFS_SYNC_ROOTS = root;
  const metricsPort = freePort();
  d.env.TCFS_DAEMON_METRICS_LISTEN = `${LOOPBACK}:${metricsPort}`;
  await Deno.writeTextFile(`${d.dir}/pass`, "daemon test passphrase\n");
  await d.ok(["init", `file://${d.dir}/repo`, "--passphrase-file", `${d.dir}/pass`]);
  const daemon = await startDaemon(d);
  try {
    const sock = await Deno.stat(daemon.socket);
    assertEquals(sock.mode! & 0o777, 0o600);
    assertEquals(
      (await Deno.stat(daemon.socket.slice(0, daemon.socket.lastIndexOf("/")))).mode! & 0o777,
      0o700,
    );

    await t.step("a Node @grpc/grpc-js client calls Status and Watch on the socket", async () => {
      const node = new Deno.Command("node", {
        args: [
          new URL("./node_grpc_client.mjs", import.meta.url).pathname,
          daemon.socket,
          PROTO_PATH,
        ],
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines: string[] = [];
      const reader = node.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (!lines.some((l) => l.includes("watching"))) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        lines.push(...buffer.split("\n").slice(0, -1));
        buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
      }
      await new Promise((r) => setTimeout(r, 300));
      await Deno.writeTextFile(`${root}/w.txt`, "watch me\n");
      await d.ok(["sync"]); // produces a "synced" event
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
      }
      lines.push(...buffer.split("\n").filter((l) => l));
      const status = await node.status;
      assertEquals(
        status.code,
        0,
        new TextDecoder().decode((await node.stderr.getReader().read()).value),
      );
      const parsed = lines.map((l) => JSON.parse(l));
      assertEquals(parsed[0].status.pid, daemon.pid);
      assert(parsed.some((p) => p.event?.kind === "synced"), lines.join("\n"));
    });

    await t.step("the CLI goes through the daemon for every operation", async () => {
      const probe = await d.run(["--debug", "status"]);
      assertMatch(probe.stderr, /using the running daemon/);
      await Deno.mkdir(`${root}/docs`);
      await Deno.writeTextFile(`${root}/docs/a.txt`, "alpha\n");
      const pushed = await d.ok<{ filesPushed: number }>([
        "push",
        `${root}/docs`,
        "--to",
        "/pushed",
      ]);
      assertEquals(pushed.filesPushed, 1);
      const pulled = await d.ok<{ files: number }>(["pull", "/pushed", `${root}/pulled`]);
      assertEquals(pulled.files, 1);
      assertEquals(await Deno.readTextFile(`${root}/pulled/a.txt`), "alpha\n");
      const synced = await d.ok<{ uploaded: number; root: string }>(["sync"]);
      assert(synced.uploaded >= 2 && synced.root === root, JSON.stringify(synced));
      const status = await d.ok<{ totals: { synced: number } }[]>(["status"]);
      assert(status[0].totals.synced >= 3);
      const unsynced = await d.ok<{ files: number }[]>(["unsync", `${root}/docs/a.txt`]);
      assertEquals(unsynced[0].files, 1);
      const hydrated = await d.ok<{ files: number }[]>(["hydrate", `${root}/docs/a.txt.tc`]);
      assertEquals(hydrated[0].files, 1);
      await d.ok(["pin", `${root}/docs/a.txt`]);
      const pinned = await d.run(["unsync", `${root}/docs/a.txt`]);
      assertEquals(pinned.code, 1);
      assertMatch(pinned.stderr, /pinned/);
      await d.ok(["unpin", `${root}/docs/a.txt`]);
      assertEquals(await d.ok<unknown[]>(["conflicts"]), []);
      const status2 = await d.ok<{ pid: number; roots: string[] }>(["daemon", "status"]);
      assertEquals([status2.pid, status2.roots], [daemon.pid, [root]]);
      const events = d.run(["--json", "events", "--kind", "synced", "--count", "1"]);
      await new Promise((r) => setTimeout(r, 500));
      await d.ok(["sync"]);
      const ev = await events;
      assertEquals(ev.code, 0, ev.stderr);
      assertEquals(JSON.parse(ev.stdout.trim()).kind, "synced");
      assertEquals(await d.ok<string[]>(["mount"]), []);
      // Mounts themselves are tested in tests/mount_test.ts; here only the refusals.
      for (
        const [args, why] of [
          [["mount", `${root}/mnt`], /cannot mount on .*mnt/],
          [["unmount", `${root}/mnt`], /is not mounted by this daemon/],
        ] as const
      ) {
        const r = await d.run([...args]);
        assertEquals(r.code, 1);
        assertMatch(r.stderr, why);
      }
      const notInConflict = await d.run(["resolve", `${root}/docs/a.txt`, "--keep", "local"]);
      assertEquals(notInConflict.code, 1);
      assertMatch(notInConflict.stderr, /not in conflict/);
    });

    await t.step("paths outside the sync roots are refused, whoever asks", async () => {
      const before = await Deno.readTextFile("/etc/passwd");
      for (
        const args of [
          ["push", "/etc/passwd"],
          ["hydrate", "/etc/passwd"],
          ["push", `${root}/../../x`],
          ["pull", "/pushed", "/tmp/tcfs-escape-attempt"],
        ]
      ) {
        const r = await d.run(args);
        assertEquals(r.code, 1, args.join(" "));
        assertMatch(r.stderr, /outside the sync roots|not inside a sync root/);
      }
      assertEquals(await Deno.readTextFile("/etc/passwd"), before);
      assert(!(await Deno.lstat("/tmp/tcfs-escape-attempt").then(() => true, () => false)));
    });

    await t.step("two clients pushing and asking status at once both succeed", async () => {
      for (let i = 0; i < 200; i++) await Deno.writeTextFile(`${root}/many-${i}.txt`, `${i}\n`);
      const [p, s] = await Promise.all([
        d.run(["--json", "push", root, "--to", "/bulk"]),
        d.run(["--json", "status"]),
      ]);
      assertEquals([p.code, s.code], [0, 0], p.stderr + s.stderr);
      assert(JSON.parse(p.stdout).filesPushed >= 200);
    });

    await t.step(
      "metrics: promtool accepts /metrics, health and readiness answer, Prometheus scrapes it",
      async () => {
        const base = `http://${LOOPBACK}:${metricsPort}`;
        const text = await (await fetch(`${base}/metrics`)).text();
        assert(text.includes("tcfs_grpc_request_seconds_bucket"), "no gRPC latency metric");
        assert(
          /tcfs_storage_requests_total\{(?=[^}]*op="putIfAbsent")(?=[^}]*outcome="ok")[^}]*\} [1-9]/
            .test(text),
          `no storage puts counted:\n${
            text.split("\n").filter((l) => l.includes("storage_requests_total")).join("\n")
          }`,
        );
        assert(/tcfs_sync_rounds_total\{outcome="ok"\} [1-9]/.test(text), "no sync rounds counted");
        assert(!text.includes("daemon test passphrase"));
        assert(
          /tcfs_grpc_request_seconds_count\{(?=[^}]*method="Push")[^}]*\} [1-9]/.test(text),
          "no Push calls timed",
        );
        const promtool = new Deno.Command("promtool", {
          args: ["check", "metrics"],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const w = promtool.stdin.getWriter();
        await w.write(new TextEncoder().encode(text));
        await w.close();
        const checked = await promtool.output();
        const complaints = new TextDecoder().decode(checked.stdout) +
          new TextDecoder().decode(checked.stderr);
        assertEquals([checked.code, complaints.trim()], [0, ""]);
        for (const path of ["/healthz", "/readyz"]) {
          const res = await fetch(`${base}${path}`);
          await res.body?.cancel();
          assertEquals(res.status, 200, path);
        }
        const sandbox = await Sandbox.create("prometheus-daemon");
        try {
          const api = await startPrometheus(sandbox, `${LOOPBACK}:${metricsPort}`);
          await sandbox.waitUntil("the daemon target to be up", async () => {
            const data = await apiGet<{ activeTargets: Target[] }>(`${api}/targets`);
            return data.activeTargets.some((x) => x.health === "up");
          }, { timeoutMs: 60_000 });
        } finally {
          await sandbox.close();
        }
      },
    );
  } finally {
    const stopped = await daemon.stop("SIGTERM");
    assertEquals(stopped.code, 0, stopped.stderr);
    assert(!(await Deno.lstat(daemon.socket).then(() => true, () => false)), "socket left behind");
    await d.remove();
  }
});

Deno.test("SIGTERM during a long push: exit 0 within seconds, consistent state, the next push resumes", async () => {
  const d = await makeDevice("sigterm");
  const root = `${d.dir}/root`;
  await Deno.mkdir(`${root}/big`, { recursive: true });
  d.env.TCFS_SYNC_ROOTS = root;
  d.env.TCFS_DAEMON_METRICS_LISTEN = "";
  await Deno.writeTextFile(`${d.dir}/pass`, "sigterm passphrase\n");
  await d.ok(["init", `file://${d.dir}/repo`, "--passphrase-file", `${d.dir}/pass`]);
  for (let i = 0; i < 12; i++) {
    await Deno.writeFile(`${root}/big/part-${i}.bin`, randomBytes(24 * 1024 * 1024, 1000 + i));
  }
  const daemon = await startDaemon(d);
  const push = d.run(["--json", "push", `${root}/big`, "--to", "/big"]);
  await new Promise((r) => setTimeout(r, 1500));
  const stopped = await daemon.stop("SIGTERM");
  assertEquals(stopped.code, 0, stopped.stderr);
  assert(stopped.ms < 12_000, `the daemon took ${stopped.ms} ms to stop:\n${stopped.stderr}`);
  await push; // the client sees its call end one way or the other
  // Whatever is in the namespace is complete: a pull of it verifies.
  const listed = await d.run(["--json", "ls", "/big"]);
  if (listed.code === 0 && JSON.parse(listed.stdout).length > 0) {
    const pulled = await d.run(["pull", "/big", `${root}/partial`]);
    assertEquals(pulled.code, 0, pulled.stderr);
  }
  // A new daemon finishes the push, uploading only what is missing.
  const again = await startDaemon(d);
  try {
    const resumed = await d.ok<{ filesPushed: number; errors: unknown[] }>([
      "push",
      `${root}/big`,
      "--to",
      "/big",
    ]);
    assertEquals(resumed.errors, []);
    await d.ok(["pull", "/big", `${root}/restored`]);
    for (let i = 0; i < 12; i++) {
      const a = await Deno.readFile(`${root}/big/part-${i}.bin`);
      const b = await Deno.readFile(`${root}/restored/part-${i}.bin`);
      assert(a.length === b.length && a.every((x, j) => x === b[j]), `part-${i} differs`);
    }
    await d.ok(["daemon", "stop"]);
    const byRequest = await again.exited();
    assertEquals(byRequest.code, 0, byRequest.stderr);
  } finally {
    await again.stop();
    await d.remove();
  }
});
