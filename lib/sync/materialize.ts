/**
 * Bringing remote versions to the local disk during a sync round: files
 * (verified, via a temp name and a rename that refuses to replace a file
 * changed since the scan), stubs, directories, symlinks, and conflict
 * copies of concurrent versions (committed as files of their own).
 *
 * @module
 */

import { downloadFile } from "../engine/mod.ts";
import { FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { PathVersion } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import type { ApplyContext, ApplyResult, Pending } from "./apply.ts";
import { conflictCopyName } from "./conflict_name.ts";
import { assertUnchanged, removeLocal, statLocal, tempBeside } from "./local_fs.ts";
import { type Action, sameContent } from "./plan.ts";
import { remotePathOf } from "./roots.ts";
import type { LocalEntry } from "./scan.ts";
import { writeDirStub, writeFileStub } from "./stubs.ts";
import { copyVersion, entryFrom } from "./versions.ts";

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

/** Write the remote version of a path locally (or its stub); returns its state entry. */
export async function download(
  ctx: ApplyContext,
  action: Pick<Extract<Action, { op: "download" }>, "rel" | "version" | "stub" | "base">,
  path: string,
  result: ApplyResult,
): Promise<SyncedEntry> {
  const v = action.version;
  const base = action.base;
  // Everything this device has now seen of the path (identical concurrent versions included).
  const seen = ctx.ns.seen(v.path);
  // Already what we have (our own version won, or the news was elsewhere): record the vector.
  if (
    base && base.hydration !== "stub" && base.kind === v.kind && base.manifestId === v.manifestId &&
    base.mode === v.mode && base.target === v.target
  ) {
    return { ...base, vv: seen, syncedAt: Date.now() };
  }
  const expected = base ? await expectedOf(path, base) : null;
  if (action.stub && (v.kind === "file" || v.kind === "dir")) {
    const entry = v.kind === "file"
      ? await writeFileStub(ctx, action.rel, v)
      : await writeDirStub(ctx, action.rel, v);
    if (base && base.hydration !== "stub") await removeLocal(path);
    result.counts.stubs++;
    return { ...entry, vv: seen };
  }
  if (v.kind === "dir") {
    await Deno.mkdir(path, { recursive: true });
    await Deno.chmod(path, v.mode);
    return { ...entryFrom(v, await statLocal(path), "hydrated"), vv: seen };
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
  result.counts.downloaded++;
  const hydration = base?.hydration === "pinned" ? "pinned" : "hydrated";
  return { ...entryFrom(v, await statLocal(path), hydration, await oidOf(ctx, v)), vv: seen };
}

/**
 * Keep concurrent versions of `rel` beside it as conflict copies: each is
 * written locally under its deterministic copy name and queued for commit as
 * a file of its own, marked as a copy of `rel` (so `tcfs conflicts` lists it
 * on every device). A copy another device already committed is left to the
 * normal sync of that path.
 */
export async function keepCopies(
  ctx: ApplyContext,
  rel: string,
  versions: PathVersion[],
  pending: Pending[],
  result: ApplyResult,
): Promise<void> {
  for (const v of versions) {
    const copyRel = conflictCopyName(rel, v);
    const copyRemote = remotePathOf(ctx.root, copyRel);
    const present = ctx.ns.get(copyRemote);
    if (present && sameContent(present, v)) continue;
    const copy = { ...copyVersion(v, copyRemote), conflictOf: remotePathOf(ctx.root, rel) };
    const entry = await download(
      ctx,
      { rel: copyRel, version: { ...v, path: copyRemote }, stub: false },
      `${ctx.root.local}/${copyRel}`,
      result,
    );
    // Supersedes nothing: whatever else is at that name stays.
    pending.push({ version: copy, base: {}, then: (c) => ({ ...entry, vv: c.vv }) });
  }
}
