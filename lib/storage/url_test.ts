import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { FileStore } from "./file.ts";
import { S3Store } from "./s3.ts";
import { openStore } from "./url.ts";

Deno.test("openStore opens file:// and s3:// URLs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-url-" });
  try {
    const file = await openStore(`file://${dir}/repo`);
    assert.ok(file instanceof FileStore);
    assert.equal(file.url, `file://${dir}/repo`);
    await file.put("x", new Uint8Array([1]));
    assert.deepEqual(await Deno.readFile(`${dir}/repo/x`), new Uint8Array([1]));
    const local = await openStore(`file://localhost${dir}/repo`);
    assert.deepEqual(await local.get("x"), new Uint8Array([1]));

    const s3 = await openStore("s3://bucket/some/prefix", {
      endpoint: "http://127.0.0.1:1",
      accessKeyId: "id",
      secretAccessKey: "secret",
    });
    assert.ok(s3 instanceof S3Store);
    assert.equal(s3.url, "s3://bucket/some/prefix");
    assert.equal(s3.prefix, "some/prefix/");
    await s3.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore rejects malformed URLs and unknown schemes with ConfigError", async () => {
  const cases: [string, RegExp][] = [
    ["/srv/repo", /write file:\/\/\/srv\/repo/],
    ["relative/path", /invalid store URL/],
    ["gs://bucket", /unsupported store URL scheme "gs:"/],
    ["file://host/srv", /no host/],
    ["file:///srv?x=1", /no host, query or fragment/],
    ["s3://", /invalid S3 URL/],
    ["", /invalid store URL/],
  ];
  for (const [url, message] of cases) {
    await assert.rejects(
      openStore(url),
      (err) => err instanceof ConfigError && message.test(err.message),
      url,
    );
  }
});
