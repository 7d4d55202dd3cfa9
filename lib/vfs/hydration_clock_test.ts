import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import type { HydrationReport } from "../events/mod.ts";
import { HydrationClock } from "./hydration_clock.ts";
import { InodeTable } from "./inodes.ts";

function fileOf(t: InodeTable, name: string, size: number) {
  const f = t.create(name, t.root, "file", 0o644);
  t.root.children!.set(name, f);
  f.size = size;
  return f;
}

Deno.test("one report per hydration, with the size it had when it began", () => {
  const t = new InodeTable();
  const reports: HydrationReport[] = [];
  const clock = new HydrationClock((r) => reports.push(r));
  const f = fileOf(t, "a.bin", 10);
  clock.begin(f);
  clock.begin(f); // a second reader joins the running hydration
  f.size = 99;
  clock.end(f, "ok");
  clock.end(f, "ok"); // nothing runs any more
  assertEquals(reports.map((r) => [r.path, r.bytes, r.outcome]), [["/a.bin", 10, "ok"]]);
  assert(reports[0].ms >= 0);
});

Deno.test("forgotten and unlinked files are not reported; failures are", async () => {
  const t = new InodeTable();
  const reports: HydrationReport[] = [];
  const clock = new HydrationClock((r) => reports.push(r));
  const partial = fileOf(t, "partial.bin", 5);
  clock.begin(partial);
  clock.forget(partial); // the last reader left before it was whole
  clock.end(partial, "ok");
  const gone = fileOf(t, "gone.bin", 5);
  clock.begin(gone);
  gone.parent = null;
  clock.end(gone, "ok");
  const broken = fileOf(t, "broken.bin", 7);
  await assertRejects(() => clock.track(broken, () => Promise.reject(new Error("chunk lost"))));
  await clock.track(fileOf(t, "fine.bin", 3), () => Promise.resolve());
  assertEquals(reports.map((r) => [r.path, r.outcome]), [
    ["/broken.bin", "error"],
    ["/fine.bin", "ok"],
  ]);
});
