/**
 * A small metrics registry (counters, gauges, histograms with labels) that
 * writes the Prometheus text exposition format, version 0.0.4. Label domains
 * and naming rules are checked as each metric is declared (see `metric.ts`).
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

import type { LabelValues, MetricInfo, MetricOptions, NoLabels } from "./metric.ts";
import {
  Counter,
  Gauge,
  type GaugeOptions,
  Histogram,
  type HistogramOptions,
} from "./metric_kinds.ts";

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
