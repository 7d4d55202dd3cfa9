/**
 * Stubs on a plain disk, the odrive model: a file that is not local is a
 * `name.tc` stub, a directory not yet listed is `name.tcf`. Hydrating writes
 * the verified content under a temp name, renames it to `name`, and only then
 * removes the stub, so an interruption leaves either the stub or the whole
 * file. Unsyncing is the reverse, refused while the file has changes that are
 * not in the repository.
 *
 * @module
 */

import { ChunkSource, downloadFile } from "../engine/mod.ts";
import { TcfsError } from "../errors.ts";
import { DIR_STUB_SUFFIX, FILE_STUB_SUFFIX, formatDirStub, formatFileStub } from "../format/mod.ts";
import type { Namespace, PathVersion, Repository } from "../repo/mod.ts";
import type { Hydration, StateStore, SyncedEntry } from "../state/mod.ts";
import { removeLocal, statLocal, tempBeside, writeTextAtomic } from "./local_fs.ts";
import { localDiffers } from "./plan.ts";
import { remotePathOf, rootKey, type SyncRoot } from "./roots.ts";

/** What stub operations need. */
export interface StubContext {
  /** Repository. */
  repo: Repository;
  /** Current namespace. */
  ns: Namespace;
  /** Local state. */
  state: StateStore;
  /** Root the paths are in. */
  root: SyncRoot;
  /** Chunk downloads in flight per file. */
  concurrency: number;
}

/** Counts of a stub operation. */
export interface StubResult {
  /** Files changed (hydrated, unsynced or pinned). */
  files: number;
  /** Bytes downloaded or freed. */
  bytes: number;
}

/** `rel` without a `.tc`/`.tcf` suffix. */
export function stripStubSuffix(rel: string): string {
  if (rel.endsWith(DIR_STUB_SUFFIX)) return rel.slice(0, -DIR_STUB_SUFFIX.length);
  if (rel.endsWith(FILE_STUB_SUFFIX)) return rel.slice(0, -FILE_STUB_SUFFIX.length);
  return rel;
}

async function entryOrThrow(ctx: StubContext, rel: string): Promise<[string, SyncedEntry]> {
  const key = rootKey(ctx.root);
  for (const candidate of [rel, stripStubSuffix(rel)]) {
    const e = await ctx.state.getEntry(key, candidate);
    if (e) return [candidate, e];
  }
  throw new TcfsError(`${ctx.root.local}/${rel} is not synced (run 'tcfs sync' first)`);
}

/** The synced version an entry stands for (by manifest), else the current one. */
function versionOf(ctx: StubContext, rel: string, e: SyncedEntry): PathVersion {
  const path = remotePathOf(ctx.root, rel);
  const heads = ctx.ns.heads(path);
  const v = heads.find((h) => !h.deleted && h.manifestId === e.manifestId) ?? ctx.ns.get(path);
  if (!v) throw new TcfsError(`${path} no longer exists in the repository (run 'tcfs sync')`);
  return v;
}

/** Write the stub of a file version and return its state entry. */
export async function writeFileStub(
  ctx: Pick<StubContext, "repo" | "root">,
  rel: string,
  v: PathVersion,
): Promise<SyncedEntry> {
  const m = await ctx.repo.manifestOf(v);
  await writeTextAtomic(
    `${ctx.root.local}/${rel}${FILE_STUB_SUFFIX}`,
    formatFileStub({
      chunks: m.chunks.length,
      compressed: 0,
      fetched: 0,
      oid: `blake3:${m.oid}`,
      origin: `${ctx.repo.store.url}${v.path}`,
      size: v.size,
      mode: v.mode,
      mtime: v.mtime,
      manifest: `blake3:${v.manifestId}`,
    }),
  );
  return stubEntry(v, m.oid);
}

function stubEntry(v: PathVersion, oid?: string): SyncedEntry {
  return {
    kind: v.kind,
    size: v.size,
    mtime: v.mtime,
    mode: v.mode,
    ino: 0,
    ctime: 0,
    ...(v.manifestId ? { manifestId: v.manifestId } : {}),
    ...(oid ? { oid } : {}),
    vv: v.vv,
    hydration: "stub",
    syncedAt: Date.now(),
  };
}

/** Write the stub of a directory version (its children listed) and return its state entry. */
export async function writeDirStub(
  ctx: Pick<StubContext, "repo" | "root" | "ns">,
  rel: string,
  v: PathVersion,
): Promise<SyncedEntry> {
  const entries = ctx.ns.list(v.path).map((e) => ({
    name: e.name,
    kind: e.kind,
    size: e.kind === "dir" ? 0 : e.version?.size ?? 0,
  }));
  await writeTextAtomic(
    `${ctx.root.local}/${rel}${DIR_STUB_SUFFIX}`,
    formatDirStub({ origin: `${ctx.repo.store.url}${v.path}`, entries, mode: v.mode }),
  );
  return stubEntry(v);
}

/** Hydrate a stub file, expand a directory stub, or hydrate every stub under a directory. */
export async function hydrate(ctx: StubContext, rel: string, pin = false): Promise<StubResult> {
  const [name, e] = await entryOrThrow(ctx, rel);
  const out: StubResult = { files: 0, bytes: 0 };
  if (e.kind === "file") {
    if (e.hydration === "stub") {
      out.bytes += await hydrateFile(ctx, name, e, pin ? "pinned" : "hydrated");
      out.files++;
    } else if (pin && e.hydration !== "pinned") {
      await ctx.state.writeEntries(rootKey(ctx.root), [[name, { ...e, hydration: "pinned" }]]);
      out.files++;
    }
    return out;
  }
  if (e.kind !== "dir") return out;
  if (e.hydration === "stub") await expandDir(ctx, name, e);
  const key = rootKey(ctx.root);
  // Expanding can reveal further directory stubs: go until none is left below.
  for (let again = true; again;) {
    again = false;
    const below: [string, SyncedEntry][] = [];
    for await (const item of ctx.state.listEntries(key, name === "" ? undefined : name)) {
      below.push(item);
    }
    for (const [childRel, child] of below) {
      if (child.kind === "dir" && child.hydration === "stub") {
        await expandDir(ctx, childRel, child);
        again = true;
      } else if (child.kind === "file" && (child.hydration === "stub" || pin)) {
        const r = await hydrate(ctx, childRel, pin);
        out.files += r.files;
        out.bytes += r.bytes;
      }
    }
  }
  return out;
}

async function hydrateFile(
  ctx: StubContext,
  rel: string,
  e: SyncedEntry,
  to: Hydration,
): Promise<number> {
  const v = versionOf(ctx, rel, e);
  const path = `${ctx.root.local}/${rel}`;
  if (await statLocal(path)) {
    throw new TcfsError(`${path} exists beside its stub; move it away, then hydrate again`);
  }
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
  await removeLocal(path + FILE_STUB_SUFFIX);
  const now = (await statLocal(path))!;
  await ctx.state.writeEntries(rootKey(ctx.root), [[rel, {
    ...e,
    vv: v.vv,
    manifestId: v.manifestId,
    size: now.size,
    mtime: now.mtime,
    mode: now.mode,
    ino: now.ino,
    ctime: now.ctime,
    hydration: to,
    syncedAt: Date.now(),
  }]]);
  return v.size;
}

/** Turn a directory stub into a directory whose children are stubs. */
async function expandDir(ctx: StubContext, rel: string, e: SyncedEntry): Promise<void> {
  const path = `${ctx.root.local}/${rel}`;
  const v = versionOf(ctx, rel, e);
  await Deno.mkdir(path, { recursive: true });
  const changes: [string, SyncedEntry][] = [];
  for (const child of ctx.ns.list(v.path)) {
    const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
    if (!child.version) {
      changes.push([childRel, await writeDirStub(ctx, childRel, { ...v, path: child.path })]);
    } else if (child.kind === "file") {
      changes.push([childRel, await writeFileStub(ctx, childRel, child.version)]);
    } else if (child.kind === "dir") {
      changes.push([childRel, await writeDirStub(ctx, childRel, child.version)]);
    } else {
      await Deno.symlink(child.version.target!, `${ctx.root.local}/${childRel}`).catch(() => {});
      const now = await statLocal(`${ctx.root.local}/${childRel}`);
      changes.push([childRel, {
        ...stubEntry(child.version),
        hydration: "hydrated",
        ino: now?.ino ?? 0,
        ctime: now?.ctime ?? 0,
        mtime: now?.mtime ?? 0,
        target: child.version.target,
      }]);
    }
  }
  await Deno.chmod(path, v.mode);
  const now = (await statLocal(path))!;
  changes.push([rel, {
    ...e,
    ino: now.ino,
    ctime: now.ctime,
    mtime: now.mtime,
    hydration: "hydrated",
  }]);
  await ctx.state.writeEntries(rootKey(ctx.root), changes);
  await removeLocal(path + DIR_STUB_SUFFIX);
}

/** Turn synced files back into stubs, refusing files with changes not in the repository. */
export async function unsync(ctx: StubContext, rel: string): Promise<StubResult> {
  const [name, e] = await entryOrThrow(ctx, rel);
  const key = rootKey(ctx.root);
  const targets: [string, SyncedEntry][] = e.kind === "dir" ? [] : [[name, e]];
  if (e.kind === "dir") {
    for await (const item of ctx.state.listEntries(key, name === "" ? undefined : name)) {
      if (item[1].kind === "file" && item[1].hydration !== "stub") targets.push(item);
    }
  }
  const out: StubResult = { files: 0, bytes: 0 };
  for (const [fileRel, entry] of targets) {
    if (entry.kind !== "file" || entry.hydration === "stub") continue;
    const path = `${ctx.root.local}/${fileRel}`;
    if (entry.hydration === "pinned") throw new TcfsError(`${path} is pinned: unpin it first`);
    const now = await statLocal(path);
    if (!now || localDiffers(entry, now)) {
      throw new TcfsError(
        `${path} has local changes that are not synced yet: run 'tcfs sync' first`,
      );
    }
  }
  for (const [fileRel, entry] of targets) {
    if (entry.kind !== "file" || entry.hydration === "stub") continue;
    const v = versionOf(ctx, fileRel, entry);
    const stub = await writeFileStub(ctx, fileRel, v);
    await removeLocal(`${ctx.root.local}/${fileRel}`);
    await ctx.state.writeEntries(key, [[fileRel, { ...stub, vv: entry.vv }]]);
    out.files++;
    out.bytes += entry.size;
  }
  return out;
}

/** Keep a path always hydrated (`pin`) or let it be unsynced again (`unpin`). */
export async function setPinned(
  ctx: StubContext,
  rel: string,
  pinned: boolean,
): Promise<StubResult> {
  if (pinned) return await hydrate(ctx, rel, true);
  const [name, e] = await entryOrThrow(ctx, rel);
  const key = rootKey(ctx.root);
  const changes: [string, SyncedEntry][] = [];
  if (e.hydration === "pinned") changes.push([name, { ...e, hydration: "hydrated" }]);
  if (e.kind === "dir") {
    for await (const [r, x] of ctx.state.listEntries(key, name === "" ? undefined : name)) {
      if (x.hydration === "pinned") changes.push([r, { ...x, hydration: "hydrated" }]);
    }
  }
  await ctx.state.writeEntries(key, changes);
  return { files: changes.length, bytes: 0 };
}
