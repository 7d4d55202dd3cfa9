/**
 * The three metric types: counters, gauges and histograms.
 *
 * @module
 */

import { formatNumber, type MetricType } from "./exposition.ts";
import {
  type LabelArgs,
  type LabelValues,
  Metric,
  type MetricInfo,
  type MetricOptions,
  type NoLabels,
  sample,
} from "./metric.ts";

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

/** What a histogram series holds, with cumulative bucket counts. */
export interface HistogramSnapshot {
  /** One entry per bucket, the last with `le` Infinity; `count` is cumulative. */
  buckets: Array<{ le: number; count: number }>;
  /** Sum of the observed values. */
  sum: number;
  /** Number of observations. */
  count: number;
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
