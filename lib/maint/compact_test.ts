import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesOf, deleteFile, onBothBackends, storeBytes } from "../../tests/fixtures/maint.ts";
import { LOG_PREFIX, parseRecordKey, SNAPSHOTS_PREFIX } from "../repo/layout.ts";
import {
  listingAt,
  listSnapshotNames,
  Namespace,
  type NamespaceState,
  readSnapshotHead,
  Repository,
} from "../repo/mod.ts";
import { CountingStore, listAll } from "../storage/mod.ts";
import { compactNamespace } from "./compact.ts";

const A = "00000000000000a1";
const B = "00000000000000b2";

/** A namespace built by replaying every record, without snapshots. */
async function replayAll(repo: Repository): Promise<Namespace> {
  const ns = new Namespace();
  for await (const o of listAll(repo.store, LOG_PREFIX)) {
    if (parseRecordKey(o.key)) ns.apply(await repo.readRecord(o.key));
  }
  return ns;
}

/** A state in a canonical order, for comparison. */
function canonical(ns: Namespace): NamespaceState {
  const state = ns.exportState();
  const key = (v: { device: string; seq: number }) => `${v.device}/${v.seq}`;
  return {
    heads: state.heads.map((h) => [...h].sort((a, b) => key(a) < key(b) ? -1 : 1))
      .sort((a, b) => (a[0].path < b[0].path ? -1 : 1)),
    cursors: Object.fromEntries(Object.entries(state.cursors).sort()),
  };
}

/** Two devices: files in folders, an overwrite, a kept conflict, deletions, a symlink, a dir. */
async function history(repo: Repository, round: number): Promise<void> {
  const a = await repo.refresh(new Namespace());
  const b = await repo.refresh(new Namespace());
  for (let i = 0; i < 6; i++) {
    await storeBytes(repo, a, A, `/r${round}/d${i % 3}/f${i}`, bytesOf(round * 10 + i, 2000 + i));
  }
  await storeBytes(repo, a, A, `/r${round}/d0/f0`, bytesOf(99, 3000));
  await storeBytes(repo, b, B, `/r${round}/d0/f0`, bytesOf(98, 3000)); // concurrent: a conflict
  await deleteFile(repo, a, A, `/r${round}/d1/f1`);
  await repo.commit(B, b, [
    { path: `/r${round}/empty`, deleted: false, kind: "dir", mode: 0o700, mtime: 5, size: 0 },
    {
      path: `/r${round}/link`,
      deleted: false,
      kind: "symlink",
      mode: 0o777,
      mtime: 6,
      size: 2,
      target: "d0",
    },
  ]);
}

onBothBackends("compact", {
  "a fresh device sees the same namespace from a snapshot as from replaying every record": async (
    repo,
    identity,
  ) => {
    await history(repo, 0);
    const counting = new CountingStore(repo.store);
    const reader = await Repository.open(counting, { identities: [identity] });
    await reader.refresh();
    const getsWithout = counting.count("get");

    const report = await compactNamespace(repo);
    assert(report.written && report.snapshot !== null, JSON.stringify(report));
    counting.reset();
    const fromSnapshot = await reader.refresh();
    assertEquals(canonical(fromSnapshot), canonical(await replayAll(repo)));
    const getsWith = counting.count("get");
    assert(getsWith < getsWithout, `${getsWith} GETs with a snapshot, ${getsWithout} without`);

    // Records written after the snapshot are read on top of it.
    await history(repo, 1);
    counting.reset();
    const later = await reader.refresh();
    assertEquals(canonical(later), canonical(await replayAll(repo)));
    assertEquals(later.heads("/r0/d0/f0").length, 2, "the conflict survives the snapshot");

    // Listings walk to one directory and agree with the namespace.
    const again = await compactNamespace(repo, { keepSnapshots: 5 });
    assert(again.listingsReused > 0, "unchanged directories keep their listings");
    const [newest] = await listSnapshotNames(repo.store, 1);
    assertEquals(newest, again.snapshot);
    const head = (await readSnapshotHead(repo.store, repo.codec, newest))!;
    for (const dir of ["/", "/r0", "/r0/d0", "/r1"]) {
      const listed = await listingAt(repo.store, repo.codec, head.root, dir);
      assertEquals(
        listed!.map((e) => [e.name, e.kind, e.size]),
        later.list(dir).map((e) => [e.name, e.kind, e.version?.size ?? 0]),
        dir,
      );
    }
    assertEquals(await listingAt(repo.store, repo.codec, head.root, "/r0/link"), null);
  },

  "concurrent and repeated compactions write one snapshot; old ones are pruned": async (repo) => {
    await history(repo, 0);
    const [x, y] = await Promise.all([compactNamespace(repo), compactNamespace(repo)]);
    assertEquals(x.snapshot, y.snapshot);
    assertEquals([x.written, y.written].filter(Boolean).length <= 1, true);
    const keys = async () => {
      const out: string[] = [];
      for await (const o of listAll(repo.store, SNAPSHOTS_PREFIX)) out.push(o.key);
      return out;
    };
    const objects = await keys();
    const third = await compactNamespace(repo);
    assertEquals([third.written, await keys()], [false, objects]);
    for (let round = 1; round <= 2; round++) {
      await history(repo, round);
      await compactNamespace(repo, { keepSnapshots: 1, graceMs: 0, now: Date.now() + 2000 });
    }
    assertEquals((await listSnapshotNames(repo.store)).length, 1);
    const fresh = await repo.refresh();
    assertEquals(canonical(fresh), canonical(await replayAll(repo)));
  },
});
