/**
 * The Kubernetes manifests in deploy/: every YAML document parses, kinds and
 * API versions are ones the cluster knows, kustomizations name files that
 * exist, and what the manifests say about tcfs matches the code: the KEDA
 * trigger's stream and consumer are lib/queue's, the commands exist, the
 * ConfigMap is a valid tcfs config, the coordinator may use its Lease, and
 * the dashboard only queries metrics tcfs exports.
 */

import { parseAllDocuments } from "yaml";
import { assert, assertEquals } from "./assert.ts";
import { COMMANDS } from "../cmd/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { createTcfsMetrics } from "../lib/metrics/mod.ts";
import { TASKS_STREAM, WORKER_CONSUMER } from "../lib/queue/mod.ts";

const DEPLOY = new URL("../deploy/", import.meta.url).pathname;

/** The API version each kind used in deploy/ must have. */
const API_VERSIONS: Record<string, string> = {
  ConfigMap: "v1",
  Secret: "v1",
  Service: "v1",
  ServiceAccount: "v1",
  Namespace: "v1",
  Deployment: "apps/v1",
  Role: "rbac.authorization.k8s.io/v1",
  RoleBinding: "rbac.authorization.k8s.io/v1",
  ScaledObject: "keda.sh/v1alpha1",
  ServiceMonitor: "monitoring.coreos.com/v1",
  Kustomization: "kustomize.config.k8s.io/v1beta1",
};

// deno-lint-ignore no-explicit-any
type Doc = any;

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...await yamlFiles(`${path}/`));
    else if (/\.ya?ml$/.test(e.name)) out.push(path);
  }
  return out.sort();
}

/** Every document of every manifest, with the file it came from. */
async function manifests(): Promise<{ file: string; doc: Doc }[]> {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of await yamlFiles(DEPLOY)) {
    for (const d of parseAllDocuments(await Deno.readTextFile(file))) {
      assertEquals(d.errors.map((e) => e.message), [], file);
      const doc = d.toJS();
      if (doc !== null) out.push({ file: file.slice(DEPLOY.length), doc });
    }
  }
  return out;
}

function one(docs: { doc: Doc }[], kind: string, name: string): Doc {
  const found = docs.filter((d) => d.doc.kind === kind && d.doc.metadata?.name === name);
  assertEquals(found.length, 1, `${kind}/${name}`);
  return found[0].doc;
}

Deno.test("every manifest parses and names a kind with its API version", async () => {
  const docs = await manifests();
  assert(docs.length >= 12, `only ${docs.length} documents`);
  for (const { file, doc } of docs) {
    if (file.endsWith(".sops.yaml")) continue; // SOPS settings, not a manifest
    assert(doc.kind in API_VERSIONS, `${file}: unexpected kind ${doc.kind}`);
    assertEquals(doc.apiVersion, API_VERSIONS[doc.kind], `${file}: ${doc.kind}`);
    if (doc.kind !== "Kustomization") assert(doc.metadata?.name, `${file}: no metadata.name`);
  }
  for (const { file, doc } of docs.filter((d) => d.doc.kind === "Kustomization")) {
    const dir = DEPLOY + file.slice(0, file.lastIndexOf("/") + 1);
    const named = [
      ...(doc.resources ?? []),
      ...(doc.configMapGenerator ?? []).flatMap((g: Doc) => g.files),
    ];
    for (const r of named) assert(await Deno.stat(dir + r).catch(() => null), `${file}: ${r}`);
  }
});

Deno.test("the KEDA trigger watches the stream and consumer the workers use", async () => {
  const docs = await manifests();
  const scaled = one(docs, "ScaledObject", "tcfs-worker");
  assertEquals([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount], [1, 100]);
  const [trigger] = scaled.spec.triggers;
  assertEquals(trigger.type, "nats-jetstream");
  assertEquals(trigger.metadata.stream, TASKS_STREAM);
  assertEquals(trigger.metadata.consumer, WORKER_CONSUMER);
  assertEquals(
    scaled.spec.scaleTargetRef.name,
    one(docs, "Deployment", "tcfs-worker").metadata.name,
  );
});

Deno.test("the pods run real commands with a valid config, and the coordinator may hold its Lease", async () => {
  const docs = await manifests();
  const commands = new Set(COMMANDS.map((c) => c.name));
  const worker = one(docs, "Deployment", "tcfs-worker").spec.template.spec.containers[0];
  const coordinator = one(docs, "Deployment", "tcfs-coordinator").spec.template.spec;
  assert(commands.has(worker.args[0]), worker.args[0]);
  assertEquals(coordinator.containers[0].args, ["coordinator", "--lease", "kubernetes"]);
  assert(commands.has("coordinator"));

  const text = one(docs, "ConfigMap", "tcfs-config").data["config.yaml"];
  const dir = await Deno.makeTempDir({ prefix: "tcfs-deploy-" });
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, text);
    const { config } = await loadConfig({ path: `${dir}/config.yaml` });
    assertEquals(config.coordinator.lease, "kubernetes");
    assertEquals(config.worker.metrics_listen, "0.0.0.0:9465");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const account = one(docs, "ServiceAccount", coordinator.serviceAccountName);
  const binding = one(docs, "RoleBinding", "tcfs-coordinator-lease");
  assertEquals(binding.subjects, [{ kind: "ServiceAccount", name: account.metadata.name }]);
  const role = one(docs, "Role", binding.roleRef.name);
  const rule = role.rules.find((r: Doc) => r.resources.includes("leases"));
  assertEquals(rule.apiGroups, ["coordination.k8s.io"]);
  for (const verb of ["get", "create", "update"]) assert(rule.verbs.includes(verb), verb);
});

Deno.test("the Grafana dashboard queries only metrics that exist", async () => {
  const dashboard = JSON.parse(await Deno.readTextFile(`${DEPLOY}base/grafana-dashboard.json`));
  const exported = new Set(createTcfsMetrics().registry.describe().map((m) => m.name));
  const exprs: string[] = dashboard.panels.flatMap((p: Doc) => p.targets.map((t: Doc) => t.expr));
  const titles = dashboard.panels.map((p: Doc) => p.title.toLowerCase()).join(" | ");
  for (const topic of ["throughput", "queue depth", "hydration latency", "errors"]) {
    assert(titles.includes(topic), `no panel on ${topic}: ${titles}`);
  }
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/tcfs_[a-z_]+/g)) {
      const base = name.replace(/_(bucket|sum|count)$/, "");
      assert(exported.has(base), `${expr}: tcfs exports no ${base}`);
    }
    // Queue depth comes from the NATS exporter, labelled with the workers' stream and consumer.
    if (expr.includes("jetstream_consumer")) {
      assert(expr.includes(`stream_name="${TASKS_STREAM}"`), expr);
      assert(expr.includes(`consumer_name="${WORKER_CONSUMER}"`), expr);
    }
  }
});
