/**
 * Settling a conflict: `--keep local`, `remote` or `both`, committed as a new
 * version that supersedes every concurrent one, so all devices converge on
 * their next sync. Conflict copies are removed (or, with `both`, become files
 * of their own).
 *
 * @module
 */

import { ChunkSource, downloadFile, storeFile } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import { ChunkWriter, type NewVersion } from "../repo/mod.ts";
import type { SyncedEntry } from "../state/mod.ts";
import { conflictCopyName } from "./conflict_name.ts";
import { copyVersion, entryFrom } from "./versions.ts";
import { removeLocal, statLocal, tempBeside } from "./local_fs.ts";
import { remotePathOf, rootKey } from "./roots.ts";
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
  const heads = ctx.ns.heads(remote).filter((h) => !h.deleted);
  const record = (await ctx.state.listConflicts(key)).find((c) => c.path === rel);
  if (heads.length < 2 && !record) throw new TcfsError(`${path} is not in conflict`);
  const base = await ctx.state.getEntry(key, rel);
  const mine = heads.find((h) => h.manifestId === base?.manifestId) ?? ctx.ns.get(remote);
  const theirs = heads.filter((h) => h !== mine).sort((a, b) => b.time - a.time);
  const versions: NewVersion[] = [];
  const copies = record?.copies.map((c) => c.path) ?? theirs.map((t) => conflictCopyName(rel, t));

  if (keep === "remote") {
    if (theirs.length === 0) throw new TcfsError(`${path}: no other version to keep`);
    versions.push(copyVersion(theirs[0], remote));
  } else {
    const loc = await statLocal(path);
    if (!loc || loc.kind !== "file") throw new TcfsError(`${path}: the local file is missing`);
    const writer = new ChunkWriter(ctx.repo.store, ctx.repo.codec, {
      known: new Map(),
      concurrency: ctx.concurrency,
      packThreshold: ctx.repo.config.packThreshold,
      packTarget: ctx.repo.config.packTarget,
    });
    const stored = await storeFile(ctx.repo, writer, path, loc);
    await writer.flush();
    versions.push({
      path: remote,
      deleted: false,
      kind: "file",
      mode: loc.mode,
      mtime: loc.mtime,
      size: stored.size,
      manifestId: stored.manifestId,
      manifest: stored.manifest,
    });
    if (keep === "both") {
      for (const t of theirs) {
        versions.push(copyVersion(t, remotePathOf(ctx.root, conflictCopyName(rel, t))));
      }
    }
  }
  const committed = await ctx.repo.commit(device, ctx.ns, versions);
  const changes: [string, SyncedEntry][] = [];
  const winner = committed.versions[0];
  if (keep === "remote") {
    const tmp = tempBeside(path);
    await downloadFile(winner, await ctx.repo.manifestOf(winner), tmp, new ChunkSource(ctx.repo), {
      concurrency: ctx.concurrency,
      repo: ctx.repo,
    });
    await Deno.rename(tmp, path);
  }
  changes.push([rel, entryFrom(winner, await statLocal(path), "hydrated")]);
  if (keep === "both") {
    for (const v of committed.versions.slice(1)) {
      const copyRel = v.path.slice(remotePathOf(ctx.root, "").length + 1);
      changes.push([
        copyRel,
        entryFrom(v, await statLocal(`${ctx.root.local}/${copyRel}`), "hydrated"),
      ]);
    }
  } else {
    for (const copy of copies) await removeLocal(`${ctx.root.local}/${copy}`);
  }
  await ctx.state.writeEntries(key, changes);
  await ctx.state.deleteConflict(key, rel);
  return { path, kept: keep, versions: heads.length };
}
