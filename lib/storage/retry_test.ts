import assert from "node:assert/strict";
import { StorageError } from "../errors.ts";
import {
  backoffDelay,
  errorCode,
  isRetryableError,
  RetriesExhaustedError,
  withRetry,
} from "./retry.ts";

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from server`), {
    name,
    $metadata: { httpStatusCode: status },
  });
}

function netError(code: string): Error {
  return Object.assign(new Error("socket trouble"), { code });
}

Deno.test("isRetryableError: throttling, 5xx and broken connections yes; 4xx no", () => {
  for (
    const err of [
      s3Error("SlowDown", 503),
      s3Error("InternalError", 500),
      s3Error("Unknown", 502),
      s3Error("TooManyRequests", 429),
      s3Error("RequestTimeout", 400),
      s3Error("ConditionalRequestConflict", 409),
      netError("ECONNRESET"),
      netError("EPIPE"),
      Object.assign(new Error("x"), { name: "TimeoutError" }),
      new Error("wrapped", { cause: netError("ETIMEDOUT") }),
    ]
  ) {
    assert.equal(isRetryableError(err), true, `${err.name} ${err.message}`);
  }
  for (
    const err of [
      s3Error("AccessDenied", 403),
      s3Error("NoSuchKey", 404),
      s3Error("PreconditionFailed", 412),
      s3Error("NotImplemented", 501),
      s3Error("InvalidArgument", 400),
      new TypeError("bug"),
      new DOMException("stop", "AbortError"),
      "a string",
    ]
  ) {
    assert.equal(isRetryableError(err), false, String(err));
  }
});

Deno.test("isRetryableError gives a refused connection only a few tries", () => {
  const refused = netError("ECONNREFUSED");
  assert.equal(isRetryableError(refused, 1), true);
  assert.equal(isRetryableError(refused, 2), true);
  assert.equal(isRetryableError(refused, 3), false);
});

Deno.test("errorCode prefers the S3 or socket code over the message", () => {
  assert.equal(errorCode(s3Error("SlowDown", 503)), "SlowDown");
  assert.equal(errorCode(netError("ECONNRESET")), "ECONNRESET");
  assert.equal(errorCode(new Error("outer", { cause: netError("EPIPE") })), "EPIPE");
  assert.equal(errorCode(new Error("plain")), "Error");
});

Deno.test("backoffDelay is full jitter under an exponential ceiling capped at maxMs", () => {
  assert.equal(backoffDelay(1, 100, 5000, () => 0.999999), 99);
  assert.equal(backoffDelay(3, 100, 5000, () => 0.5), 200);
  assert.equal(backoffDelay(20, 100, 5000, () => 0.5), 2500);
  assert.equal(backoffDelay(4, 100, 5000, () => 0), 0);
  for (let a = 1; a < 40; a++) {
    const d = backoffDelay(a, 100, 5000);
    assert.ok(d >= 0 && d < Math.min(5000, 100 * 2 ** (a - 1)) + 1);
  }
});

Deno.test("withRetry retries transient errors and returns the eventual result", async () => {
  const attempts: number[] = [];
  const retried: number[] = [];
  const result = await withRetry((attempt) => {
    attempts.push(attempt);
    return attempt < 3 ? Promise.reject(s3Error("SlowDown", 503)) : Promise.resolve("done");
  }, { baseMs: 1, onRetry: (_e, attempt) => retried.push(attempt) });
  assert.equal(result, "done");
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(retried, [1, 2]);
});

Deno.test("withRetry rethrows a non-retryable error at once, unchanged", async () => {
  let calls = 0;
  const denied = s3Error("AccessDenied", 403);
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(denied);
    }, { baseMs: 1 }),
    (err) => err === denied,
  );
  assert.equal(calls, 1);
});

Deno.test("withRetry gives up with a StorageError naming the operation, attempts and code", async () => {
  let calls = 0;
  const err = await withRetry(() => {
    calls++;
    return Promise.reject(netError("ECONNRESET"));
  }, { attempts: 4, baseMs: 1, what: "GET s3://b/k" }).catch((e) => e);
  assert.equal(calls, 4);
  assert.ok(err instanceof RetriesExhaustedError && err instanceof StorageError);
  assert.equal(err.attempts, 4);
  assert.equal(err.lastCode, "ECONNRESET");
  assert.match(err.message, /^GET s3:\/\/b\/k failed after 4 attempts \(last error: ECONNRESET\)/);
  assert.equal((err.cause as { code: string }).code, "ECONNRESET");
});

Deno.test("withRetry stops waiting when aborted and throws the abort reason", async () => {
  const controller = new AbortController();
  let calls = 0;
  const pending = withRetry(() => {
    calls++;
    queueMicrotask(() => controller.abort(new Error("user cancelled")));
    return Promise.reject(s3Error("SlowDown", 503));
  }, { baseMs: 60_000, maxMs: 60_000, attempts: 10, signal: controller.signal });
  await assert.rejects(pending, /user cancelled/);
  assert.equal(calls, 1);
  await assert.rejects(
    withRetry(() => Promise.resolve(1), { signal: controller.signal }),
    /user cancelled/,
  );
  await assert.rejects(withRetry(() => Promise.resolve(1), { attempts: 0 }), RangeError);
});
