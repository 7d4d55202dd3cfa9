import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { assertFuseAvailable } from "../../tests/services/mod.ts";
import { MountError } from "./errno.ts";
import { isMounted, unmountPath } from "./mount.ts";
import { MemFs } from "./testing/memfs.ts";
import { sh } from "./testing/harness.ts";
import { mountFileSystem } from "./session.ts";

const script = new URL("./testing/mount_memfs.ts", import.meta.url).pathname;

/** Start mount_memfs.ts in a child process and wait until it has mounted; also its sleeper's pid. */
async function startMounter(
  mountpoint: string,
  method: string,
): Promise<[Deno.ChildProcess, number]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, mountpoint, method],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const [word, pid] = new TextDecoder().decode(value).trim().split(" ");
  assertEquals(word, "mounted");
  return [child, Number(pid)];
}

async function waitUntil(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

async function withTempMountpoint(body: (mountpoint: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-fuse-" });
  const mountpoint = `${dir}/mnt`;
  await Deno.mkdir(mountpoint);
  try {
    await body(mountpoint);
  } finally {
    if (await isMounted(mountpoint)) await unmountPath(mountpoint, { lazy: true });
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("after SIGKILL of the serving process, auto_unmount removes the mount", async () => {
  await assertFuseAvailable();
  await withTempMountpoint(async (mountpoint) => {
    const [child, sleeper] = await startMounter(mountpoint, "fusermount");
    try {
      assertEquals((await sh(`cat '${mountpoint}/hello.txt'`)).stdout, "hello\n");
      assert(await isMounted(mountpoint));
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel();
      // The sleeper lives on; it must not have inherited the fusermount3 link.
      assert(
        await waitUntil(async () => !(await isMounted(mountpoint)), 10_000),
        "still mounted after the serving process died",
      );
      assertEquals((await sh(`kill -0 ${sleeper}`)).code, 0, "the sleeper should still run");
      assertEquals((await sh(`ls -A '${mountpoint}'`)).stdout, "");
    } finally {
      await sh(`kill ${sleeper}`);
    }
  });
});

Deno.test("after SIGKILL, a mount(2) mount is dead but detectable and recoverable", async () => {
  await assertFuseAvailable();
  if (Deno.uid() !== 0) throw new Error("this test mounts with mount(2) and needs root");
  await withTempMountpoint(async (mountpoint) => {
    const [child, sleeper] = await startMounter(mountpoint, "syscall");
    await sh(`kill ${sleeper}`);
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    assert(await isMounted(mountpoint));
    const r = await sh(`stat '${mountpoint}'`);
    assert(r.stderr.includes("not connected"), r.stderr);
    await assertRejects(
      () => mountFileSystem(new MemFs(), mountpoint),
      MountError,
      "dead FUSE mount",
    );
    await unmountPath(mountpoint, { lazy: true });
    assert(!(await isMounted(mountpoint)));
    // The directory is usable again.
    const server = await mountFileSystem(new MemFs(), mountpoint, { method: "syscall" });
    assertEquals((await sh(`stat -c %F '${mountpoint}'`)).stdout, "directory\n");
    await server.unmount();
  });
});

Deno.test("mounting on a missing directory is a MountError naming it", async () => {
  await assertRejects(
    () => mountFileSystem(new MemFs(), "/nonexistent/tcfs-mnt"),
    MountError,
    "/nonexistent/tcfs-mnt",
  );
});
