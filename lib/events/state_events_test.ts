import assert from "node:assert/strict";
import type { CommitRecord, PathVersion } from "../repo/mod.ts";
import {
  eventsOfRecord,
  isStateEvent,
  MAX_EVENT_PATHS,
  parseStateSubject,
  pathsOf,
  stateSubject,
} from "./state_events.ts";

function version(path: string, over: Partial<PathVersion> = {}): PathVersion {
  return {
    path,
    vv: { d1: 7 },
    deleted: false,
    kind: "file",
    mode: 0o644,
    mtime: 1,
    size: 3,
    manifestId: `m-${path}`,
    device: "d1",
    seq: 7,
    time: 1000,
    ...over,
  };
}

const record = (versions: PathVersion[]): CommitRecord => ({
  device: "d1",
  seq: 7,
  time: 1000,
  versions,
});

Deno.test("a record becomes committed, deleted and renamed events", () => {
  const events = eventsOfRecord(
    "repo1",
    record([
      version("/a.txt"),
      version("/old.txt", { deleted: true, manifestId: "same" }),
      version("/new.txt", { manifestId: "same" }),
      version("/gone.txt", { deleted: true }),
    ]),
  );
  assert.deepEqual(events.map((e) => [e.kind, e.paths, e.from]), [
    ["committed", ["/a.txt"], undefined],
    ["deleted", ["/gone.txt"], undefined],
    ["renamed", ["/new.txt"], ["/old.txt"]],
  ]);
  for (const e of events) {
    assert.ok(isStateEvent(e));
    assert.equal(e.repo, "repo1");
    assert.equal(e.seq, 7);
  }
  assert.deepEqual(pathsOf(events[2]), ["/new.txt", "/old.txt"]);
});

Deno.test("a huge record lists the first paths and says it is truncated", () => {
  const many = Array.from({ length: MAX_EVENT_PATHS + 3 }, (_, i) => version(`/f${i}`));
  const [event] = eventsOfRecord("r", record(many));
  assert.equal(event.paths.length, MAX_EVENT_PATHS);
  assert.equal(event.truncated, true);
});

Deno.test("subjects are STATE.<device>.<kind> and nothing else parses", () => {
  assert.equal(stateSubject("0123456789abcdef", "committed"), "STATE.0123456789abcdef.committed");
  assert.deepEqual(parseStateSubject("STATE.dev.offline"), { device: "dev", kind: "offline" });
  assert.equal(parseStateSubject("STATE.dev.exploded"), null);
  assert.equal(parseStateSubject("tasks.gc"), null);
  assert.equal(parseStateSubject("STATE.a.b.committed"), null);
  assert.equal(
    isStateEvent({ v: 1, repo: "r", device: "d", kind: "nope", seq: 0, paths: [] }),
    false,
  );
});
