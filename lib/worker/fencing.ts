/**
 * Fencing on the worker's side: a task the coordinator scheduled carries the
 * leader's fencing token (`Tcfs-Fence-Token`), and the worker refuses to act
 * on it once a newer leader exists. The token is checked before the task
 * runs and again, through the maintenance runs' `fence` hook, before every
 * batch of deletions and every snapshot write. A refusal throws
 * FencedOutError, on which the worker loop drops the task (acknowledged,
 * logged, counted as `fenced`): the new leader schedules its own run.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import {
  Fence,
  FenceGuard,
  fenceTokenOf,
  NatsKvLease,
  openCoordinationBucket,
} from "../coord/mod.ts";
import { FencedOutError } from "../errors.ts";
import type { TaskContext } from "../queue/mod.ts";
import type { NatsConnection } from "@nats-io/transport-node";

/** Checks a fencing token; {@link FenceGuard} is one. */
export interface TokenCheck {
  /** Throw FencedOutError unless `token` is the newest one known. */
  check(token: number): Promise<void>;
}

/**
 * The check for tasks of the coordinators configured in `config`. With the
 * NATS lease it compares with both the lease and the fence (FenceGuard);
 * with the Kubernetes lease it compares with the fence alone, which the new
 * leader raises right after its takeover, so workers need no access to the
 * Kubernetes API.
 */
export async function coordinatorTokenCheck(
  config: Config,
  nc: NatsConnection,
): Promise<TokenCheck> {
  const kv = await openCoordinationBucket(nc);
  const name = config.coordinator.lease_name;
  const fence = new Fence<unknown>(kv, name, {});
  if (config.coordinator.lease === "nats") return new FenceGuard(new NatsKvLease(kv, name), fence);
  return fenceOnlyCheck(fence);
}

function fenceOnlyCheck(fence: Fence<unknown>): TokenCheck {
  return {
    async check(token) {
      const current = (await fence.read()).token;
      if (current > token) {
        throw new FencedOutError(
          `fencing token ${token} is stale (current ${current}): it comes from a deposed ` +
            "coordinator, so the work it asks for is refused",
        );
      }
    },
  };
}

/**
 * The fence of one task (the `fence` hook of lib/maint): null for a task no coordinator scheduled (no
 * token), else a hook that checks its token, heartbeats, and stops the run
 * when the worker is stopping (before a write, so nothing is left half-done).
 */
export function taskFence(check: TokenCheck, ctx: TaskContext): (() => Promise<void>) | null {
  const token = fenceTokenOf(ctx.headers);
  if (token === null) return null;
  return async () => {
    ctx.signal.throwIfAborted();
    await check.check(token);
    ctx.progress();
  };
}
