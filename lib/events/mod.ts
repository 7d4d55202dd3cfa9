/**
 * State events: devices announce their commits (and coming online, going
 * offline, settling conflicts) on NATS `STATE.<device>.<kind>`, so the other
 * devices sync at once instead of at their next poll.
 *
 * @module
 */

export * from "./state_events.ts";
export * from "./state_link.ts";
