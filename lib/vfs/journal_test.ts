import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { TcfsError } from "../errors.ts";
import { type Change, WriteJournal } from "./journal.ts";

const change = (path: string, mode = 0o644): Change => ({
  path,
  kind: "file",
  deleted: false,
  mode,
  mtime: 1,
});

Deno.test("journal: changes survive a reopen in order; dropped segments are gone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { journal } = await WriteJournal.open(dir);
    const first = await journal.append([change("/a"), change("/b")]);
    await Promise.all([
      journal.append([change("/c")]),
      journal.append([change("/a", 0o600)], true),
    ]);
    const closed = await journal.rotate();
    assertEquals(closed, first);
    const second = await journal.append([change("/d")]);
    assertEquals(second, first + 1);
    await journal.close();
    const again = await WriteJournal.open(dir);
    assertEquals(again.changes.map((c) => [c.seq, c.change.path, c.change.mode]), [
      [first, "/a", 0o644],
      [first, "/b", 0o644],
      [first, "/c", 0o644],
      [first, "/a", 0o600],
      [second, "/d", 0o644],
    ]);
    await again.journal.drop(first);
    await again.journal.close();
    assertEquals((await WriteJournal.open(dir)).changes.map((c) => c.change.path), ["/d"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("journal: a torn last line is ignored; damage elsewhere is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { journal } = await WriteJournal.open(dir);
    const seq = await journal.append([change("/a"), change("/b")]);
    await journal.close();
    const path = `${dir}/journal/${String(seq).padStart(12, "0")}.log`;
    await Deno.writeTextFile(path, '{"path":"/c","ki', { append: true });
    assertEquals((await WriteJournal.open(dir)).changes.map((c) => c.change.path), ["/a", "/b"]);
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace('"/a"', '"/a'));
    await assertRejects(() => WriteJournal.open(dir), TcfsError, "damaged");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("journal: appends from requests finishing as a write batch ends are all written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { journal } = await WriteJournal.open(dir);
    // Many requests at once, each journaling after a disk operation of its own, as a busy
    // mount does: now and then one continues in the very turn a batch's write finishes
    // (the interleaving that once left an append unwritten, its request hanging forever).
    for (let round = 0; round < 10; round++) {
      const requests = Array.from({ length: 200 }, async (_, i) => {
        for (let k = 0; k < 50; k++) {
          await Deno.stat(dir);
          await journal.append([change(`/f${i}-${k}`)]);
        }
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<string>((r) => timer = setTimeout(() => r("stuck"), 5_000));
      const outcome = await Promise.race([Promise.all(requests).then(() => "ok"), stuck]);
      clearTimeout(timer);
      assertEquals(outcome, "ok", `round ${round}`);
    }
    await journal.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
