import assert from "node:assert/strict";
import fc from "fast-check";
import { StorageError } from "../errors.ts";
import {
  compareKeys,
  listAll,
  type ListOptions,
  type ListPage,
  type ObjectStore,
  validateKey,
  validatePageSize,
  validatePrefix,
  validateRange,
} from "./store.ts";

Deno.test("validateKey accepts relative '/'-separated keys and rejects escapes", () => {
  for (
    const ok of ["a", "a/b/c", "chunks/ab/0123", "with space/é%25", ".hidden/x", "a..b", "..."]
  ) {
    validateKey(ok);
  }
  for (const bad of ["", "/a", "a/", "a//b", "a/../b", "../a", "a/..", ".", "a/./b", "a\0b"]) {
    assert.throws(() => validateKey(bad), StorageError, JSON.stringify(bad));
  }
});

Deno.test("validatePrefix allows any start of a valid key", () => {
  for (const ok of ["", "a", "a/", "a/b", "a/b/", "a/.", "a/.."]) validatePrefix(ok);
  for (const bad of ["/", "/a", "../", "a//", "a/../", "a\0"]) {
    assert.throws(() => validatePrefix(bad), StorageError, JSON.stringify(bad));
  }
});

Deno.test("validateRange and validatePageSize reject nonsense and cap pages at 1000", () => {
  validateRange({ offset: 0, length: 0 });
  for (
    const bad of [{ offset: -1, length: 1 }, { offset: 0, length: 1.5 }, { offset: NaN, length: 1 }]
  ) {
    assert.throws(() => validateRange(bad), StorageError);
  }
  assert.equal(validatePageSize(undefined), 1000);
  assert.equal(validatePageSize(5), 5);
  assert.equal(validatePageSize(5000), 1000);
  assert.throws(() => validatePageSize(0), StorageError);
});

Deno.test("compareKeys orders like UTF-8 bytes (S3 order), unlike UTF-16 '<'", () => {
  assert.ok("\u{1F600}" < "\uFFFD", "JS compares UTF-16 code units");
  assert.ok(compareKeys("\u{1F600}", "\uFFFD") > 0);
  assert.ok(compareKeys("a", "a/") < 0);
  assert.ok(compareKeys("a-", "a/") < 0);
  assert.equal(compareKeys("x", "x"), 0);
  const utf8 = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
      const want = Math.sign(Buffer.compare(utf8.encode(a), utf8.encode(b)));
      assert.equal(Math.sign(compareKeys(a, b)), want);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("listAll follows tokens across pages and passes the options on", async () => {
  const seen: (ListOptions | undefined)[] = [];
  const pages: ListPage[] = [
    { objects: [{ key: "a", size: 1 }], prefixes: ["p/"], nextToken: "t1" },
    { objects: [], prefixes: [], nextToken: "t2" },
    { objects: [{ key: "b", size: 2 }, { key: "c", size: 3 }], prefixes: [] },
  ];
  const store = {
    listPage(prefix: string, opts?: ListOptions) {
      assert.equal(prefix, "x/");
      seen.push(opts);
      return Promise.resolve(pages[seen.length - 1]);
    },
  } as unknown as ObjectStore;
  const keys: string[] = [];
  for await (const o of listAll(store, "x/", { pageSize: 2, delimiter: "/" })) keys.push(o.key);
  assert.deepEqual(keys, ["a", "b", "c"]);
  assert.deepEqual(seen.map((o) => o?.token), [undefined, "t1", "t2"]);
  assert.ok(seen.every((o) => o?.pageSize === 2 && o.delimiter === "/"));
});
