/**
 * State events: devices announce their commits (and coming online, going
 * offline, settling conflicts) on NATS `STATE.<device>.<kind>`, so the other
 * devices sync at once instead of at their next poll. Hydration events
 * (`hydration.<device>`: what a device made local, how long it took) and the
 * prefetch hints workers send back (`STATE.<device>.prefetch`) travel the
 * same way.
 *
 * @module
 */

export * from "./state_events.ts";
export * from "./state_link.ts";
export * from "./hydration_events.ts";
export * from "./prefetch_hints.ts";
