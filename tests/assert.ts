/**
 * Minimal assertions for tests (the Deno standard library lives on jsr.io,
 * which this project cannot reach). Deep equality is Node's strict one.
 *
 * @module
 */

import { inspect, isDeepStrictEqual } from "node:util";

/** Thrown by a failed assertion. */
export class AssertionError extends Error {
  /** Make an assertion error. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Fail unless `condition` is truthy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Fail unless `actual` and `expected` are deeply, strictly equal. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    const show = (v: unknown) => inspect(v, { depth: 6, maxArrayLength: 50, breakLength: 120 });
    throw new AssertionError(
      `${message ? message + ": " : ""}values differ\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/** Fail unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) {
    throw new AssertionError(message ?? `${JSON.stringify(text)} does not match ${pattern}`);
  }
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(err: unknown, cls?: ErrorClass<E>, includes?: string): E {
  if (cls && !(err instanceof cls)) {
    throw new AssertionError(`expected ${cls.name}, got ${inspect(err)}`);
  }
  if (includes !== undefined && !String((err as Error)?.message).includes(includes)) {
    throw new AssertionError(
      `expected the error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify((err as Error)?.message)
      }`,
    );
  }
  return err as E;
}

/** Fail unless `fn` throws (an instance of `cls`, whose message includes `includes`). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  cls?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError("expected the function to throw");
}

/** Fail unless `fn` rejects (with an instance of `cls`, whose message includes `includes`). */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  cls?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError("expected the promise to reject");
}
