/**
 * The daemon's side of state events: when `nats.url` is set, every record
 * this daemon commits is announced on NATS, settled conflicts and coming
 * online or going offline too, and other devices' announcements trigger a
 * sync of the roots they touch. Without NATS (or while it is down) nothing
 * changes but speed: the periodic sync reads the commit records anyway.
 * The same link carries this device's hydration events out and the
 * prefetch hints workers send it in.
 *
 * @module
 */

import { configuredRoots, locate, type Session } from "../app/mod.ts";
import { type HydrationEventSink, type PrefetchHint, StateEventLink } from "../events/mod.ts";
import type { Logger } from "../log/mod.ts";
import { remotePathOf } from "../sync/mod.ts";
import type { DaemonCore } from "./core.ts";
import { RemoteChangeFollower } from "./remote_changes.ts";

/** A running state-event hook-up. */
export interface StateEventsHookup {
  /** Whether NATS is reachable now. */
  readonly connected: boolean;
  /** Where this device's hydration events go (a `HydrationReporter`'s sink). */
  readonly hydrationSink: HydrationEventSink;
  /** Stop following, announce going offline, disconnect. */
  close(): Promise<void>;
}

/**
 * Announce `session`'s commits and follow the other devices' (syncing the
 * affected roots through `core` when `follow`), handing prefetch hints
 * addressed to this device to `onPrefetchHint`. Returns null when no NATS
 * server is configured.
 */
export function hookUpStateEvents(
  core: DaemonCore,
  session: Session,
  log: Logger,
  follow: boolean,
  onPrefetchHint?: (hint: PrefetchHint) => void,
): StateEventsHookup | null {
  const { config } = session;
  if (config.nats.url === "") return null;
  const follower = new RemoteChangeFollower(core, follow ? configuredRoots(config) : [], log);
  const link = StateEventLink.start({
    url: config.nats.url,
    device: session.device,
    repo: session.repo,
    log,
    onEvent: (event) => follower.handle(event),
    // Events sent while we were away are gone: catch up from the commit records.
    onConnect: () => follower.syncSoon(),
    onPrefetchHint,
  });
  const offCommit = session.repo.onCommit((record) => void link.publishRecord(record));
  const offResolved = core.events.subscribe((e) => {
    if (e.kind !== "resolved") return;
    const { root, rel } = locate(config, e.path);
    void link.publish("conflict_resolved", [remotePathOf(root, rel)]);
  });
  return {
    get connected() {
      return link.connected;
    },
    hydrationSink: link,
    async close() {
      offCommit();
      offResolved();
      await follower.stop();
      await link.close();
    },
  };
}
