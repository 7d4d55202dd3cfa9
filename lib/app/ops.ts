/**
 * The operations a user asks for, in one place, so that the CLI (directly)
 * and the daemon (over gRPC) run exactly the same code and produce the same
 * results. Each takes an open {@link Session} and returns a JSON-able value:
 * what `tcfs <command> --json` prints.
 *
 * @module
 */

import {
  type ProgressListener,
  pull,
  type PullSummary,
  push,
  type PushSummary,
} from "../engine/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  hydrate,
  type Keep,
  resolveConflict,
  type RootStatus,
  rootStatus,
  setPinned,
  type StubResult,
  type SyncRoot,
  syncRoot,
  type SyncSummary,
  unsync,
} from "../sync/mod.ts";
import type { ConflictEntry } from "../state/mod.ts";
import { journalPathFor } from "./repository.ts";
import type { Session } from "./session.ts";
import { configuredRoots, locate, namespaceCacheFor, rootsFor } from "./sync.ts";
import { findRoot } from "../sync/mod.ts";
import { UsageError } from "../errors.ts";

/** A sync round's result for one root. */
export type SyncResult = { root: string; remote: string } & SyncSummary;

/** Result of a stub operation on one path. */
export type PathResult = { path: string } & StubResult;

/** A conflict as listed to users. */
export interface ConflictView {
  /** Local root. */
  root: string;
  /** Path inside it. */
  path: string;
  /** Conflict copies inside the root. */
  copies: string[];
  /** When found (ISO 8601). */
  detectedAt: string;
}

/** Push local paths. */
export async function opPush(
  s: Session,
  req: { paths: string[]; to?: string },
  log: Logger,
  onProgress?: ProgressListener,
): Promise<PushSummary> {
  return await push(s.repo, {
    sources: req.paths,
    to: req.to,
    device: s.device,
    concurrency: s.config.transfer.concurrency,
    journalPath: journalPathFor(s.config, s.repo),
    onProgress,
    log,
    namespace: s.ns,
  });
}

/** Pull a remote path. */
export async function opPull(
  s: Session,
  req: { remote: string; local?: string },
  onProgress?: ProgressListener,
): Promise<PullSummary> {
  return await pull(s.repo, {
    remote: req.remote,
    local: req.local,
    concurrency: s.config.transfer.concurrency,
    onProgress,
    namespace: s.ns,
  });
}

/** Sync roots (all configured, or the one `dir` names). */
export async function opSync(
  s: Session,
  req: { dir?: string; remote?: string; force?: boolean; stubs?: boolean },
  log: Logger,
  onProgress?: ProgressListener,
): Promise<SyncResult[]> {
  const out: SyncResult[] = [];
  for (const root of rootsFor(s.config, req.dir, req.remote)) {
    const summary = await syncRoot(s.repo, {
      root,
      device: s.device,
      state: s.state,
      nsCache: namespaceCacheFor(s.config, s.repo),
      concurrency: s.config.transfer.concurrency,
      stubs: req.stubs === true || s.config.sync.stubs,
      ignore: s.config.sync.ignore,
      maxDeletePercent: s.config.sync.max_delete_percent,
      force: req.force === true,
      log,
      onProgress,
    });
    out.push({ root: root.local, remote: root.remote, ...summary });
  }
  await s.refresh();
  return out;
}

/** Status of the configured roots, or of the root holding `path`. */
export async function opStatus(
  s: Pick<Session, "config" | "state">,
  req: { path?: string; all?: boolean },
): Promise<RootStatus[]> {
  let targets: { root: SyncRoot; rel: string }[] = configuredRoots(s.config).map((root) => ({
    root,
    rel: "",
  }));
  if (req.path !== undefined) {
    const found = findRoot(configuredRoots(s.config), req.path);
    if (!found) throw new UsageError(`${req.path} is not inside a sync root (see sync.roots)`);
    targets = [found];
  }
  const out: RootStatus[] = [];
  for (const { root, rel } of targets) {
    out.push(
      await rootStatus(s.state, root, {
        ignore: s.config.sync.ignore,
        prefix: rel || undefined,
        all: req.all,
      }),
    );
  }
  return out;
}

/** The stub operations, by name. */
export type StubOp = "hydrate" | "unsync" | "pin" | "unpin";

/** Hydrate, unsync, pin or unpin local paths. */
export async function opStub(s: Session, op: StubOp, paths: string[]): Promise<PathResult[]> {
  const located = paths.map((p) => ({ path: p, ...locate(s.config, p) }));
  await s.refresh();
  const out: PathResult[] = [];
  for (const l of located) {
    const ctx = s.stubContext(l.root);
    const r = op === "hydrate"
      ? await hydrate(ctx, l.rel)
      : op === "unsync"
      ? await unsync(ctx, l.rel)
      : await setPinned(ctx, l.rel, op === "pin");
    out.push({ path: l.path, ...r });
  }
  return out;
}

/** Every open conflict. */
export async function opConflicts(s: Pick<Session, "state">): Promise<ConflictView[]> {
  return (await s.state.listConflicts()).map((c: ConflictEntry) => {
    const root = c.root.slice(0, c.root.indexOf("="));
    return {
      root,
      path: c.path,
      copies: c.copies.map((x) => x.path),
      detectedAt: new Date(c.detectedAt).toISOString(),
    };
  });
}

/** Settle a conflict. */
export async function opResolve(s: Session, req: { path: string; keep: Keep }) {
  const { root, rel } = locate(s.config, req.path);
  await s.refresh();
  return await resolveConflict(s.stubContext(root), s.device, rel, req.keep);
}
