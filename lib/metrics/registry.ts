/**
 * A small metrics registry (counters, gauges, histograms with labels) that
 * writes the Prometheus text exposition format, version 0.0.4.
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
 * ```ts
 * import { Registry } from "./lib/metrics/registry.ts";
 * const registry = new Registry();
 * const requests = registry.counter<{ outcome: "ok" | "error" }>({
 *   name: "demo_requests_total",
 *   help: "Requests handled.",
 *   labels: { outcome: ["ok", "error"] },
 * });
 * requests.inc({ outcome: "ok" });
 * console.log(registry.expose());
 * ```
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

export type { MetricType } from "./exposition.ts";

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

/** Options of {@linkcode Registry.gauge}. */
export interface GaugeOptions<L extends LabelValues> extends MetricOptions<L> {
  /** Called on every scrape before the gauge is written, to set values read at that moment. */
  collect?: (gauge: Gauge<L>) => void;
}

/** Options of {@linkcode Registry.histogram}. */
export interface HistogramOptions<L extends LabelValues> extends MetricOptions<L> {
  /** Upper bounds of the buckets, strictly increasing; the `+Inf` bucket is implied. */
  buckets: readonly number[];
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

/** What a histogram series holds, with cumulative bucket counts. */
export interface HistogramSnapshot {
  /** One entry per bucket, the last with `le` Infinity; `count` is cumulative. */
  buckets: Array<{ le: number; count: number }>;
  /** Sum of the observed values. */
  sum: number;
  /** Number of observations. */
  count: number;
}

interface Series<S> {
  values: readonly string[];
  state: S;
}

/** What the three metric types share: name, labels and the series table. */
abstract class Metric<L extends LabelValues, S> {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Metric type. */
  abstract readonly type: MetricType;
  readonly #labelNames: readonly string[];
  readonly #domains: readonly LabelDomain[];
  readonly #series = new Map<string, Series<S>>();

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

function sample(name: string, labels: string, value: number): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${formatNumber(value)}`;
}

/** A metric with one number per series: what counters and gauges share. */
abstract class ValueMetric<L extends LabelValues> extends Metric<L, { value: number }> {
  /** The current value of one series. */
  value(...args: LabelArgs<L, []>): number {
    return this.series(args).state.value;
  }

  /** Add the value in `args` (default 1) times `sign` to the series `args` names. */
  protected add(args: readonly unknown[], sign: 1 | -1): { value: number } {
    const { state, rest } = this.series(args);
    state.value += sign * ((rest[0] as number | undefined) ?? 1);
    return state;
  }

  /** @internal */
  protected initial(): { value: number } {
    return { value: 0 };
  }

  /** @internal */
  protected samples(labels: string, state: { value: number }): string[] {
    return [sample(this.name, labels, state.value)];
  }
}

/** A value that only goes up (reset only by a process restart). */
export class Counter<L extends LabelValues = NoLabels> extends ValueMetric<L> {
  /** Always "counter". */
  readonly type: MetricType = "counter";

  /** Use {@linkcode Registry.counter}. */
  constructor(options: MetricOptions<L>) {
    super(options, "counter");
    this.prefill();
  }

  /** Add `value` (default 1, must be finite and not negative). */
  inc(...args: LabelArgs<L, [value?: number]>): void {
    const value = args.at(-1);
    if (typeof value === "number" && (!Number.isFinite(value) || value < 0)) {
      throw new RangeError(`counter ${this.name} can only grow by a finite amount >= 0`);
    }
    this.add(args, 1);
  }
}

/** A value that goes up and down, or is read at scrape time. */
export class Gauge<L extends LabelValues = NoLabels> extends ValueMetric<L> {
  /** Always "gauge". */
  readonly type: MetricType = "gauge";
  readonly #collect?: (gauge: Gauge<L>) => void;

  /** Use {@linkcode Registry.gauge}. */
  constructor(options: GaugeOptions<L>) {
    super(options, "gauge");
    this.#collect = options.collect;
  }

  /** Set one series to `value`. */
  set(...args: LabelArgs<L, [value: number]>): void {
    const { state, rest } = this.series(args);
    state.value = rest[0] as number;
  }

  /** Add `value` (default 1). */
  inc(...args: LabelArgs<L, [value?: number]>): void {
    this.add(args, 1);
  }

  /** Subtract `value` (default 1). */
  dec(...args: LabelArgs<L, [value?: number]>): void {
    this.add(args, -1);
  }

  /** Run the collect callback, then write as usual. */
  override lines(): string[] {
    this.#collect?.(this);
    return super.lines();
  }
}

interface HistogramState {
  /** Observations per bucket, not cumulative; the last slot is the `+Inf` bucket. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets by upper bound, with their sum and count. */
export class Histogram<L extends LabelValues = NoLabels> extends Metric<L, HistogramState> {
  /** Always "histogram". */
  readonly type: MetricType = "histogram";
  /** Bucket upper bounds, without `+Inf`. */
  readonly buckets: readonly number[];

  /** Use {@linkcode Registry.histogram}. */
  constructor(options: HistogramOptions<L>) {
    super(options, "histogram");
    const bounds = [...options.buckets];
    if (bounds.at(-1) === Infinity) bounds.pop();
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        throw new RangeError(
          `histogram ${options.name} needs finite, strictly increasing bucket bounds`,
        );
      }
    }
    this.buckets = bounds;
    this.prefill();
  }

  /** Count one observation (in seconds, bytes ...); NaN is refused. */
  observe(...args: LabelArgs<L, [value: number]>): void {
    const { state, rest } = this.series(args);
    const value = rest[0] as number;
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new RangeError(`histogram ${this.name} cannot observe ${String(value)}`);
    }
    // Bounds are inclusive: a value equal to a bound belongs to that bound's bucket.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    state.counts[i]++;
    state.sum += value;
    state.count++;
  }

  /** Cumulative bucket counts, sum and count of one series. */
  snapshot(...args: LabelArgs<L, []>): HistogramSnapshot {
    const { state } = this.series(args);
    let running = 0;
    const buckets = state.counts.map((n, i) => {
      running += n;
      return { le: i < this.buckets.length ? this.buckets[i] : Infinity, count: running };
    });
    return { buckets, sum: state.sum, count: state.count };
  }

  /** The declaration, buckets included. */
  override info(): MetricInfo {
    return { ...super.info(), buckets: this.buckets };
  }

  /** @internal */
  protected initial(): HistogramState {
    return { counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  /** @internal */
  protected samples(labels: string, state: HistogramState): string[] {
    const prefix = labels === "" ? "" : `${labels},`;
    const out: string[] = [];
    let running = 0;
    state.counts.forEach((n, i) => {
      running += n;
      const le = i < this.buckets.length ? this.buckets[i] : Infinity;
      out.push(sample(`${this.name}_bucket`, `${prefix}le="${formatNumber(le)}"`, running));
    });
    out.push(sample(`${this.name}_sum`, labels, state.sum));
    out.push(sample(`${this.name}_count`, labels, state.count));
    return out;
  }
}

/** Any metric of a registry. */
export type AnyMetric = Counter<LabelValues> | Gauge<LabelValues> | Histogram<LabelValues>;

/**
 * A set of uniquely named metrics written together. Metrics whose every label
 * is a fixed list start with a zero series for each combination, so rates and
 * alerts see them before the first event.
 */
export class Registry {
  readonly #metrics = new Map<string, AnyMetric>();

  /** Register a counter. */
  counter<L extends LabelValues = NoLabels>(options: MetricOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options));
  }

  /** Register a gauge. */
  gauge<L extends LabelValues = NoLabels>(options: GaugeOptions<L>): Gauge<L> {
    return this.#add(new Gauge<L>(options));
  }

  /** Register a histogram. */
  histogram<L extends LabelValues = NoLabels>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram<L>(options));
  }

  /** Declarations of every metric, in registration order. */
  describe(): MetricInfo[] {
    return [...this.#metrics.values()].map((m) => m.info());
  }

  /** Every metric in the text exposition format 0.0.4 (see {@linkcode CONTENT_TYPE}). */
  expose(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) lines.push(...metric.lines());
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  #add<M extends { name: string }>(metric: M): M {
    if (this.#metrics.has(metric.name)) {
      throw new TypeError(`metric ${metric.name} is already registered`);
    }
    this.#metrics.set(metric.name, metric as unknown as AnyMetric);
    return metric;
  }
}
