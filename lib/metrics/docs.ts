/**
 * The reference of every tcfs metric, as Markdown; `docs/METRICS.md` is
 * exactly this text. Regenerate it with `deno run -A lib/metrics/docs.ts`.
 *
 * @module
 */

import type { LabelDomain, MetricInfo } from "./metric.ts";
import { createTcfsMetrics } from "./tcfs_metrics.ts";

const ENDPOINTS: string[][] = [
  [
    "`GET /metrics`",
    "Every metric below, text exposition format 0.0.4 (`text/plain; version=0.0.4`).",
  ],
  ["`GET /healthz`", "200 `ok` while the process runs (liveness)."],
  [
    "`GET /readyz`",
    "200 `ok` when the process can work (the object store answers), else 503 with the reason.",
  ],
];

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function domain(d: LabelDomain): string {
  return d instanceof RegExp
    ? `values matching \`${d.source}\``
    : d.map((v) => `\`${v}\``).join(", ");
}

function row(m: MetricInfo): string[] {
  const labels = m.labels.length === 0
    ? "-"
    : m.labels.map((l) => `\`${l.name}\`: ${domain(l.domain)}`).join("<br>");
  const buckets = m.buckets === undefined ? "" : ` Buckets: ${m.buckets.join(", ")}, +Inf.`;
  return [`\`${m.name}\``, m.type, cell(labels), cell(m.help + buckets)];
}

/** A Markdown table with padded columns, as `deno fmt` leaves it. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The Markdown reference of every tcfs metric, generated from their declarations. */
export function renderMetricsDocs(): string {
  const metrics = createTcfsMetrics().registry.describe();
  return `<!-- Generated from lib/metrics/tcfs_metrics.ts by \`deno run -A lib/metrics/docs.ts\`; do not edit. -->

# Metrics

The tcfs daemon and workers serve Prometheus metrics over HTTP, on a loopback address unless
configured otherwise:

${table(["Path", "Answer"], ENDPOINTS)}

A scrape job for one process:

\`\`\`yaml
scrape_configs:
  - job_name: tcfs
    static_configs:
      - targets: ["127.0.0.1:9464"]
\`\`\`

## Label values

Every label value comes from a fixed list (shown below) or, for \`tcfs_grpc_request_seconds\`, from
the method names of the daemon's gRPC service. File paths, object keys, URLs, error messages,
credentials and other secrets are never label values; the registry refuses any value outside a
label's list or pattern. Counters and histograms whose labels are all fixed lists start at zero for
every combination, so \`rate()\` and alerts see them before the first event.

Durations are in seconds and sizes in bytes. Failed object-store requests count in
\`tcfs_storage_requests_total\` and \`tcfs_storage_request_seconds\` but move no bytes. A streaming gRPC
call is observed when it ends.

## Reference

${table(["Metric", "Type", "Labels", "Description"], metrics.map(row))}
`;
}

if (import.meta.main) {
  await Deno.writeTextFile(new URL("../../docs/METRICS.md", import.meta.url), renderMetricsDocs());
}
