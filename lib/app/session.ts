/**
 * A sync session: everything a sync-family command needs, opened together
 * and closed together (repository, state database, fresh namespace).
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import type { Namespace, Repository } from "../repo/mod.ts";
import type { StateStore } from "../state/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { refreshNamespace, type StubContext, type SyncRoot } from "../sync/mod.ts";
import { deviceId, openConfiguredRepository } from "./repository.ts";
import { namespaceCacheFor, openState } from "./sync.ts";

/** Open resources of a sync-family command. */
export interface Session {
  /** Effective config. */
  config: Config;
  /** Open repository. */
  repo: Repository;
  /** Local state. */
  state: StateStore;
  /** This device's id. */
  device: string;
  /** Namespace as of the last {@link Session.refresh} (done at open). */
  ns: Namespace;
  /** Read commit records written since the last refresh. */
  refresh(): Promise<Namespace>;
  /** A stub context for `root`. */
  stubContext(root: SyncRoot): StubContext;
}

/** Open a session; the caller must `close()` it. */
export async function openSession(
  config: Config,
  wrapStore?: (store: ObjectStore) => ObjectStore,
): Promise<Session & { close(): Promise<void> }> {
  const repo = await openConfiguredRepository(config, {}, wrapStore);
  let state: StateStore | undefined;
  try {
    state = await openState(config);
    const cache = namespaceCacheFor(config, repo);
    const session: Session & { close(): Promise<void> } = {
      config,
      repo,
      state,
      device: await deviceId(config),
      ns: await refreshNamespace(repo, cache),
      async refresh() {
        return session.ns = await refreshNamespace(repo, cache, session.ns);
      },
      stubContext: (root) => ({
        repo,
        ns: session.ns,
        state: state!,
        root,
        concurrency: config.transfer.concurrency,
      }),
      async close() {
        state!.close();
        await repo.store.close();
      },
    };
    return session;
  } catch (err) {
    state?.close();
    await repo.store.close();
    throw err;
  }
}

/** Run `fn` with a session, closing everything afterwards. */
export async function withSession<T>(config: Config, fn: (s: Session) => Promise<T>): Promise<T> {
  const session = await openSession(config);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
