import { assertEquals } from "../../tests/assert.ts";
import { StateStore, type SyncedEntry } from "../state/mod.ts";
import { rootKey, type SyncRoot } from "./roots.ts";
import { type LocalEntry, scanRoot } from "./scan.ts";
import { rootStatus } from "./status.ts";

/** The state entry that says `rel` was synced exactly as the scan sees it now. */
function syncedAs(loc: LocalEntry, extra: Partial<SyncedEntry> = {}): SyncedEntry {
  return {
    ...loc,
    vv: { aaaaaaaaaaaaaaaa: 1 },
    hydration: "hydrated",
    syncedAt: 1764028800000,
    ...extra,
  };
}

/**
 * A root with one path in every status, plus `bulk` synced files (enough of
 * them and the state is listed on a worker thread).
 */
async function statusOfRoot(bulk: number) {
  const dir = await Deno.makeTempDir({ prefix: "tcfs-status-test-" });
  const root: SyncRoot = { local: `${dir}/root`, remote: "/r" };
  const state = await StateStore.open(`${dir}/state.kv`);
  try {
    const w = (rel: string, text: string) => Deno.writeTextFile(`${root.local}/${rel}`, text);
    await Deno.mkdir(`${root.local}/bulk`, { recursive: true });
    await Deno.mkdir(`${root.local}/dir`);
    // A directory stub, with a real directory of that name beside it (made by hand): what
    // is inside is neither pending nor counted as ignored.
    await Deno.mkdir(`${root.local}/lazy/inner`, { recursive: true });
    await w("lazy.tcf", "stub");
    await w("lazy/inner/new.txt", "x");
    await w("lazy/skip.log", "x");
    await w(".tcfsignore", "*.log\n");
    await w("kept.txt", "kept");
    await w("edited.txt", "before");
    await w("dir/pinned.txt", "pin");
    await w("remote-only.tc", "stub");
    await w("new.txt", "new");
    await w("noise.log", "ignored");
    for (let i = 0; i < bulk; i++) await w(`bulk/f${i}`, String(i));
    const scan = await scanRoot(root.local, { ignore: [] });
    const at = (rel: string) => scan.entries.get(rel)!;
    const entries: [string, SyncedEntry][] = [
      [".tcfsignore", syncedAs(at(".tcfsignore"))],
      ["kept.txt", syncedAs(at("kept.txt"))],
      ["edited.txt", syncedAs(at("edited.txt"))],
      ["dir", syncedAs(at("dir"))],
      ["dir/pinned.txt", syncedAs(at("dir/pinned.txt"), { hydration: "pinned" })],
      ["remote-only", syncedAs(at("kept.txt"), { hydration: "stub" })],
      ["gone.txt", syncedAs(at("kept.txt"))],
      ["lazy", syncedAs(at("lazy"), { hydration: "stub" })],
      ["bulk", syncedAs(at("bulk"))],
      ...Array.from({ length: bulk }, (_, i): [string, SyncedEntry] => [
        `bulk/f${i}`,
        syncedAs(at(`bulk/f${i}`)),
      ]),
    ];
    await state.writeEntries(rootKey(root), entries);
    await w("edited.txt", "after, longer");
    return await rootStatus(state, root, { ignore: [] });
  } finally {
    state.close();
    await Deno.remove(dir, { recursive: true });
  }
}

for (const bulk of [3, 6000]) {
  Deno.test(`status reports every kind of path (${bulk} more synced files)`, async () => {
    const status = await statusOfRoot(bulk);
    assertEquals(status.totals, {
      synced: 4 + bulk, // .tcfsignore, kept.txt, dir, bulk and its files
      modified: 1,
      stub: 2,
      pinned: 1,
      conflict: 0,
      pending: 1,
      deleted: 1,
      ignored: 1,
    });
    assertEquals(status.paths, [
      { path: "dir/pinned.txt", status: "pinned", kind: "file" },
      { path: "edited.txt", status: "modified", kind: "file" },
      { path: "gone.txt", status: "deleted", kind: "file" },
      { path: "lazy", status: "stub", kind: "dir" },
      { path: "new.txt", status: "pending", kind: "file" },
      { path: "remote-only", status: "stub", kind: "file" },
    ]);
  });
}
