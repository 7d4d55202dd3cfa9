import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { bytesOf, deleteFile, onBothBackends, storeBytes } from "../../tests/fixtures/maint.ts";
import { FencedOutError, MaintenanceAbortedError } from "../errors.ts";
import { toHex } from "../hash/mod.ts";
import { chunkKey, manifestKey, packKey } from "../repo/layout.ts";
import { type ChunkRef, Namespace, type Repository } from "../repo/mod.ts";
import { listAll } from "../storage/mod.ts";
import { compactNamespace } from "./compact.ts";
import { collectGarbage } from "./gc.ts";

const DEV = "00000000000000a1";
/** Short, but above RGW's one-second LastModified resolution plus a loaded machine's delays. */
const GRACE = 3000;
const waitPastGrace = () => new Promise((r) => setTimeout(r, GRACE + 600));

async function allKeys(repo: Repository): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of ["data/", "packs/", "manifests/"]) {
    for await (const o of listAll(repo.store, prefix)) keys.push(o.key);
  }
  return keys.sort();
}

async function chunksOf(repo: Repository, ns: Namespace, path: string): Promise<ChunkRef[]> {
  const v = ns.get(path) ?? ns.heads(path)[0];
  return (await repo.manifestOf(v)).chunks;
}

async function readable(repo: Repository, refs: ChunkRef[]): Promise<boolean> {
  try {
    for (const r of refs) await repo.readChunk(r);
    return true;
  } catch {
    return false;
  }
}

const present = async (repo: Repository, key: string) => (await repo.store.head(key)) !== null;

onBothBackends("gc", {
  "sweeps deleted content past the trash, keeps what is referenced or in flight": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/keep.bin", bytesOf(1, 10_000));
    await storeBytes(repo, ns, DEV, "/gone.bin", bytesOf(2, 10_000));
    await storeBytes(repo, ns, DEV, "/trash.bin", bytesOf(3, 10_000));
    // 1,700 packed chunks: a manifest too large to inline, stored apart.
    await storeBytes(repo, ns, DEV, "/big.bin", bytesOf(4, 110_000), {
      chunkSize: 64,
      packed: true,
    });
    await storeBytes(repo, ns, DEV, "/small-gone.bin", bytesOf(5, 5000), { packed: true });
    const keep = await chunksOf(repo, ns, "/keep.bin");
    const gone = await chunksOf(repo, ns, "/gone.bin");
    const big = await chunksOf(repo, ns, "/big.bin");
    const bigManifest = manifestKey(ns.get("/big.bin")!.manifestId!);
    const smallPack = packKey((await chunksOf(repo, ns, "/small-gone.bin"))[0].pack!.id);
    assert(await present(repo, bigManifest), "the big manifest is stored apart");
    for (const p of ["/gone.bin", "/big.bin", "/small-gone.bin"]) {
      await deleteFile(repo, ns, DEV, p);
    }
    await compactNamespace(repo, { graceMs: GRACE });
    await waitPastGrace();
    // Deleted after the wait: still in the trash (its record is young).
    await deleteFile(repo, ns, DEV, "/trash.bin");
    const trash = await chunksOf(repo, ns, "/trash.bin");

    const before = await allKeys(repo);
    const dry = await collectGarbage(repo, { trashDays: 0, graceMs: GRACE, dryRun: true });
    assertEquals(await allKeys(repo), before, "a dry run deletes nothing");
    assert(dry.swept.data.deleted >= 3, JSON.stringify(dry.swept));
    assertEquals(dry.swept.manifests.deleted, 1);
    assert(dry.snapshot !== null, "marking started from the snapshot older than the grace");

    const inFlight = chunkKey(toHex(crypto.getRandomValues(new Uint8Array(32))));
    const report = await collectGarbage(repo, {
      trashDays: 0,
      graceMs: GRACE,
      onProgress: async (p) => {
        if (p.phase === "sweep") await repo.store.put(inFlight, new Uint8Array(100));
      },
    });
    assertEquals(report.swept.data.deleted, dry.swept.data.deleted);
    assertEquals(report.swept.packs.deleted, dry.swept.packs.deleted);
    assert(report.swept.data.keptYoung >= 1);
    assert(await present(repo, inFlight), "an object uploaded during the run stays");
    assert(await readable(repo, keep), "live content stays");
    assert(await readable(repo, trash), "content in the trash stays");
    for (const r of gone) assert(!(await present(repo, chunkKey(r.id))), `${r.id} swept`);
    assert(!(await present(repo, bigManifest)), "the stored manifest of a deleted file is swept");
    assert(!(await present(repo, packKey(big[0].pack!.id))), "a wholly unreferenced pack is swept");
    assert(!(await present(repo, smallPack)));

    // A fresh device still reads everything that is live.
    const fresh = await repo.refresh();
    assertEquals([...fresh.walk("/")].map((e) => e.path), ["/keep.bin"]);
    const again = await collectGarbage(repo, { trashDays: 0, graceMs: GRACE });
    assertEquals(again.swept.data.deleted, 0, "a second run finds nothing more");
  },

  "keeps a version superseded within the grace period, sweeps it later": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/f", bytesOf(7, 9000));
    const v1 = await chunksOf(repo, ns, "/f");
    await waitPastGrace();
    await storeBytes(repo, ns, DEV, "/f", bytesOf(8, 9000));
    await collectGarbage(repo, { trashDays: 0, graceMs: GRACE });
    assert(await readable(repo, v1), "a device that refreshed just before may still dedup on v1");
    const later = await collectGarbage(repo, {
      trashDays: 0,
      graceMs: GRACE,
      now: Date.now() + 2 * GRACE,
    });
    assertEquals(later.swept.data.deleted, v1.length);
    assert(await readable(repo, await chunksOf(repo, ns, "/f")));
  },

  "aborts without deleting when a manifest cannot be read": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/big.bin", bytesOf(4, 110_000), {
      chunkSize: 64,
      packed: true,
    });
    await storeBytes(repo, ns, DEV, "/gone.bin", bytesOf(2, 10_000));
    await deleteFile(repo, ns, DEV, "/gone.bin");
    await waitPastGrace();
    const key = manifestKey(ns.get("/big.bin")!.manifestId!);
    const body = await repo.store.get(key);
    body[body.length - 1] ^= 1;
    await repo.store.put(key, body);
    const before = await allKeys(repo);
    await assertRejects(
      () => collectGarbage(repo, { trashDays: 0, graceMs: GRACE }),
      MaintenanceAbortedError,
      "nothing was deleted",
    );
    assertEquals(await allKeys(repo), before);
  },

  "stops before deleting when the fence says the leader was deposed": async (repo) => {
    const ns = new Namespace();
    await storeBytes(repo, ns, DEV, "/gone.bin", bytesOf(2, 10_000));
    await deleteFile(repo, ns, DEV, "/gone.bin");
    await waitPastGrace();
    const before = await allKeys(repo);
    await assertRejects(
      () =>
        collectGarbage(repo, {
          trashDays: 0,
          graceMs: GRACE,
          fence: () => {
            throw new FencedOutError("fencing token 3 superseded by 4");
          },
        }),
      FencedOutError,
    );
    assertEquals(await allKeys(repo), before);
  },
});
