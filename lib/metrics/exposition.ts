/**
 * The Prometheus text exposition format 0.0.4, as far as a registry needs it:
 * name rules, escaping and number spelling.
 *
 * @module
 */

/** The metric types tcfs uses. */
export type MetricType = "counter" | "gauge" | "histogram";

/** The `Content-Type` of `Registry.expose`'s output. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME_GRAMMAR = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_GRAMMAR = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SNAKE_CASE = /^[a-z][a-z0-9_]*$/;
const RESERVED_SUFFIXES = ["_bucket", "_sum", "_count"];

/**
 * Check a metric name against the exposition grammar and the Prometheus
 * naming conventions for its type; throws a TypeError saying what is wrong.
 */
export function validateMetricName(name: string, type: MetricType): void {
  if (!NAME_GRAMMAR.test(name)) {
    throw new TypeError(`${JSON.stringify(name)} is not a valid Prometheus metric name`);
  }
  if (!SNAKE_CASE.test(name)) {
    throw new TypeError(
      `metric name ${name} must be lower snake_case without colons (colons are for recording rules)`,
    );
  }
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix !== undefined) {
    throw new TypeError(`metric name ${name} must not end in ${suffix}: exposition adds it`);
  }
  if (type === "counter" && !name.endsWith("_total")) {
    throw new TypeError(`counter name ${name} must end in _total`);
  }
  if (type !== "counter" && name.endsWith("_total")) {
    throw new TypeError(`${type} name ${name} must not end in _total (only counters do)`);
  }
}

/** Check a label name against the exposition grammar and the conventions; throws a TypeError. */
export function validateLabelName(name: string): void {
  if (!LABEL_GRAMMAR.test(name) || name.startsWith("__")) {
    throw new TypeError(
      `${
        JSON.stringify(name)
      } is not a valid Prometheus label name (names starting with __ are reserved)`,
    );
  }
  if (!SNAKE_CASE.test(name)) throw new TypeError(`label name ${name} must be lower snake_case`);
}

/** Escape a label value for the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** Escape `# HELP` text for the text format: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** Write a sample value or bucket bound as the text format spells it. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
