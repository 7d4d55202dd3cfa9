/**
 * Version vectors: per path, how many commits of each device a version has
 * seen. They order versions without clocks: one version supersedes another
 * only if it has seen everything the other has; otherwise the two are
 * concurrent, and both are kept.
 *
 * @module
 */

/** Device id to the sequence number of that device's latest commit seen. */
export type VersionVector = Record<string, number>;

/** How two version vectors relate. */
export type Order = "equal" | "before" | "after" | "concurrent";

/** Compare `a` with `b`: `before` means `b` has seen everything `a` has, and more. */
export function compareVectors(a: VersionVector, b: VersionVector): Order {
  let aAhead = false;
  let bAhead = false;
  for (const d of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[d] ?? 0;
    const y = b[d] ?? 0;
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
  }
  if (aAhead && bAhead) return "concurrent";
  if (aAhead) return "after";
  if (bAhead) return "before";
  return "equal";
}

/** The pointwise maximum: a vector that has seen everything each input has. */
export function mergeVectors(...vectors: VersionVector[]): VersionVector {
  const out: VersionVector = {};
  for (const v of vectors) {
    for (const [d, n] of Object.entries(v)) if ((out[d] ?? 0) < n) out[d] = n;
  }
  return out;
}

/** Check the shape of a vector read from the repository. */
export function isVersionVector(v: unknown): v is VersionVector {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(([d, n]) =>
    /^[0-9a-f]{16}$/.test(d) && Number.isSafeInteger(n) && n > 0
  );
}
