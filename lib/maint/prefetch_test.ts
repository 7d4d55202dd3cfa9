import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { bytesOf, onBothBackends, storeBytes } from "../../tests/fixtures/maint.ts";
import { NotFoundError } from "../errors.ts";
import { Namespace } from "../repo/mod.ts";
import { prefetchChunks } from "./prefetch.ts";

const DEV = "00000000000000a1";

onBothBackends("prefetch", {
  "hands the chunks of a directory's files to the sink, once": async (repo) => {
    const ns = new Namespace();
    const a = bytesOf(1, 10_000);
    const b = bytesOf(2, 6000);
    await storeBytes(repo, ns, DEV, "/photos/a.jpg", a);
    await storeBytes(repo, ns, DEV, "/photos/2026/b.jpg", b, { packed: true });
    await storeBytes(repo, ns, DEV, "/other.txt", bytesOf(3, 5000));
    const cache = new Map<string, Uint8Array>();
    const sink = {
      has: (id: string) => cache.has(id),
      put: (id: string, p: Uint8Array) => {
        cache.set(id, p);
      },
    };
    const report = await prefetchChunks(repo, ["/photos"], sink);
    assertEquals([report.files, report.bytes, report.skipped], [2, 16_000, 0]);
    for (const path of ["/photos/a.jpg", "/photos/2026/b.jpg"]) {
      const m = await repo.manifestOf(ns.get(path)!);
      const joined = new Uint8Array(m.size);
      for (const c of m.chunks) joined.set(cache.get(c.id)!, c.offset);
      assertEquals(joined, path.endsWith("a.jpg") ? a : b);
    }
    const again = await prefetchChunks(repo, ["/photos/a.jpg"], sink, { ns });
    assertEquals([again.chunks, again.skipped], [0, 3]);
    await assertRejects(() => prefetchChunks(repo, ["/nope"], sink, { ns }), NotFoundError);
  },
});
