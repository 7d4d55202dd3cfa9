import { assert, assertEquals } from "../../tests/assert.ts";
import { Logger } from "./logger.ts";

function capture(level: "debug" | "info" = "info", format: "text" | "json" = "text") {
  const lines: string[] = [];
  return { lines, log: new Logger({ level, format, sink: (l) => lines.push(l) }) };
}

Deno.test("lines below the level are dropped", () => {
  const { lines, log } = capture("info");
  log.debug("hidden");
  log.info("shown");
  log.error("also shown");
  assertEquals(lines.length, 2);
  assert(lines[0].includes("shown"));
});

Deno.test("json format writes one parseable object per line with the fields", () => {
  const { lines, log } = capture("debug", "json");
  log.child("push").warn("slow down", { attempt: 2, key: "a b" });
  const obj = JSON.parse(lines[0]);
  assertEquals(obj.level, "warn");
  assertEquals(obj.component, "push");
  assertEquals(obj.msg, "slow down");
  assertEquals(obj.attempt, 2);
});

Deno.test("registered secrets never appear, in messages, fields or children", () => {
  for (const format of ["text", "json"] as const) {
    const { lines, log } = capture("debug", format);
    log.addSecret('AKIA"SECRET/value');
    log.child("s3").error('request failed with key AKIA"SECRET/value', {
      detail: 'x AKIA"SECRET/value y',
    });
    assert(!lines.join("\n").includes("SECRET/value"), lines.join("\n"));
    assert(lines[0].includes("<redacted>"));
  }
});

Deno.test("fields with secret-looking names are redacted whatever their value", () => {
  const { lines, log } = capture();
  log.info("auth", { secret_access_key: "abc", passphrase: "p", token: "t", user: "bob" });
  assert(!/=abc|=p\b|=t\b/.test(lines[0]), lines[0]);
  assert(lines[0].includes("user=bob"));
});
