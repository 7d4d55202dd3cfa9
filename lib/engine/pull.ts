/**
 * Pull: download a remote file or tree. Every chunk is verified against its
 * id before it is written, which verifies the whole file (see download.ts
 * for why the whole-file id is not hashed again). A tree is
 * assembled in a hidden staging directory beside the destination and moved
 * into place only when everything verified, so a failed pull writes nothing
 * at the destination. Symlinks are created last, so no file is ever written
 * through one.
 *
 * @module
 */

import { NotFoundError, TcfsError } from "../errors.ts";
import {
  baseName,
  type Manifest,
  type Namespace,
  normalizeRemotePath,
  type PathVersion,
  type Repository,
} from "../repo/mod.ts";
import { mapLimit } from "../storage/mod.ts";
import { ChunkSource } from "./chunk_source.ts";
import { downloadFile } from "./download.ts";
import { type ProgressListener, ProgressTracker } from "./progress.ts";

/** Options of {@link pull}. */
export interface PullOptions {
  /** Remote file or directory. */
  remote: string;
  /** Local destination (default: the remote name in the current directory). */
  local?: string;
  /** Chunk downloads in flight at once. */
  concurrency: number;
  /** Progress listener. */
  onProgress?: ProgressListener;
  /**
   * The namespace as the caller already knows it (a session's): brought up
   * to date and used instead of reading every commit record again.
   */
  namespace?: Namespace;
}

/** What a pull did. */
export interface PullSummary {
  /** Files written. */
  files: number;
  /** Directories created. */
  dirs: number;
  /** Symlinks created. */
  symlinks: number;
  /** File bytes written. */
  bytes: number;
  /** Where the content landed. */
  destination: string;
}

/** Files written at once. */
const FILE_CONCURRENCY = 8;

interface Item {
  rel: string;
  version?: PathVersion;
  kind: PathVersion["kind"];
}

/** Pull `opts.remote` from `repo`; see the module documentation. */
export async function pull(repo: Repository, opts: PullOptions): Promise<PullSummary> {
  const remote = normalizeRemotePath(opts.remote);
  const ns = await repo.refresh(opts.namespace);
  const root = ns.get(remote);
  const isDir = root ? root.kind === "dir" : ns.isDir(remote);
  if (!root && !isDir) {
    throw new NotFoundError(`${remote}: no such file or directory in the repository`);
  }

  const items = isDir ? collect(ns, remote) : [{ rel: "", version: root, kind: root!.kind }];
  const destination = await destinationFor(opts.local, remote, isDir);
  const parent = destination.slice(0, destination.lastIndexOf("/")) || "/";
  const staging = await Deno.makeTempDir({ dir: parent, prefix: ".tcfs-pull-" });
  const progress = new ProgressTracker(opts.onProgress);
  const files = items.filter((i) => i.kind === "file");
  progress.update({
    phase: "download",
    filesTotal: files.length,
    bytesTotal: files.reduce((n, i) => n + i.version!.size, 0),
  }, true);
  const summary: PullSummary = { files: 0, dirs: 0, symlinks: 0, bytes: 0, destination };
  try {
    const stagedRoot = isDir ? `${staging}/root` : `${staging}/file`;
    if (isDir) await Deno.mkdir(stagedRoot);
    for (const item of items) {
      if (item.kind === "dir") {
        await Deno.mkdir(`${stagedRoot}/${item.rel}`, { recursive: true });
        summary.dirs++;
      }
    }
    // Small files share packs: read each shared pack once, in pack order.
    const manifests = new Map<Item, Manifest>();
    for (const item of files) manifests.set(item, await repo.manifestOf(item.version!));
    const source = new ChunkSource(repo);
    source.plan([...manifests.values()].flatMap((m) => m.chunks));
    const packOrder = (i: Item) => {
      const first = manifests.get(i)!.chunks[0];
      return first?.pack ? `${first.pack.id}:${String(first.pack.offset).padStart(12, "0")}` : "~";
    };
    files.sort((x, y) => (packOrder(x) < packOrder(y) ? -1 : packOrder(x) > packOrder(y) ? 1 : 0));
    await mapLimit(files, FILE_CONCURRENCY, async (item) => {
      const path = item.rel === "" ? stagedRoot : `${stagedRoot}/${item.rel}`;
      await downloadFile(item.version!, manifests.get(item)!, path, source, {
        concurrency: opts.concurrency,
        repo,
      }, progress);
      summary.files++;
      summary.bytes += item.version!.size;
      progress.fileDone();
    });
    for (const item of items) {
      if (item.kind !== "symlink") continue;
      await Deno.symlink(
        item.version!.target!,
        item.rel === "" ? stagedRoot : `${stagedRoot}/${item.rel}`,
      );
      summary.symlinks++;
    }
    // Directory times last: creating their contents changed them.
    const dirs = items.filter((i) => i.kind === "dir" && i.version);
    if (isDir && root) dirs.unshift({ rel: "", version: root, kind: "dir" });
    for (const item of dirs.reverse()) {
      const path = item.rel === "" ? stagedRoot : `${stagedRoot}/${item.rel}`;
      await Deno.chmod(path, item.version!.mode);
      await Deno.utime(path, new Date(), new Date(item.version!.mtime));
    }
    await moveInto(stagedRoot, destination);
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return summary;
}

/** Every live entry under `dir`, with paths relative to it. */
function collect(ns: Namespace, dir: string): Item[] {
  const prefix = dir === "/" ? 1 : dir.length + 1;
  return [...ns.walk(dir)].map((e) => ({
    rel: e.path.slice(prefix),
    version: e.version,
    kind: e.kind,
  }));
}

async function destinationFor(local: string | undefined, remote: string, isDir: boolean) {
  const name = baseName(remote) || "tcfs-root";
  const cwd = Deno.cwd();
  if (local === undefined) return `${cwd}/${name}`;
  const abs = local.startsWith("/") ? local : `${cwd}/${local}`;
  const clean = abs.replace(/\/+$/, "") || "/";
  const info = await Deno.stat(clean).catch(() => null);
  // A file pulled onto an existing directory goes inside it, as with cp.
  if (!isDir && info?.isDirectory) return `${clean}/${name}`;
  return clean;
}

/** Move the staged tree into place; into an existing directory, merge entry by entry. */
async function moveInto(staged: string, destination: string): Promise<void> {
  const target = await Deno.lstat(destination).catch(() => null);
  const source = await Deno.lstat(staged);
  if (!target || !target.isDirectory || !source.isDirectory) {
    if (target?.isDirectory && !source.isDirectory) {
      throw new TcfsError(`${destination} is a directory; cannot replace it with a file`);
    }
    await Deno.rename(staged, destination);
    return;
  }
  for await (const e of Deno.readDir(staged)) {
    await moveInto(`${staged}/${e.name}`, `${destination}/${e.name}`);
  }
  await Deno.chmod(destination, source.mode! & 0o7777);
  await Deno.utime(destination, new Date(), source.mtime ?? new Date());
}
