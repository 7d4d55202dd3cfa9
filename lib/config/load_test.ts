import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { ConfigError } from "../errors.ts";
import { loadConfig, parseConfigText } from "./load.ts";
import { redactConfig, renderConfigDocs, secretValues } from "./render.ts";

async function withConfigFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-config-test-" });
  try {
    const path = `${dir}/config.yaml`;
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const HOME_ENV = { HOME: "/home/u" };

Deno.test("defaults apply when the default config file is absent", async () => {
  const { config, fileFound, sources } = await loadConfig({
    env: { HOME: "/nonexistent-home", XDG_CONFIG_HOME: "/nonexistent-xdg" },
  });
  assertEquals(fileFound, false);
  assertEquals(config.transfer.concurrency, 8);
  assertEquals(config.log.level, "info");
  assertEquals(sources["log.level"], "default");
});

Deno.test("an explicitly named config file that does not exist is an error naming it", async () => {
  const err = await assertRejects(
    () => loadConfig({ path: "/nonexistent/tcfs.yaml", env: HOME_ENV }),
    ConfigError,
  );
  assert(err.message.includes("/nonexistent/tcfs.yaml"), err.message);
});

Deno.test("TCFS_CONFIG names the file when --config is absent", async () => {
  await withConfigFile("log:\n  level: debug\n", async (path) => {
    const { config, path: used } = await loadConfig({ env: { ...HOME_ENV, TCFS_CONFIG: path } });
    assertEquals(used, path);
    assertEquals(config.log.level, "debug");
  });
});

Deno.test("file values override defaults and env overrides the file", async () => {
  await withConfigFile(
    "transfer:\n  concurrency: 4\ns3:\n  region: eu-1\nsync:\n  roots: [/a]\n",
    async (path) => {
      const { config, sources } = await loadConfig({
        path,
        env: {
          ...HOME_ENV,
          TCFS_S3_REGION: "us-west-2",
          TCFS_S3_PATH_STYLE: "false",
          TCFS_SYNC_ROOTS: "/x, /y",
        },
      });
      assertEquals(config.transfer.concurrency, 4);
      assertEquals(sources["transfer.concurrency"], "file");
      assertEquals(config.s3.region, "us-west-2");
      assertEquals(sources["s3.region"], "env");
      assertEquals(config.s3.path_style, false);
      assertEquals(config.sync.roots, ["/x", "/y"]);
    },
  );
});

Deno.test("a typo in a key is an error naming the key and suggesting the right one", () => {
  const err = assertThrows(
    () => parseConfigText("repository:\n  ulr: file:///x\n", "/c.yaml"),
    ConfigError,
  );
  assert(err.message.includes("repository.ulr"), err.message);
  assert(err.message.includes("did you mean 'repository.url'"), err.message);
  const top = assertThrows(() => parseConfigText("tranfser: {}\n", "/c.yaml"), ConfigError);
  assert(top.message.includes("'tranfser'"), top.message);
});

Deno.test("wrong types and out-of-range values name the key", () => {
  const cases: [string, string][] = [
    ["transfer:\n  concurrency: many\n", "'transfer.concurrency': expected an integer"],
    ["transfer:\n  concurrency: 0\n", "must be at least 1"],
    ["log:\n  level: verbose\n", "expected one of debug, info, warn, error"],
    ["s3:\n  path_style: 'yes'\n", "'s3.path_style': expected true or false"],
    ["sync:\n  roots: /a\n", "'sync.roots': expected a list of strings"],
    ["- a\n- b\n", "top level must be a mapping"],
    ["log: [1]\n", "'log' must be a mapping"],
    ["log:\n  level: [\n", "not valid YAML"],
  ];
  for (const [text, expected] of cases) {
    const err = assertThrows(() => parseConfigText(text, "/c.yaml"), ConfigError);
    assert(err.message.includes(expected), `${JSON.stringify(text)} -> ${err.message}`);
  }
});

Deno.test("bad environment overrides are errors naming the variable", async () => {
  const bad = await assertRejects(
    () => loadConfig({ env: { ...HOME_ENV, TCFS_TRANSFER_CONCURRENCY: "lots" } }),
    ConfigError,
  );
  assert(bad.message.includes("TCFS_TRANSFER_CONCURRENCY"), bad.message);
  const unknown = await assertRejects(
    () => loadConfig({ env: { ...HOME_ENV, TCFS_LOG_LEVLE: "debug" } }),
    ConfigError,
  );
  assert(unknown.message.includes("TCFS_LOG_LEVLE"), unknown.message);
});

Deno.test("secrets are redacted and listed for scrubbing", async () => {
  const { config } = await loadConfig({
    env: { ...HOME_ENV, TCFS_S3_SECRET_ACCESS_KEY: "s3cr3t-value-123" },
  });
  const shown = JSON.stringify(redactConfig(config));
  assert(!shown.includes("s3cr3t-value-123"));
  assert(shown.includes("<redacted>"));
  assertEquals(secretValues(config), ["s3cr3t-value-123"]);
});

Deno.test("docs/config.md is the reference generated from the schema", async () => {
  const onDisk = await Deno.readTextFile(new URL("../../docs/config.md", import.meta.url));
  assertEquals(
    onDisk,
    renderConfigDocs(),
    "docs/config.md is stale: run `deno task docs:config`",
  );
});
