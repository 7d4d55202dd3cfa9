import assert from "node:assert/strict";
import { assertFuseAvailable } from "./fuse.ts";
import { ServiceError } from "./process.ts";

Deno.test("assertFuseAvailable resolves on this machine", async () => {
  await assertFuseAvailable();
});

Deno.test("assertFuseAvailable names a missing device", async () => {
  await assert.rejects(
    assertFuseAvailable({ devicePath: "/dev/tcfs-no-such-fuse" }),
    (e: unknown) =>
      e instanceof ServiceError && /\/dev\/tcfs-no-such-fuse does not exist/.test(e.message),
  );
});

Deno.test("assertFuseAvailable names a device that is not a character device", async () => {
  const file = await Deno.makeTempFile();
  try {
    await assert.rejects(
      assertFuseAvailable({ devicePath: file }),
      (e: unknown) => e instanceof ServiceError && e.message.includes("not a character device"),
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("assertFuseAvailable names a device it cannot open read-write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // As root every permission check passes, so make a node for a driver that
    // does not exist (major 511 is unassigned); others cannot read /dev/mem.
    let device = "/dev/mem";
    if (Deno.uid() === 0) {
      device = `${dir}/no-driver`;
      const made = await new Deno.Command("mknod", { args: [device, "c", "511", "0"] }).output();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
    }
    await assert.rejects(
      assertFuseAvailable({ devicePath: device }),
      (e: unknown) =>
        e instanceof ServiceError && e.message.includes(`${device} cannot be opened read-write`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("assertFuseAvailable names a missing fusermount3 and its package", async () => {
  await assert.rejects(
    assertFuseAvailable({ fusermountPath: "/nonexistent/fusermount3" }),
    (e: unknown) =>
      e instanceof ServiceError &&
      e.message.includes("/nonexistent/fusermount3 is not installed") &&
      e.message.includes("fuse3"),
  );
});

Deno.test("assertFuseAvailable names a kernel without the fuse filesystem", async () => {
  const list = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(list, "nodev\tproc\n\text4\nnodev\tfusectl\n\tfuseblk\n");
    await assert.rejects(
      assertFuseAvailable({ filesystemsPath: list }),
      (e: unknown) => e instanceof ServiceError && e.message.includes("no fuse filesystem"),
    );
  } finally {
    await Deno.remove(list);
  }
});
