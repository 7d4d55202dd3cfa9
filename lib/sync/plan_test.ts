/**
 * The pure three-way decision, rule by rule, on hand-made versions: the
 * conflict and deletion rules that decide whether content survives.
 */

import { assertEquals } from "../../tests/assert.ts";
import type { PathVersion, VersionVector } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import { type Action, planSync, type RemoteState } from "./plan.ts";
import type { LocalEntry } from "./scan.ts";

const A = "00000000000000a1";
const B = "00000000000000b2";
const C = "00000000000000c3";
const hex = (c: string) => c.repeat(64);

function version(
  device: string,
  vv: VersionVector,
  content: string | null,
  time = 1000,
): PathVersion {
  return {
    path: "/r/f.txt",
    vv,
    deleted: content === null,
    kind: "file",
    mode: 0o644,
    mtime: 1,
    size: 3,
    ...(content ? { manifestId: hex(content) } : {}),
    device,
    seq: vv[device],
    time,
  };
}

function base(vv: VersionVector, content: string, ino = 7): SyncedEntry {
  return {
    kind: "file",
    size: 3,
    mtime: 1,
    mode: 0o644,
    ino,
    ctime: 1,
    manifestId: hex(content),
    vv,
    hydration: "hydrated",
    syncedAt: 0,
  };
}

const local = (ino = 7, mtime = 1): LocalEntry => ({
  kind: "file",
  size: 3,
  mtime,
  mode: 0o644,
  ino,
  ctime: mtime,
});

function remote(...heads: PathVersion[]): RemoteState {
  const live = heads.filter((h) => !h.deleted).sort((a, b) => b.time - a.time);
  return { heads, winner: live[0] };
}

function plan(
  entries: { rel?: string; base?: SyncedEntry; local?: LocalEntry; remote?: RemoteState }[],
): Action[] {
  const bases = new Map<string, SyncedEntry>();
  const locals = new Map<string, LocalEntry>();
  const remotes = new Map<string, RemoteState>();
  for (const e of entries) {
    const rel = e.rel ?? "f.txt";
    if (e.base) bases.set(rel, e.base);
    if (e.local) locals.set(rel, e.local);
    if (e.remote) remotes.set(rel, e.remote);
  }
  return planSync({
    bases,
    local: locals,
    remote: remotes,
    frozen: () => false,
    stubs: false,
  });
}

const summary = (actions: Action[]) =>
  actions.map((a) => {
    if (a.op === "upload" || a.op === "download") {
      return `${a.op} ${a.rel} copies:${a.copies.map((c) => c.device).join(",")}`;
    }
    return `${a.op} ${a.rel}`;
  });

Deno.test("plan: nothing changed anywhere is nothing to do", () => {
  const v = version(A, { [A]: 1 }, "x");
  assertEquals(plan([{ base: base(v.vv, "x"), local: local(), remote: remote(v) }]), []);
});

Deno.test("plan: a local edit over a remote edit keeps the remote one as a copy", () => {
  const b = base({ [A]: 1 }, "x");
  const theirs = version(B, { [A]: 1, [B]: 1 }, "y");
  assertEquals(
    summary(plan([{ base: b, local: local(7, 2), remote: remote(theirs) }])),
    ["upload f.txt copies:" + B],
  );
});

Deno.test("plan: concurrent remote versions with different content are split into copies", () => {
  const b = base({ [A]: 1 }, "x");
  const fromB = version(B, { [A]: 1, [B]: 1 }, "y", 2000);
  const fromC = version(C, { [A]: 1, [C]: 1 }, "z", 3000);
  const [action] = plan([{ base: b, local: local(), remote: remote(fromB, fromC) }]);
  assertEquals(summary([action]), ["download f.txt copies:" + B]);
  assertEquals(action.op === "download" && action.version.device, C);
});

Deno.test("plan: concurrent remote versions with the same content are no conflict", () => {
  const b = base({ [A]: 1 }, "x");
  const fromB = version(B, { [A]: 1, [B]: 1 }, "y");
  const fromC = version(C, { [A]: 1, [C]: 1 }, "y");
  assertEquals(summary(plan([{ base: b, local: local(), remote: remote(fromB, fromC) }])), [
    "download f.txt copies:",
  ]);
});

Deno.test("plan: a remote edit beats a local delete", () => {
  const b = base({ [A]: 1 }, "x");
  const edit = version(B, { [A]: 1, [B]: 1 }, "y");
  assertEquals(summary(plan([{ base: b, remote: remote(edit) }])), ["download f.txt copies:"]);
});

Deno.test("plan: a local delete of a version still live beside an edit deletes only it", () => {
  const ours = version(A, { [A]: 1 }, "x");
  const edit = version(B, { [B]: 1 }, "y"); // written without seeing ours
  const [action] = plan([{ base: base(ours.vv, "x"), remote: remote(ours, edit) }]);
  assertEquals(action.op, "tombstone");
  assertEquals(action.op === "tombstone" && action.supersedes, { [A]: 1 });
});

Deno.test("plan: a delete also supersedes remote versions holding the deleted content", () => {
  const ours = version(A, { [A]: 1 }, "x");
  const same = version(B, { [B]: 1 }, "x");
  const [action] = plan([{ base: base(ours.vv, "x"), remote: remote(ours, same) }]);
  assertEquals(action.op === "tombstone" && action.supersedes, { [A]: 1, [B]: 1 });
});

Deno.test("plan: a rename onto a name that exists remotely is a new, conflicting file", () => {
  const gone = version(A, { [A]: 1 }, "x");
  const there = version(B, { [B]: 1 }, "y");
  const actions = plan([
    { rel: "a.txt", base: base(gone.vv, "x", 9), remote: remote(gone) },
    { rel: "b.txt", local: local(9), remote: remote(there) },
  ]);
  assertEquals(summary(actions), ["tombstone a.txt", "upload b.txt copies:" + B]);
  const free = plan([
    { rel: "a.txt", base: base(gone.vv, "x", 9), remote: remote(gone) },
    { rel: "b.txt", local: local(9) },
  ]);
  assertEquals(summary(free), ["rename b.txt"]);
});
