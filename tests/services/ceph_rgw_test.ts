import assert from "node:assert/strict";
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { startCephRgw } from "./ceph_rgw.ts";
import { isProcessAlive } from "./process.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < length; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65_536, length)));
  }
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function httpStatusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (e) {
    if (e instanceof S3ServiceException) return e.$metadata.httpStatusCode;
    throw e;
  }
}

Deno.test("startCephRgw serves real S3, then stop() leaves no process and no temp dir", async () => {
  const s3 = await startCephRgw();
  const client = new S3Client(s3.clientConfig());
  try {
    assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(s3.pids.length, 3);
    const Bucket = "tcfs-harness";
    await s3.createBucket(Bucket);
    await s3.createBucket(Bucket); // idempotent

    const body = randomBytes(5 * 1024 * 1024 + 123);
    const put = await client.send(new PutObjectCommand({ Bucket, Key: "big.bin", Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket, Key: "big.bin" }));
    const read = await got.Body!.transformToByteArray();
    assert.equal(read.length, body.length);
    assert.ok(sameBytes(read, body), "GetObject returned different bytes than were put");

    const head = await client.send(new HeadObjectCommand({ Bucket, Key: "big.bin" }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, put.ETag);

    const first = randomBytes(1000);
    await client.send(new PutObjectCommand({ Bucket, Key: "once", Body: first, IfNoneMatch: "*" }));
    const second = client.send(
      new PutObjectCommand({ Bucket, Key: "once", Body: randomBytes(10), IfNoneMatch: "*" }),
    );
    assert.equal(await httpStatusOf(second), 412);
    const kept = await client.send(new GetObjectCommand({ Bucket, Key: "once" }));
    assert.ok(sameBytes(await kept.Body!.transformToByteArray(), first));

    const user = JSON.parse(await s3.admin(["user", "info", "--uid", "tcfs-test"]));
    assert.equal(user.keys[0].access_key, s3.accessKeyId);
  } catch (e) {
    console.error(s3.logTail());
    throw e;
  } finally {
    client.destroy();
    await s3.stop();
  }
  for (const pid of s3.pids) assert.ok(!isProcessAlive(pid), `daemon ${pid} still runs`);
  await assert.rejects(Deno.stat(s3.dir), Deno.errors.NotFound);
  await s3.stop(); // idempotent
  await assert.rejects(s3.admin(["user", "list"]), /stopped/);
});

Deno.test("startCephRgw honours an aborted signal and cleans up", async () => {
  const before = new Set([...Deno.readDirSync("/tmp")].map((e) => e.name));
  await assert.rejects(startCephRgw({ signal: AbortSignal.abort() }));
  const leaked = [...Deno.readDirSync("/tmp")]
    .filter((e) => e.name.startsWith("tcfs-rgw-") && !before.has(e.name));
  assert.deepEqual(leaked, []);
});
