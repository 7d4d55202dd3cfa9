import { assert, assertEquals } from "../../tests/assert.ts";
import { InodeTable, ROOT_INO } from "./inodes.ts";

Deno.test("nodes keep their inode through renames; paths follow their parents", () => {
  const t = new InodeTable();
  const d = t.create("d", t.root, "dir", 0o755);
  t.root.children!.set("d", d);
  const f = t.create("f", d, "file", 0o644);
  d.children!.set("f", f);
  assertEquals(f.path(), "/d/f");
  d.name = "e";
  assertEquals(f.path(), "/e/f");
  assertEquals(t.get(f.ino)?.node, f);
  assertEquals(t.root.path(), "/");
  assertEquals(t.get(ROOT_INO)?.node, t.root);
});

Deno.test("an unlinked node lives while looked up or open, and goes after the last FORGET", () => {
  const t = new InodeTable();
  const f = t.create("f", t.root, "file", 0o644);
  t.root.children!.set("f", f);
  const stub = t.stubInoOf(f);
  assertEquals(t.stubInoOf(f), stub);
  t.lookedUp(f.ino);
  t.lookedUp(f.ino);
  t.lookedUp(stub);
  t.root.children!.delete("f");
  f.parent = null;
  assertEquals(f.path(), null);
  f.opens = 1;
  t.forget(f.ino, 2);
  t.forget(stub, 1);
  assert(t.get(f.ino), "still open");
  f.opens = 0;
  t.release(f);
  assertEquals(t.get(f.ino), undefined);
  assertEquals(t.get(stub), undefined);
});

Deno.test("attached nodes keep their numbers after FORGET (stable inodes per path)", () => {
  const t = new InodeTable();
  const f = t.create("f", t.root, "file", 0o644);
  t.root.children!.set("f", f);
  t.lookedUp(f.ino);
  t.forget(f.ino, 5);
  assertEquals(t.lookups(f.ino), 0);
  assertEquals(t.get(f.ino)?.node, f);
});
