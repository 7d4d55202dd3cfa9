/**
 * Coordination for scale-out: leader election on a lease (NATS KV or the
 * Kubernetes Lease API), fencing tokens that shut out a deposed leader, and
 * the coordinator that schedules maintenance tasks while it leads.
 *
 * @module
 */

export * from "./lease.ts";
export * from "./elector.ts";
export * from "./nats_lease.ts";
export * from "./k8s_lease.ts";
export * from "./fence.ts";
export * from "./coordinator.ts";
export * from "./tasks.ts";
export * from "./run.ts";
