import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesOf, deleteFile, onBothBackends, storeBytes } from "../../tests/fixtures/maint.ts";
import { chunkKey, packKey } from "../repo/layout.ts";
import { Namespace, type Repository } from "../repo/mod.ts";
import { scrubRepository } from "./scrub.ts";

const DEV = "00000000000000a1";

async function flipByte(repo: Repository, key: string, at: number): Promise<void> {
  const body = await repo.store.get(key);
  body[at] ^= 0x40;
  await repo.store.put(key, body);
}

onBothBackends("scrub", {
  "a flipped byte is reported with its object, chunk and files": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/docs/a.bin", bytesOf(1, 12_000));
    await storeBytes(repo, ns, DEV, "/docs/b.bin", bytesOf(2, 12_000));
    await storeBytes(repo, ns, DEV, "/packed.bin", bytesOf(3, 9000), { packed: true });
    const clean = await scrubRepository(repo);
    assertEquals(clean.damaged, []);
    assertEquals(clean.checked, clean.referenced);
    assertEquals(clean.bytes, 12_000 + 12_000 + 9000);

    const victim = (await repo.manifestOf(ns.get("/docs/b.bin")!)).chunks[1];
    await flipByte(repo, chunkKey(victim.id), 30);
    const packed = (await repo.manifestOf(ns.get("/packed.bin")!)).chunks[2];
    await flipByte(repo, packKey(packed.pack!.id), packed.pack!.offset + 25);
    let last = { checked: 0, total: -1 };
    const report = await scrubRepository(repo, {
      concurrency: 3,
      onProgress: (p) => {
        last = p;
      },
    });
    assertEquals(last.checked, last.total);
    const found = report.damaged.map((d) => [d.key, d.chunkId, d.paths]).sort();
    assertEquals(
      found,
      [
        [chunkKey(victim.id), victim.id, ["/docs/b.bin"]],
        [packKey(packed.pack!.id), packed.id, ["/packed.bin"]],
      ].sort(),
    );
    assert(report.damaged.every((d) => d.error.includes(d.chunkId!)), report.damaged[0].error);

    await repo.store.delete(chunkKey(victim.id));
    const missing = await scrubRepository(repo);
    assert(missing.damaged.some((d) => d.chunkId === victim.id && /missing/.test(d.error)));
    const sampled = await scrubRepository(repo, { sample: 0.5 });
    assert(sampled.checked <= sampled.referenced);
  },
  "deleted files past the trash retention are not verified": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/old.bin", bytesOf(4, 12_000));
    const chunk = (await repo.manifestOf(ns.get("/old.bin")!)).chunks[0];
    await deleteFile(repo, ns, DEV, "/old.bin");
    // What garbage collection does to a deleted file once the trash no longer keeps it.
    await repo.store.delete(chunkKey(chunk.id));
    const later = Date.now() + 60_000;
    assertEquals((await scrubRepository(repo, { trashDays: 0, now: later })).damaged, []);
    const kept = await scrubRepository(repo, { trashDays: 1, now: later });
    assertEquals(kept.damaged.map((d) => d.chunkId), [chunk.id], "still in the trash: damage");
  },
});
