/**
 * Wiring for sync commands: the local state database, the namespace cache
 * and the sync roots from configuration.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { UsageError } from "../errors.ts";
import type { Repository } from "../repo/mod.ts";
import { NamespaceCache, StateStore } from "../state/mod.ts";
import { findRoot, parseRoot, type SyncRoot } from "../sync/mod.ts";

/** Open this device's state database (`<state.dir>/state.kv`). */
export async function openState(config: Config): Promise<StateStore> {
  await Deno.mkdir(config.state.dir, { recursive: true, mode: 0o700 });
  return await StateStore.open(`${config.state.dir}/state.kv`);
}

/** The namespace cache of a repository on this device. */
export function namespaceCacheFor(config: Config, repo: Repository): NamespaceCache {
  return new NamespaceCache(`${config.state.dir}/${repo.config.id}/namespace.cache`);
}

/** The configured sync roots. */
export function configuredRoots(config: Config): SyncRoot[] {
  return config.sync.roots.map((spec) => parseRoot(spec));
}

/**
 * The roots a command acts on: the configured root holding `dir` (or `dir`
 * itself as a root, mapped to `remote` or `/<name>`), or every configured
 * root when no dir is given.
 */
export function rootsFor(config: Config, dir?: string, remote?: string): SyncRoot[] {
  const roots = configuredRoots(config);
  if (dir === undefined) {
    if (roots.length === 0) {
      throw new UsageError(
        "no sync roots configured: run 'tcfs sync <dir>' or list them in sync.roots",
      );
    }
    return roots;
  }
  if (remote === undefined) {
    const found = findRoot(roots, dir);
    if (found && found.rel === "") return [found.root];
  }
  return [parseRoot(remote === undefined ? dir : `${dir}=${remote}`)];
}

/** The root holding a local path, and the path inside it. */
export function locate(config: Config, path: string): { root: SyncRoot; rel: string } {
  const found = findRoot(configuredRoots(config), path);
  if (!found) {
    throw new UsageError(
      `${path} is not inside a sync root (sync.roots: ${config.sync.roots.join(", ") || "none"})`,
    );
  }
  return found;
}
