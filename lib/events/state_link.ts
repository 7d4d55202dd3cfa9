/**
 * A device's link to the state events on NATS: it publishes this device's
 * events and hands the other devices' events to a callback. It never holds
 * anything up: it connects in the background (a daemon starts fine with NATS
 * down), keeps trying and reconnecting for ever, drops what it cannot send before the
 * first connection, and reports each (re)connection so the owner can catch
 * up on what it may have missed.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log/mod.ts";
import type { CommitRecord, Repository } from "../repo/mod.ts";
import {
  encodeHydrationEvent,
  type HydrationEvent,
  type HydrationEventSink,
  hydrationSubject,
} from "./hydration_events.ts";
import { decodePrefetchHint, type PrefetchHint } from "./prefetch_hints.ts";
import {
  eventsOfRecord,
  isStateEvent,
  parseStateSubject,
  STATE_SUBJECT_PREFIX,
  type StateEvent,
  type StateEventKind,
  stateSubject,
} from "./state_events.ts";

/** Options of {@link StateEventLink.start}. */
export interface StateLinkOptions {
  /** NATS server URL(s), comma separated. */
  url: string;
  /** This device's id. */
  device: string;
  /** The repository (its id scopes events, its metadata key seals them). */
  repo: Pick<Repository, "codec" | "config">;
  /** Logger. */
  log: Logger;
  /** Called with each event of another device of this repository. */
  onEvent: (event: StateEvent) => void;
  /** Called after each connection or reconnection (events may have been missed before it). */
  onConnect?: () => void;
  /** Called with each prefetch hint a worker addresses to this device (see prefetch_hints.ts). */
  onPrefetchHint?: (hint: PrefetchHint) => void;
}

/** How long a stopping link waits for its last messages to go out. */
const CLOSE_TIMEOUT_MS = 2_000;
/** How long one connection attempt may take. */
const CONNECT_TIMEOUT_MS = 2_000;
/** Pause between connection attempts. */
const RETRY_MS = 1_000;

/** This device's state-event link; also its {@link HydrationEventSink}. */
export class StateEventLink implements HydrationEventSink {
  readonly #opts: StateLinkOptions;
  #nc: NatsConnection | null = null;
  #closed = false;
  #up = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  readonly #connecting: Promise<void>;

  private constructor(opts: StateLinkOptions) {
    this.#opts = opts;
    this.#connecting = this.#connect();
  }

  /** Start linking in the background; returns at once. */
  static start(opts: StateLinkOptions): StateEventLink {
    return new StateEventLink(opts);
  }

  /** Whether the link is connected now. */
  get connected(): boolean {
    return this.#up;
  }

  async #connect(): Promise<void> {
    const { log } = this.#opts;
    let nc: NatsConnection | null = null;
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        nc = await connect({
          servers: this.#opts.url.split(",").map((s) => s.trim()),
          name: `tcfs-daemon-${this.#opts.device}`,
          timeout: CONNECT_TIMEOUT_MS,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          // Notice a dead server within seconds, so the poll fallback is not left to chance.
          pingInterval: 5_000,
          maxPingOut: 2,
        });
        break;
      } catch (err) {
        if (attempt === 1) {
          log.warn("state events off until NATS answers; changes arrive by polling", {
            url: this.#opts.url,
            error: (err as Error).message,
          });
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#retry = setTimeout(resolve, RETRY_MS);
        });
      }
    }
    if (!nc) return;
    if (this.#closed) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    nc.subscribe(`${STATE_SUBJECT_PREFIX}.*.*`, {
      callback: (err, msg) => {
        if (err) return log.warn("state event subscription failed", { error: err.message });
        void this.#receive(msg.subject, msg.data);
      },
    });
    this.#connected();
    void this.#watchStatus(nc);
  }

  #connected(): void {
    this.#up = true;
    this.#opts.log.info("state events connected", { url: this.#opts.url });
    void this.publish("online", []);
    this.#opts.onConnect?.();
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") {
        this.#up = false;
        this.#opts.log.warn(
          "state events disconnected; changes arrive by polling until NATS is back",
        );
      } else if (s.type === "reconnect") this.#connected();
    }
  }

  async #receive(subject: string, data: Uint8Array): Promise<void> {
    const { onPrefetchHint, device, repo } = this.#opts;
    if (onPrefetchHint) {
      const hint = await decodePrefetchHint(repo, device, subject, data);
      if (hint) return onPrefetchHint(hint);
    }
    const named = parseStateSubject(subject);
    if (!named || named.device === this.#opts.device) return;
    let event: unknown;
    try {
      event = await this.#opts.repo.codec.decodeMeta(subject, data);
    } catch {
      return; // another repository's event (sealed with another key), or garbage
    }
    if (
      !isStateEvent(event) || event.repo !== this.#opts.repo.config.id ||
      event.device !== named.device || event.kind !== named.kind
    ) return;
    this.#opts.onEvent(event);
  }

  /** Announce a commit record of this device (committed / deleted / renamed). */
  async publishRecord(record: CommitRecord): Promise<void> {
    for (const e of eventsOfRecord(this.#opts.repo.config.id, record)) await this.#send(e);
  }

  /** Announce an event of this device that is not a commit (online, offline, conflict_resolved). */
  async publish(kind: StateEventKind, paths: string[]): Promise<void> {
    await this.#send({
      v: 1,
      repo: this.#opts.repo.config.id,
      device: this.#opts.device,
      kind,
      seq: 0,
      paths,
      time_ms: Date.now(),
    });
  }

  /** Publish a hydration of this device (to the `HYDRATION_EVENTS` stream); see hydration_events.ts. */
  async publishHydration(event: HydrationEvent): Promise<void> {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return; // a hint lost, nothing else
    try {
      nc.publish(
        hydrationSubject(event.device),
        await encodeHydrationEvent(this.#opts.repo, event),
      );
    } catch (err) {
      this.#opts.log.debug("hydration event not sent", { error: (err as Error).message });
    }
  }

  async #send(event: StateEvent): Promise<void> {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return; // not connected yet: the receivers' poll covers it
    const subject = stateSubject(event.device, event.kind);
    try {
      nc.publish(subject, await this.#opts.repo.codec.encodeMeta(subject, event));
    } catch (err) {
      this.#opts.log.debug("state event not sent", { subject, error: (err as Error).message });
    }
  }

  /** Say this device goes offline, flush, and disconnect. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#wake?.();
    const nc = this.#nc;
    if (!nc) {
      // Still dialling: the attempt in flight ends within its timeout and sees #closed.
      await this.#connecting;
      return;
    }
    if (this.connected) {
      await this.publish("offline", []);
      await Promise.race([
        nc.flush().catch(() => {}),
        new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS)),
      ]);
    }
    await nc.close();
    await this.#connecting;
  }
}
