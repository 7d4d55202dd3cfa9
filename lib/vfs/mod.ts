/**
 * The tcfs file system that a FUSE mount serves: the repository namespace,
 * with the mount's own pending changes laid over it, read through the chunk
 * cache and written through a local journal.
 *
 * What users see:
 * - `names: "stubs"` (default): a file that is not local is listed as
 *   `name.tc` (stub-sized), a directory not yet listed as `name.tcf`.
 *   Opening `name.tc` or `name` serves the real bytes; a read fetches only
 *   the chunks covering it. Once every chunk is cached the entry is `name`
 *   (the kernel's dentries are invalidated); looking up `name` or `name.tcf`
 *   lists a directory stub as `name` from then on. `names: "real"` shows
 *   real names and sizes, same reads underneath.
 * - Writes (create, write, truncate, rename, unlink, mkdir, rmdir, symlink,
 *   chmod, utimens, fsync) go to a working copy and a journal under
 *   {@linkcode vfsJournalDir} before they are answered, so a crash or
 *   kill -9 loses no acknowledged write; they are committed to the repository
 *   `commit_delay_ms` after the last close/fsync (one record per burst).
 *   Hard links are refused (EPERM); owners are not kept (chown succeeds).
 * - What is local lives in the chunk cache, under its quota: a file is
 *   hydrated while every chunk of it is cached. When the cache evicts a
 *   chunk over the quota, the files needing it show as `name.tc` again at
 *   once (the kernel's entries are invalidated); pinned files are never
 *   evicted. A written file goes into the cache when it is committed (read
 *   back from its working copy, checked chunk by chunk), and the working
 *   copy is removed once the cache holds it all, so it is still `name`
 *   after a restart; a file larger than the quota shows as a stub then.
 * - Mounted with `passthrough` and given `wholeFiles`, a hydrated file
 *   opened read-only is read by the kernel from one whole local copy, no
 *   READ reaching us (passthrough.ts has the rules; writers wait with EBUSY
 *   while such readers are open).
 * - statfs reports the chunk cache's quota; missing names are answered with
 *   negative entries cached for `negative_ttl_ms`. A directory's link count
 *   is 2 + its subdirectories.
 * - Conflicts: where devices wrote one path concurrently and no device has
 *   settled it yet, the mount shows the preferred version only (the one
 *   `Namespace.get` gives: live, newest). The other versions are not lost:
 *   `tcfs conflicts` lists them, `tcfs resolve` settles them, and conflict
 *   copies a syncing device commits (`name (conflict <device> <time> #n).ext`)
 *   are ordinary files and show in the mount like any other. Showing
 *   unsettled versions as read-only copies in the mount was left out: such
 *   entries would exist in no record, and renames, `rm -r` and commits of
 *   their directories would each need rules of their own.
 *
 * How to run it (the daemon's `tcfs mount`):
 *
 * ```ts ignore
 * import { mountFileSystem } from "../fuse/session.ts";
 * import { ChunkCache, chunkCacheDir, WholeFiles } from "../cache/mod.ts";
 * import { TcfsFileSystem, vfsJournalDir, vfsSettings } from "./mod.ts";
 *
 * const session = await openSession(config);           // lib/app: repo, device, ns
 * const cache = await ChunkCache.open(session.repo, {
 *   dir: chunkCacheDir(config, session.repo.config.id),
 *   maxBytes: config.cache.max_bytes,
 * });
 * const fs = await TcfsFileSystem.open({
 *   repo: session.repo,
 *   device: session.device,
 *   ns: session.ns,
 *   refreshNamespace: () => session.refresh(),         // keeps the namespace cache warm
 *   cache,
 *   wholeFiles: await WholeFiles.open(cache),         // hydrated files for passthrough opens
 *   journalDir: vfsJournalDir(config, session.repo),
 *   ...vfsSettings(config),                            // mount.names, TTLs, commit delay
 *   log: log.child("mount"),
 * });
 * await fs.recover();            // commit what a crashed run left in the journal (before mounting)
 * // passthrough (root, Linux 6.9+): the kernel reads hydrated files from their whole files.
 * const server = await mountFileSystem(fs, dir, { fsName: "tcfs", subtype: "tcfs", passthrough: true });
 *
 * // On the poll loop or a NATS state event: other devices' changes appear.
 * await fs.refresh();
 * // `tcfs hydrate|unsync|pin|unpin <path>` with repository paths:
 * await fs.hydrate("/photos");  await fs.unsync("/photos/a.jpg");  await fs.pin("/docs", true);
 *
 * // `tcfs unmount`: unmount (EBUSY while files are open unless lazy), then
 * await server.unmount();
 * await fs.close();              // commits what is pending; the journal keeps anything that failed
 * await cache.close();
 * ```
 *
 * `fs.pendingChanges` and `fs.commitNow()` expose the commit queue (status,
 * tests). Pins are saved by path in the journal directory (they follow
 * renames and go with deletions made through the mount) and taken up again
 * by `recover()`: the paths count as pinned at once, their files are pinned
 * again in the background (`fs.pinsRestored` settles when done). A pin
 * holds a file's chunks in the cache, so eviction never turns it back into a
 * stub. `unsync` removes a file's chunks from the cache at once (space is
 * free, and the file is a stub after a restart too). Errors:
 * `hydrate`/`unsync`/`pin` throw `NotFoundError` for paths not in the
 * repository; `unsync` checks every file first and throws a `TcfsError` with
 * the reason when one cannot be unsynced (uncommitted changes, pinned, open).
 *
 * @module
 */

export { TcfsFileSystem } from "./filesystem.ts";
export { type PathOpResult, vfsJournalDir, type VfsOptions, vfsSettings } from "./control.ts";
export { type NamesMode } from "./naming.ts";
export { type Change, WriteJournal } from "./journal.ts";
