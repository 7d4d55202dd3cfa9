/**
 * Bringing remote versions to the local disk during a sync round: files
 * (verified, via a temp name and a rename that refuses to replace a file
 * changed since the scan), stubs, directories, symlinks, and conflict
 * copies of concurrent versions.
 *
 * @module
 */

import { downloadFile } from "../engine/mod.ts";
import { FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { PathVersion } from "../repo/mod.ts";
import type { ConflictEntry, SyncedEntry } from "../state/mod.ts";
import type { ApplyContext, ApplyResult } from "./apply.ts";
import { conflictCopyName } from "./conflict_name.ts";
import { assertUnchanged, removeLocal, statLocal, tempBeside } from "./local_fs.ts";
import type { Action } from "./plan.ts";
import type { LocalEntry } from "./scan.ts";
import { writeDirStub, writeFileStub } from "./stubs.ts";
import { entryFrom } from "./versions.ts";

/** What a synced entry looks like on disk, for the unchanged check. */
export async function expectedOf(path: string, base: SyncedEntry): Promise<LocalEntry | null> {
  const now = await statLocal(path);
  if (!now) return null;
  const same = now.kind === base.kind && now.size === base.size && now.mtime === base.mtime &&
    now.ino === base.ino && now.ctime === base.ctime;
  return same ? now : { ...now, mtime: -1 };
}

async function oidOf(ctx: ApplyContext, v: PathVersion): Promise<string | undefined> {
  if (v.kind !== "file" || !v.manifest) return undefined;
  return (await ctx.repo.manifestOf(v)).oid;
}

/** Write the remote version of a path locally (or its stub). */
export async function download(
  ctx: ApplyContext,
  action: Extract<Action, { op: "download" }>,
  path: string,
  result: ApplyResult,
): Promise<void> {
  const v = action.version;
  const base = action.base;
  // Already what we have (our own version won a conflict): just record the new vector.
  if (
    base && base.hydration !== "stub" && base.kind === v.kind && base.manifestId === v.manifestId &&
    base.mode === v.mode && base.target === v.target
  ) {
    result.state.push([action.rel, { ...base, vv: v.vv, syncedAt: Date.now() }]);
    return;
  }
  const expected = base ? await expectedOf(path, base) : null;
  if (action.stub && (v.kind === "file" || v.kind === "dir")) {
    const entry = v.kind === "file"
      ? await writeFileStub(ctx, action.rel, v)
      : await writeDirStub(ctx, action.rel, v);
    if (base && base.hydration !== "stub") await removeLocal(path);
    result.state.push([action.rel, entry]);
    result.counts.stubs++;
    return;
  }
  if (v.kind === "dir") {
    await Deno.mkdir(path, { recursive: true });
    await Deno.chmod(path, v.mode);
    result.state.push([action.rel, entryFrom(v, await statLocal(path), "hydrated")]);
    return;
  }
  const tmp = tempBeside(path);
  try {
    if (v.kind === "symlink") await Deno.symlink(v.target!, tmp);
    else {
      ctx.progress.update({ current: v.path });
      await downloadFile(v, await ctx.repo.manifestOf(v), tmp, ctx.source, {
        concurrency: ctx.concurrency,
        repo: ctx.repo,
      }, ctx.progress);
    }
    if (base && base.hydration !== "stub") await assertUnchanged(path, expected);
    else if (!base) await assertUnchanged(path, null);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  if (base?.hydration === "stub") await removeLocal(path + FILE_STUB_SUFFIX);
  result.state.push([
    action.rel,
    entryFrom(
      v,
      await statLocal(path),
      base?.hydration === "pinned" ? "pinned" : "hydrated",
      await oidOf(ctx, v),
    ),
  ]);
  result.counts.downloaded++;
}

/** Materialise concurrent versions beside `rel` and record the conflict. */
export async function conflictCopies(
  ctx: ApplyContext,
  rel: string,
  others: PathVersion[],
  result: ApplyResult,
) {
  const copies: ConflictEntry["copies"] = [];
  for (const other of others) {
    if (other.kind !== "file") continue; // directories merge; symlink conflicts keep the winner
    const copyRel = conflictCopyName(rel, other);
    const copyPath = `${ctx.root.local}/${copyRel}`;
    const copy = {
      path: copyRel,
      device: other.device,
      manifestId: other.manifestId,
      time: other.time,
    };
    const existing = await statLocal(copyPath);
    if (existing?.kind === "file" && existing.size === other.size) {
      copies.push({ ...copy, size: existing.size, mtime: existing.mtime });
      continue;
    }
    const tmp = tempBeside(copyPath);
    try {
      await downloadFile(other, await ctx.repo.manifestOf(other), tmp, ctx.source, {
        concurrency: ctx.concurrency,
        repo: ctx.repo,
      }, ctx.progress);
      await Deno.rename(tmp, copyPath);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    const written = await statLocal(copyPath);
    copies.push({ ...copy, size: written?.size, mtime: written?.mtime });
  }
  if (copies.length > 0) {
    result.conflicts.push({ root: "", path: rel, copies, detectedAt: Date.now() });
    result.counts.conflicts++;
  }
}
