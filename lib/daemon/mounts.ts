/**
 * The daemon's FUSE mounts: each one the tcfs file system (lib/vfs) of the
 * daemon's repository, served through the daemon's chunk cache. Mounts go
 * through `fusermount3` with `auto_unmount`, so a SIGKILL of the daemon
 * leaves no dead mount behind; one left by other means is detached and
 * replaced by the next `tcfs mount`.
 *
 * Writes are journaled per mountpoint under the repository's mount journal
 * directory; at start the daemon commits whatever a crashed run left there
 * before anything is mounted. Mounts are refreshed (other devices' changes
 * appear) every `sync.poll_seconds`, and at once after the daemon's own
 * pushes and syncs and after other devices' state events. Hydrations in the
 * mounts are reported (metrics, `HYDRATION_EVENTS`), and workers' prefetch
 * hints warm the chunk cache in the background once it is open.
 *
 * With `mount.passthrough` (default on) the mounts ask the kernel for FUSE
 * passthrough, and hydrated files opened read-only are read by the kernel
 * from whole local copies in the cache directory (lib/vfs/passthrough.ts);
 * without root or on kernels before 6.9 the mounts serve them as before.
 *
 * @module
 */

import { normalize } from "node:path";
import { cacheMetricsHook, ChunkCache, chunkCacheDir, WholeFiles } from "../cache/mod.ts";
import type { PathResult, Session, StubOp } from "../app/mod.ts";
import { NotFoundError, TcfsError, UsageError } from "../errors.ts";
import { type HydrationReporter, type PrefetchHint, prefetchWarmer } from "../events/mod.ts";
import { unmountPath } from "../fuse/mount.ts";
import type { FuseServer } from "../fuse/ops.ts";
import { MountBusyError } from "../fuse/errno.ts";
import { mountFileSystem } from "../fuse/session.ts";
import { toHex } from "../hash/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { TcfsMetrics } from "../metrics/mod.ts";
import { type NamesMode, TcfsFileSystem, vfsJournalDir, vfsSettings } from "../vfs/mod.ts";
import type { MountRouter } from "./core.ts";
import type { EventBus } from "./events.ts";
import {
  assertFuseUsable,
  countOpenFiles,
  MountInUseError,
  prepareMountpoint,
} from "./mount_point.ts";

/** How long a stopping daemon waits for a detached mount's session to end. */
const DETACH_WAIT_MS = 2000;
/** Daemon events after which the mounts read newer commit records at once. */
const REFRESH_AFTER = /^(pushed|synced|resolved|remote_.*)$/;

/** A mount as `tcfs mount` reports it. */
export interface MountInfo {
  /** Mountpoint (real path). */
  dir: string;
  /** How files that are not local are named. */
  names: NamesMode;
  /** Changes written in the mount and not committed yet. */
  pending_changes: number;
}

/** What `tcfs unmount` reports. */
export interface UnmountResult {
  /** Mountpoint. */
  dir: string;
  /** Detached lazily while files were open (`--force`). */
  forced: boolean;
}

interface LiveMount {
  dir: string;
  names: NamesMode;
  fs: TcfsFileSystem;
  server: FuseServer;
}

/** What the mount manager works with. */
export interface MountManagerOptions {
  /** The daemon's session (repository, device, namespace, config). */
  session: Session;
  /** The daemon's event bus (mount events out, refresh triggers in). */
  events: EventBus;
  /** Log. */
  log: Logger;
  /** Chunk cache metrics go here when given. */
  metrics?: TcfsMetrics;
  /** Reports the mounts' hydrations when given. */
  hydrations?: HydrationReporter;
}

/** Key of a mountpoint's journal directory: the same directory maps to the same journal. */
async function journalKey(dir: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(dir));
  return toHex(new Uint8Array(digest)).slice(0, 16);
}

/** The daemon's mounts. */
export class MountManager implements MountRouter {
  readonly #opts: MountManagerOptions;
  readonly #log: Logger;
  readonly #mounts = new Map<string, LiveMount>();
  readonly #detaching = new Set<Promise<void>>();
  #cache: Promise<ChunkCache> | undefined;
  /** Whole files for passthrough, made once per cache when `mount.passthrough` is on. */
  #wholeFiles: Promise<WholeFiles> | undefined;
  #warm: ((hint: PrefetchHint) => void) | undefined;
  readonly #stopWarming = new AbortController();
  #recovered: Promise<void> = Promise.resolve();
  #lock: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  #offEvents: (() => void) | undefined;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;

  /** Manage mounts of `opts.session`'s repository. */
  constructor(opts: MountManagerOptions) {
    this.#opts = opts;
    this.#log = opts.log.child("mount");
  }

  /**
   * Start: commit what crashed runs left in the mount journals (in the
   * background; mounts wait for it), then follow refresh triggers.
   */
  start(): void {
    this.#recovered = this.#recoverJournals().catch((err) =>
      this.#log.error("could not commit journaled mount writes; they stay and are retried", {
        error: (err as Error).message,
      })
    );
    this.#offEvents = this.#opts.events.subscribe((e) => {
      if (REFRESH_AFTER.test(e.kind)) this.refreshSoon();
    });
    const seconds = this.#opts.session.config.sync.poll_seconds;
    this.#timer = setInterval(() => this.refreshSoon(), seconds * 1000);
  }

  /** Wait until the start-up journal recovery is done. */
  recovered(): Promise<void> {
    return this.#recovered;
  }

  /** Mountpoints now. */
  dirs(): string[] {
    return [...this.#mounts.keys()];
  }

  /** The mounts with their state. */
  list(): MountInfo[] {
    return [...this.#mounts.values()].map((m) => ({
      dir: m.dir,
      names: m.names,
      pending_changes: m.fs.pendingChanges,
    }));
  }

  /** Mount the repository at `dir` (`names`: stubs or real; default from config). */
  mount(dir: string, names?: string): Promise<MountInfo> {
    return this.#serial(async () => {
      const mode = (names || this.#opts.session.config.mount.names) as NamesMode;
      if (mode !== "stubs" && mode !== "real") {
        throw new UsageError(`mount: names is stubs or real, not '${names}'`);
      }
      // Decode workers take 100-200 ms to start: started with the mount, they are ready for its
      // first reads (they stop again if none come).
      this.#opts.session.repo.codec.warmDecoder();
      await assertFuseUsable();
      await this.#recovered;
      const real = await prepareMountpoint(dir, this.#log);
      if (this.#mounts.has(real)) throw new TcfsError(`${real} is already mounted by this daemon`);
      const fs = await this.#openFs(real, mode);
      let server: FuseServer;
      try {
        await fs.recover().catch((err) =>
          this.#log.warn("journaled writes not committed yet; retrying later", {
            dir: real,
            error: (err as Error).message,
          })
        );
        server = await mountFileSystem(fs, real, {
          fsName: "tcfs",
          subtype: "tcfs",
          passthrough: this.#opts.session.config.mount.passthrough,
          onError: (error, c) =>
            this.#log.error("request failed", { dir: real, ...c, error: String(error) }),
        });
      } catch (err) {
        await fs.close().catch(() => {});
        throw err;
      }
      const live: LiveMount = { dir: real, names: mode, fs, server };
      this.#mounts.set(real, live);
      // Unmounted from outside (fusermount3 -u, umount): let go of it here too.
      server.closed.then(() => {
        if (this.#mounts.get(real) !== live) return;
        this.#mounts.delete(real);
        void this.#closeFs(live);
      });
      this.#opts.events.emit("mounted", real, `names ${mode}`);
      this.#log.info("mounted", { dir: real, names: mode });
      return { dir: real, names: mode, pending_changes: fs.pendingChanges };
    });
  }

  /**
   * Unmount `dir`. With files open it is refused with {@link MountInUseError}
   * unless `force`, which detaches it now and closes it once they are closed.
   */
  unmount(dir: string, force: boolean): Promise<UnmountResult> {
    return this.#serial(async () => {
      const live = this.#find(dir);
      if (!live) {
        throw new NotFoundError(`${dir} is not mounted by this daemon (tcfs mount lists them)`);
      }
      await live.fs.commitNow().catch((err) =>
        this.#log.warn("commit before unmount failed; the journal keeps the changes", {
          error: (err as Error).message,
        })
      );
      try {
        await unmountPath(live.dir);
      } catch (err) {
        if (!(err instanceof MountBusyError)) throw err;
        if (!force) throw new MountInUseError(live.dir, await countOpenFiles(live.dir));
        await unmountPath(live.dir, { lazy: true });
      }
      this.#mounts.delete(live.dir);
      const closing = live.server.closed.then(() => this.#closeFs(live));
      if (force) this.#track(closing);
      else await closing;
      this.#opts.events.emit("unmounted", live.dir, force ? "forced" : "");
      this.#log.info("unmounted", { dir: live.dir, forced: force });
      return { dir: live.dir, forced: force };
    });
  }

  /** Run a hydrate/unsync/pin/unpin on `path` when it lies inside a mount; else undefined. */
  async stub(op: StubOp, path: string): Promise<PathResult | undefined> {
    const clean = normalize(path);
    for (const live of this.#mounts.values()) {
      if (clean !== live.dir && !clean.startsWith(`${live.dir}/`)) continue;
      const rel = clean.slice(live.dir.length) || "/";
      const run = (p: string) =>
        op === "hydrate"
          ? live.fs.hydrate(p)
          : op === "unsync"
          ? live.fs.unsync(p)
          : live.fs.pin(p, op === "pin");
      try {
        return { path, ...(await run(rel)) };
      } catch (err) {
        // `name.tc` / `name.tcf` are the stub spellings of `name`.
        const real = rel.replace(/\.tcf?$/, "");
        if (!(err instanceof NotFoundError) || real === rel) throw err;
        return { path, ...(await run(real)) };
      }
    }
    return undefined;
  }

  /**
   * Warm the chunk cache from a worker's prefetch hint in the background
   * (lib/events/prefetch_hints.ts); ignored until the first mount opens the cache.
   */
  warm(hint: PrefetchHint): void {
    this.#warm?.(hint);
  }

  /** Bring every mount up to date with the repository soon (coalesced). */
  refreshSoon(): void {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return;
    }
    if (this.#mounts.size === 0) return;
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        for (const live of [...this.#mounts.values()]) {
          await live.fs.refresh().catch((err) =>
            this.#log.warn("refresh failed", { dir: live.dir, error: (err as Error).message })
          );
        }
      } while (this.#refreshAgain);
    })().finally(() => this.#refreshing = null);
  }

  /**
   * Daemon stop: commit what is pending in every mount, unmount them (lazily:
   * a stopping daemon does not wait for open files) and close the cache.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#offEvents?.();
    this.#stopWarming.abort();
    await this.#serial(async () => {
      await this.#recovered;
      await this.#refreshing;
      for (const live of [...this.#mounts.values()]) {
        this.#mounts.delete(live.dir);
        await live.fs.commitNow().catch((err) =>
          this.#log.warn("commit at stop failed; the journal keeps the changes", {
            dir: live.dir,
            error: (err as Error).message,
          })
        );
        await unmountPath(live.dir, { lazy: true }).catch((err) =>
          this.#log.warn("unmount at stop failed", { dir: live.dir, error: err.message })
        );
        this.#track(live.server.closed);
        await this.#closeFs(live);
      }
      const wait = new Promise((resolve) => setTimeout(resolve, DETACH_WAIT_MS));
      await Promise.race([Promise.all(this.#detaching), wait]);
      if (this.#wholeFiles) (await this.#wholeFiles.catch(() => undefined))?.close();
      this.#wholeFiles = undefined;
      if (this.#cache) await (await this.#cache).close();
      this.#cache = undefined;
    });
  }

  #find(dir: string): LiveMount | undefined {
    const clean = normalize(dir).replace(/(.)\/+$/, "$1");
    return this.#mounts.get(clean) ??
      [...this.#mounts.values()].find((m) => {
        try {
          return Deno.realPathSync(clean) === m.dir;
        } catch {
          return false;
        }
      });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  #track(p: Promise<unknown>): void {
    const settled = p.then(() => {}, () => {});
    this.#detaching.add(settled);
    settled.then(() => this.#detaching.delete(settled));
  }

  async #closeFs(live: LiveMount): Promise<void> {
    await live.fs.close().catch((err) =>
      this.#log.error("closing the mount's file system failed; the journal keeps the changes", {
        dir: live.dir,
        error: (err as Error).message,
      })
    );
  }

  #chunkCache(): Promise<ChunkCache> {
    const { session, metrics } = this.#opts;
    const { config, repo } = session;
    if (this.#cache) return this.#cache;
    this.#cache = ChunkCache.open(repo, {
      dir: chunkCacheDir(config, repo.config.id),
      maxBytes: config.cache.max_bytes,
      fetchConcurrency: config.transfer.concurrency,
      onEvent: metrics ? cacheMetricsHook(metrics) : undefined,
    });
    this.#cache.then((cache) => {
      this.#warm = prefetchWarmer(cache, {
        signal: this.#stopWarming.signal,
        onWarmed: (hint, r) =>
          this.#log.debug("prefetch hint warmed", { files: hint.paths.length, ...r }),
      });
    }, () => {});
    return this.#cache;
  }

  async #openFs(dir: string, names: NamesMode, journalDir?: string): Promise<TcfsFileSystem> {
    const { session, hydrations } = this.#opts;
    const journals = vfsJournalDir(session.config, session.repo);
    const cache = await this.#chunkCache();
    if (session.config.mount.passthrough) this.#wholeFiles ??= WholeFiles.open(cache);
    return await TcfsFileSystem.open({
      repo: session.repo,
      device: session.device,
      ns: await session.refresh(),
      refreshNamespace: () => session.refresh(),
      cache,
      wholeFiles: await this.#wholeFiles,
      journalDir: journalDir ?? `${journals}/${await journalKey(dir)}`,
      ...vfsSettings(session.config),
      names,
      log: this.#log.child(dir),
      onHydrated: hydrations && ((report) => hydrations.report(report)),
    });
  }

  /** Commit what every mount journal holds (writes acknowledged before a crash). */
  async #recoverJournals(): Promise<void> {
    const { session } = this.#opts;
    const journals = vfsJournalDir(session.config, session.repo);
    const dirs: string[] = [];
    try {
      for await (const e of Deno.readDir(journals)) {
        if (e.isDirectory && /^[0-9a-f]{16}$/.test(e.name)) dirs.push(`${journals}/${e.name}`);
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const journalDir of dirs) {
      const fs = await this.#openFs(journalDir, "stubs", journalDir);
      try {
        const committed = await fs.recover();
        if (committed > 0) {
          this.#log.info("committed writes journaled before the last stop", { committed });
          this.#opts.events.emit("recovered", "", `${committed} journaled changes committed`);
        }
      } finally {
        await fs.close();
      }
    }
  }
}
