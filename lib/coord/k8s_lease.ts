/**
 * A leader lease as a Kubernetes `coordination.k8s.io/v1` Lease object,
 * spoken to over the API server's REST interface with `fetch`. Optimistic
 * concurrency is the API's own: an update names the `resourceVersion` it
 * read and the server answers 409 Conflict if the object changed since (a
 * create of an existing object is a 409 AlreadyExists). `holderIdentity`,
 * `leaseDurationSeconds`, `acquireTime` and `renewTime` mean what they mean to
 * client-go's leader election; `leaseTransitions` is the fencing token.
 *
 * @module
 */

import { IntegrityError, LeaseError } from "../errors.ts";
import type { LeaseRecord, LeaseSnapshot, LeaseStore } from "./lease.ts";

/** Where the kubelet mounts a pod's service account credentials. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How to reach the API server. */
export interface KubernetesApi {
  /** Base URL, e.g. `https://10.96.0.1:443`. */
  server: string;
  /** The bearer token, read again for each request (the kubelet rotates it). */
  token: () => Promise<string>;
  /** HTTP client trusting the cluster CA (absent: the system roots). */
  client?: Deno.HttpClient;
}

/**
 * The in-cluster API access of a pod: `KUBERNETES_SERVICE_HOST`/`_PORT`, and
 * the token, CA and namespace files of its service account under `dir`.
 */
export async function inClusterApi(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  dir: string = SERVICE_ACCOUNT_DIR,
): Promise<KubernetesApi & { namespace: string }> {
  const host = env("KUBERNETES_SERVICE_HOST");
  const port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    throw new LeaseError(
      "not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT unset): " +
        "use --lease nats outside a cluster",
    );
  }
  const readFile = async (name: string) => {
    try {
      return await Deno.readTextFile(`${dir}/${name}`);
    } catch (err) {
      throw new LeaseError(
        `cannot read the service account's ${name} at ${dir}/${name}: ${(err as Error).message}` +
          " (is automountServiceAccountToken off?)",
        { cause: err },
      );
    }
  };
  const ca = await readFile("ca.crt");
  const namespace = (await readFile("namespace")).trim();
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    token: async () => (await readFile("token")).trim(),
    client: Deno.createHttpClient({ caCerts: [ca] }),
    namespace,
  };
}

/** A Kubernetes Lease object, as much of it as matters here. */
interface LeaseObject {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** A Kubernetes API `Status` (what errors come back as). */
interface ApiStatus {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

/** The lease `name` in `namespace`, through the API server. */
export class KubernetesLease implements LeaseStore {
  readonly #api: KubernetesApi;
  readonly #namespace: string;
  readonly #name: string;
  /** The object last read or written, so an update keeps its labels and annotations. */
  #last: LeaseObject | null = null;
  /** Lease name and where it lives. */
  readonly description: string;

  /** The Lease `name` in `namespace`, reached through `api`. */
  constructor(api: KubernetesApi, namespace: string, name: string) {
    this.#api = api;
    this.#namespace = namespace;
    this.#name = name;
    this.description = `Kubernetes Lease ${namespace}/${name}`;
  }

  #url(name?: string): string {
    const base = `${this.#api.server}/apis/coordination.k8s.io/v1/namespaces/` +
      `${encodeURIComponent(this.#namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async #request(method: string, url: string, body?: LeaseObject): Promise<Response> {
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${await this.#api.token()}`,
          accept: "application/json",
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        client: this.#api.client,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      if (err instanceof LeaseError) throw err;
      throw new LeaseError(`${this.description}: ${method} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The current lease, or null when the object does not exist (404). */
  async read(): Promise<LeaseSnapshot | null> {
    const res = await this.#request("GET", this.#url(this.#name));
    if (res.status === 404) {
      await res.body?.cancel();
      this.#last = null;
      return null;
    }
    return this.#snapshot(await this.#expect(res, "GET", [200]));
  }

  /** Create (`version` null) or update the lease; null on 409 (lost race). */
  async write(record: LeaseRecord, version: string | null): Promise<LeaseSnapshot | null> {
    const metadata = version === null || this.#last?.metadata.resourceVersion !== version
      ? { name: this.#name, namespace: this.#namespace }
      : { ...this.#last.metadata };
    if (version !== null) metadata.resourceVersion = version;
    const body: LeaseObject = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata,
      spec: {
        holderIdentity: record.holder,
        leaseDurationSeconds: Math.max(1, Math.ceil(record.durationMs / 1000)),
        acquireTime: microTime(record.acquiredMs),
        renewTime: microTime(record.renewedMs),
        leaseTransitions: record.token,
      },
    };
    const res = version === null
      ? await this.#request("POST", this.#url(), body)
      : await this.#request("PUT", this.#url(this.#name), body);
    if (res.status === 409) {
      await res.body?.cancel();
      return null;
    }
    const method = version === null ? "POST" : "PUT";
    return this.#snapshot(await this.#expect(res, method, version === null ? [201, 200] : [200]));
  }

  async #expect(res: Response, method: string, ok: number[]): Promise<unknown> {
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (ok.includes(res.status) && json !== undefined) return json;
    const status = (json ?? {}) as ApiStatus;
    const why = status.kind === "Status"
      ? `${status.reason ?? res.status}: ${status.message ?? ""}`
      : `HTTP ${res.status} ${text.slice(0, 200)}`;
    const hint = res.status === 403
      ? " (the service account needs get, create and update on leases in coordination.k8s.io)"
      : "";
    throw new LeaseError(`${this.description}: ${method} refused: ${why}${hint}`);
  }

  #snapshot(json: unknown): LeaseSnapshot {
    const obj = json as LeaseObject;
    const version = obj?.metadata?.resourceVersion;
    if (obj?.kind !== "Lease" || typeof version !== "string" || typeof obj.spec !== "object") {
      throw new IntegrityError(`${this.description}: the API answered something not a Lease`);
    }
    this.#last = obj;
    const { spec } = obj;
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    return {
      version,
      record: {
        holder: spec.holderIdentity ?? "",
        token: spec.leaseTransitions ?? 0,
        acquiredMs: spec.acquireTime ? Date.parse(spec.acquireTime) : renewed,
        renewedMs: renewed,
        durationMs: (spec.leaseDurationSeconds ?? 0) * 1000,
      },
    };
  }
}

/** A Kubernetes MicroTime: RFC 3339 with six fractional digits, UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
