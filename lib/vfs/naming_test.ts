import { assertEquals } from "../../tests/assert.ts";
import { InodeTable, type Node } from "./inodes.ts";
import { listVisible, resolveName } from "./naming.ts";

/** A root with children; `stubs` names the nodes that are stubs. */
function dir(children: [string, Node["kind"]][], stubs: string[]) {
  const table = new InodeTable();
  for (const [name, kind] of children) {
    table.root.children!.set(name, table.create(name, table.root, kind, 0o644));
  }
  const isStub = (n: Node) => stubs.includes(n.name);
  return { root: table.root, isStub };
}

Deno.test("stub names: files get .tc, directories .tcf, local entries their real names", () => {
  const { root, isStub } = dir([["a", "file"], ["d", "dir"], ["l", "symlink"], ["z", "file"]], [
    "a",
    "d",
  ]);
  assertEquals(listVisible(root, "stubs", isStub).map((e) => [e.name, e.view]), [
    ["a.tc", "stub"],
    ["d.tcf", "stub"],
    ["l", "node"],
    ["z", "node"],
  ]);
  assertEquals(listVisible(root, "real", isStub).map((e) => e.name), ["a", "d", "l", "z"]);
});

Deno.test("either spelling resolves; a stub spelling of a local entry does not", () => {
  const { root, isStub } = dir([["a", "file"], ["d", "dir"], ["z", "file"]], ["a", "d"]);
  assertEquals(resolveName(root, "a.tc", "stubs", isStub)?.view, "stub");
  assertEquals(resolveName(root, "a", "stubs", isStub)?.view, "node");
  assertEquals(resolveName(root, "d.tcf", "stubs", isStub)?.node.name, "d");
  assertEquals(resolveName(root, "d.tc", "stubs", isStub), undefined); // wrong kind
  assertEquals(resolveName(root, "z.tc", "stubs", isStub), undefined); // z is local
  assertEquals(resolveName(root, "a.tc", "real", isStub), undefined);
  assertEquals(resolveName(root, ".tc", "stubs", isStub), undefined);
});

Deno.test("a real entry named like a stub hides the stub spelling", () => {
  const { root, isStub } = dir([["a", "file"], ["a.tc", "file"]], ["a"]);
  assertEquals(listVisible(root, "stubs", isStub).map((e) => e.name), ["a.tc"]);
  assertEquals(resolveName(root, "a.tc", "stubs", isStub)?.node.name, "a.tc");
  assertEquals(resolveName(root, "a", "stubs", isStub)?.node.name, "a");
});
