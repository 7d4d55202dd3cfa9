/**
 * What every metric shares: its name, help text and labels, and the table of
 * its series, written in the Prometheus text exposition format 0.0.4.
 *
 * Every label declares its allowed values up front, either as a fixed list or
 * as a pattern for names taken from code (gRPC method names). A value outside
 * its domain throws, so free text (paths, keys, URLs, error messages, secrets)
 * can never become a label value, and the number of series stays bounded.
 *
 * Names are checked against the exposition grammar and against the naming
 * rules `promtool check metrics` lints for (snake_case, counters end in
 * `_total`, no `_count`/`_sum`/`_bucket` suffixes, no colons, which are meant
 * for recording rules).
 *
 * @module
 */

import {
  escapeHelp,
  escapeLabelValue,
  formatNumber,
  type MetricType,
  validateLabelName,
  validateMetricName,
} from "./exposition.ts";

/** Label values by label name. */
export type LabelValues = Record<string, string>;

/** The label set of a metric without labels. */
export type NoLabels = Record<never, never>;

/** Allowed values of one label: a fixed list, or a pattern every value must match. */
export type LabelDomain<V extends string = string> = readonly V[] | RegExp;

/** The domain of each label of a metric whose label set is `L`. */
export type LabelSpec<L extends LabelValues> = { readonly [K in keyof L]: LabelDomain<L[K]> };

/** The arguments before `rest`: a label set, unless the metric has no labels. */
export type LabelArgs<L extends LabelValues, Rest extends unknown[]> = [keyof L] extends [never]
  ? Rest
  : [labels: L, ...Rest];

/** Options shared by every metric. */
export interface MetricOptions<L extends LabelValues> {
  /** Metric name, e.g. `tcfs_storage_requests_total`. */
  name: string;
  /** One sentence for the `# HELP` line. */
  help: string;
  /** Label names and their allowed values; omit for a metric without labels. */
  labels?: LabelSpec<L>;
}

/** A metric's declaration, for documentation. */
export interface MetricInfo {
  /** Metric name. */
  name: string;
  /** Metric type. */
  type: MetricType;
  /** Help text. */
  help: string;
  /** Label names, in declaration order, with their domains. */
  labels: ReadonlyArray<{ name: string; domain: LabelDomain }>;
  /** Bucket upper bounds of a histogram, without `+Inf`. */
  buckets?: readonly number[];
}

interface Series<S> {
  values: readonly string[];
  state: S;
}

/**
 * What the three metric types share: name, labels and the series table.
 * Subclasses say how a series starts and how it is written.
 */
export abstract class Metric<L extends LabelValues, S> {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Metric type. */
  abstract readonly type: MetricType;
  readonly #labelNames: readonly string[];
  readonly #domains: readonly LabelDomain[];
  readonly #series = new Map<string, Series<S>>();

  /** Check the name, help text and label domains of a new metric of type `type`. */
  constructor(options: MetricOptions<L>, type: MetricType) {
    validateMetricName(options.name, type);
    if (options.help.trim() === "") throw new TypeError(`metric ${options.name} needs help text`);
    const spec = (options.labels ?? {}) as Record<string, LabelDomain>;
    this.#labelNames = Object.keys(spec);
    for (const label of this.#labelNames) {
      validateLabelName(label);
      const domain = spec[label];
      if (domain instanceof RegExp && (domain.global || domain.sticky)) {
        // Such patterns carry `lastIndex` from one test to the next.
        throw new TypeError(`the pattern of label ${label} must not use the g or y flag`);
      }
      if (type === "histogram" && label === "le") {
        throw new TypeError(`histogram ${options.name} cannot have a label "le": buckets use it`);
      }
    }
    this.#domains = this.#labelNames.map((l) => spec[l]);
    this.name = options.name;
    this.help = options.help;
  }

  /** The declaration, for documentation. */
  info(): MetricInfo {
    return {
      name: this.name,
      type: this.type,
      help: this.help,
      labels: this.#labelNames.map((name, i) => ({ name, domain: this.#domains[i] })),
    };
  }

  /** Create a zero series for every combination of listed values, if every domain is a list. */
  protected prefill(): void {
    if (this.#domains.some((d) => d instanceof RegExp)) return;
    let combos: string[][] = [[]];
    for (const domain of this.#domains as readonly (readonly string[])[]) {
      combos = combos.flatMap((c) => domain.map((v) => [...c, v]));
    }
    for (const values of combos) this.#lookup(values);
  }

  /** The state of the series named by `args[0]` (or the only series), created on first use. */
  protected series(args: readonly unknown[]): { state: S; rest: unknown[] } {
    if (this.#labelNames.length === 0) return { state: this.#lookup([]), rest: [...args] };
    const labels = args[0];
    if (typeof labels !== "object" || labels === null) {
      throw new TypeError(`metric ${this.name} needs its labels ${this.#labelNames.join(", ")}`);
    }
    const given = labels as Record<string, unknown>;
    const extra = Object.keys(given).find((k) => !this.#labelNames.includes(k));
    if (extra !== undefined) throw new TypeError(`metric ${this.name} has no label ${extra}`);
    const values = this.#labelNames.map((name, i) => {
      const value = given[name];
      if (typeof value !== "string") {
        throw new TypeError(`metric ${this.name} needs a string value for label ${name}`);
      }
      const domain = this.#domains[i];
      const allowed = domain instanceof RegExp ? domain.test(value) : domain.includes(value);
      if (!allowed) {
        // The value is not echoed: it may be exactly the kind of text labels must never hold.
        throw new RangeError(
          `a value of label ${name} of metric ${this.name} is outside its domain`,
        );
      }
      return value;
    });
    return { state: this.#lookup(values), rest: args.slice(1) };
  }

  /** Make the state of a new series. */
  protected abstract initial(): S;

  /** The sample lines of one series. */
  protected abstract samples(labels: string, state: S): string[];

  /** `# HELP`, `# TYPE` and every sample line. */
  lines(): string[] {
    const out = [
      `# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} ${this.type}`,
    ];
    for (const { values, state } of this.#series.values()) {
      const pairs = values.map((v, i) => `${this.#labelNames[i]}="${escapeLabelValue(v)}"`);
      out.push(...this.samples(pairs.join(","), state));
    }
    return out;
  }

  #lookup(values: readonly string[]): S {
    const key = JSON.stringify(values);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { values, state: this.initial() };
      this.#series.set(key, series);
    }
    return series.state;
  }
}

/** One sample line: `name{labels} value`. */
export function sample(name: string, labels: string, value: number): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${formatNumber(value)}`;
}
