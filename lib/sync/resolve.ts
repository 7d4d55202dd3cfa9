/**
 * Settling a conflict: `--keep local`, `remote` or `both`, committed as new
 * versions, so all devices converge on their next sync. The conflict copies
 * are files of their own (see plan.ts): `local` and `remote` delete them with
 * tombstones, so their content stays restorable from the trash; `both` keeps
 * them as ordinary files, no longer marked as copies.
 *
 * @module
 */

import { ChunkSource, downloadFile, storeFile } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import { baseName, ChunkWriter, type NewVersion, parentOf, type PathVersion } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import { copyVersion, entryFrom } from "./versions.ts";
import { removeLocal, statLocal, tempBeside } from "./local_fs.ts";
import { localDiffers } from "./plan.ts";
import { remotePathOf, rootKey } from "./roots.ts";
import { FILE_STUB_SUFFIX } from "../format/mod.ts";
import type { LocalEntry } from "./scan.ts";
import type { StubContext } from "./stubs.ts";

/** Which side wins. */
export type Keep = "local" | "remote" | "both";

/** Resolve the conflict at `rel` of `ctx.root` for `device`. */
export async function resolveConflict(
  ctx: StubContext,
  device: string,
  rel: string,
  keep: Keep,
): Promise<{ path: string; kept: Keep; versions: number }> {
  const key = rootKey(ctx.root);
  const remote = remotePathOf(ctx.root, rel);
  const path = `${ctx.root.local}/${rel}`;
  const copies = ctx.ns.list(parentOf(remote))
    .flatMap((e) => e.version?.conflictOf === remote ? [e.version] : [])
    .sort((a, b) => b.time - a.time);
  if (copies.length === 0) throw new TcfsError(`${path} is not in conflict`);
  const dir = rel.slice(0, rel.lastIndexOf("/") + 1);
  const copyRels = copies.map((c) => dir + baseName(c.path));
  const before = await ctx.state.getEntry(key, rel);
  const loc = await statLocal(path);
  // Nothing not yet synced may be replaced or deleted: it would exist nowhere else.
  if (keep !== "both") { for (const r of copyRels) await assertSynced(ctx, key, r); }
  if (keep === "remote" && (before || loc)) await assertSynced(ctx, key, rel);

  // The new version of the main path first (none: it stays as it is, or deleted), then copies.
  const versions: NewVersion[] = [];
  let oid: string | undefined;
  let written: LocalEntry | null = loc;
  if (keep === "remote") versions.push(copyVersion(copies[0], remote));
  else if (keep === "local" && loc) {
    const stored = await storeLocal(ctx, path, loc);
    oid = stored.oid;
    versions.push(stored.version);
  } else if (keep === "local" && ctx.ns.get(remote)) {
    throw new TcfsError(`${path}: the local file is missing; run 'tcfs sync' or 'tcfs hydrate'`);
  } // else the main file was deleted, and keeping the local side keeps that deletion.
  const main = versions.length;
  versions.push(...copies.map((c) => keep === "both" ? copyVersion(c) : tombstoneOf(c)));
  const committed = (await ctx.repo.commit(device, ctx.ns, versions)).versions;

  const changes: [string, SyncedEntry | null][] = [];
  if (main === 1) {
    if (keep === "remote") {
      await fetchInto(ctx, committed[0], path);
      if (before?.hydration === "stub") await removeLocal(path + FILE_STUB_SUFFIX);
      oid = (await ctx.repo.manifestOf(committed[0])).oid;
      written = await statLocal(path);
    }
    const hydration = before?.hydration === "pinned" ? "pinned" : "hydrated";
    changes.push([rel, entryFrom(committed[0], written, hydration, oid)]);
  }
  for (const [i, r] of copyRels.entries()) {
    const entry = await ctx.state.getEntry(key, r);
    if (keep === "both") {
      // A copy not synced here yet arrives with the next sync.
      if (entry) changes.push([r, { ...entry, vv: committed[main + i].vv }]);
    } else {
      const local = `${ctx.root.local}/${r}`;
      await removeLocal(entry?.hydration === "stub" ? local + FILE_STUB_SUFFIX : local);
      changes.push([r, null]);
    }
  }
  await ctx.state.writeEntries(key, changes);
  await ctx.state.deleteConflict(key, rel);
  return { path, kept: keep, versions: copies.length + 1 };
}

/** Download `v` to `path` atomically. */
async function fetchInto(ctx: StubContext, v: PathVersion, path: string): Promise<void> {
  const tmp = tempBeside(path);
  try {
    await downloadFile(v, await ctx.repo.manifestOf(v), tmp, new ChunkSource(ctx.repo), {
      concurrency: ctx.concurrency,
      repo: ctx.repo,
    });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Throw unless `rel` is synced and unchanged since (a stub holds nothing local). */
async function assertSynced(ctx: StubContext, key: string, rel: string): Promise<void> {
  const path = `${ctx.root.local}/${rel}`;
  const entry = await ctx.state.getEntry(key, rel);
  if (entry?.hydration === "stub") return;
  const local = await statLocal(path);
  if (!entry || !local || localDiffers(entry, local)) {
    throw new TcfsError(`${path} changed since the last sync; run 'tcfs sync' first`);
  }
}

/** Upload the local file at `path` as the new version of its path. */
async function storeLocal(
  ctx: StubContext,
  path: string,
  loc: LocalEntry,
): Promise<{ version: NewVersion; oid: string }> {
  if (loc.kind !== "file") throw new TcfsError(`${path}: not a regular file`);
  const writer = new ChunkWriter(ctx.repo.store, ctx.repo.codec, {
    known: new Map(),
    concurrency: ctx.concurrency,
    packThreshold: ctx.repo.config.packThreshold,
    packTarget: ctx.repo.config.packTarget,
  });
  const stored = await storeFile(ctx.repo, writer, path, loc);
  await writer.flush();
  const remote = remotePathOf(ctx.root, path.slice(ctx.root.local.length + 1));
  return {
    version: {
      path: remote,
      deleted: false,
      kind: "file",
      mode: loc.mode,
      mtime: loc.mtime,
      size: stored.size,
      manifestId: stored.manifestId,
      manifest: stored.manifest,
    },
    oid: stored.oid,
  };
}

/** A tombstone of a conflict copy that keeps its content (the trash). */
function tombstoneOf(v: PathVersion): NewVersion {
  return { ...copyVersion(v), deleted: true };
}
