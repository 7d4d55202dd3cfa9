/**
 * A repository: an object store holding a tcfs config, wrapped keys, chunks,
 * packs, manifests and per-device commit logs. This class opens or creates
 * one and gives typed access to its objects; it knows nothing of local files.
 *
 * @module
 */

import { deriveRepoKeys, generateMasterKey } from "../crypto/mod.ts";
import { IntegrityError, KeyError, NotFoundError, TcfsError } from "../errors.ts";
import { fromHex, initBlake3 } from "../hash/mod.ts";
import { listAll, mapLimit, type ObjectStore } from "../storage/mod.ts";
import { Codec } from "./codec.ts";
import {
  addDeviceKey,
  addRecoveryKey,
  unlockWithIdentities,
  unlockWithPassphrase,
} from "./keyring.ts";
import {
  chunkKey,
  CONFIG_KEY,
  deviceLogPrefix,
  LOG_PREFIX,
  manifestKey,
  packKey,
  parseRecordKey,
  recordKey,
} from "./layout.ts";
import {
  canonicalBytes,
  type ChunkRef,
  fromWire,
  type Manifest,
  toWire,
  type WireManifest,
} from "./manifest.ts";
import { Namespace } from "./namespace.ts";
import {
  type CommitRecord,
  type ManifestRef,
  type PathVersion,
  recordFromWire,
  recordToWire,
  type WireRecord,
} from "./record.ts";
import { applyNewestSnapshot } from "./snapshot.ts";
import {
  decodeRepoConfig,
  encodeRepoConfig,
  newRepoConfig,
  type RepoConfig,
} from "./repo_config.ts";
import { mergeVectors, type VersionVector } from "./version_vector.ts";

/** How to unlock an encrypted repository. */
export interface Unlock {
  /** This device's age identities (`AGE-SECRET-KEY-1...`). */
  identities?: string[];
  /** The recovery passphrase, tried when no identity has a key. */
  passphrase?: string;
}

/** Options of {@link Repository.create}. */
export interface CreateOptions {
  /** Encrypt (default true). */
  encrypted: boolean;
  /** The creating device's age recipient. */
  recipient?: string;
  /** Recovery passphrase (required when encrypted). */
  passphrase?: string;
  /** scrypt work factor for the recovery key (tests lower it). */
  scryptWorkFactor?: number;
}

/** A new version of a path to commit; the vector, device and seq are filled in. */
export type NewVersion = Omit<PathVersion, "vv" | "device" | "seq" | "time">;

/** Concurrent requests when reading many commit records. */
const RECORD_READ_CONCURRENCY = 16;

/** An open repository. */
export class Repository {
  /** Where it lives. */
  readonly store: ObjectStore;
  /** Its parameters. */
  readonly config: RepoConfig;
  /** Encoder/decoder with its keys. */
  readonly codec: Codec;
  readonly #masterKey: Uint8Array | null;
  readonly #commitListeners = new Set<(record: CommitRecord) => void>();

  private constructor(
    store: ObjectStore,
    config: RepoConfig,
    codec: Codec,
    key: Uint8Array | null,
  ) {
    this.store = store;
    this.config = config;
    this.codec = codec;
    this.#masterKey = key;
  }

  /** Whether `store` holds a repository (its config object exists). */
  static async exists(store: ObjectStore): Promise<boolean> {
    return (await store.head(CONFIG_KEY)) !== null;
  }

  /** Create a new repository; fails if one exists there already. */
  static async create(store: ObjectStore, opts: CreateOptions): Promise<Repository> {
    const config = newRepoConfig(opts.encrypted);
    let masterKey: Uint8Array | null = null;
    if (opts.encrypted) {
      if (!opts.recipient || !opts.passphrase) {
        throw new KeyError(
          "an encrypted repository needs a device recipient and a recovery passphrase",
        );
      }
      masterKey = generateMasterKey();
      // Keys first: a config without keys would be an unopenable repository.
      await addDeviceKey(store, masterKey, opts.recipient);
      await addRecoveryKey(store, masterKey, opts.passphrase, opts.scryptWorkFactor);
    }
    if (!(await store.putIfAbsent(CONFIG_KEY, encodeRepoConfig(config)))) {
      throw new TcfsError(`${store.url} already holds a repository: run 'tcfs init' to join it`);
    }
    return await Repository.#withKey(store, config, masterKey);
  }

  /** Open an existing repository with this device's identities or the recovery passphrase. */
  static async open(store: ObjectStore, unlock: Unlock = {}): Promise<Repository> {
    let body: Uint8Array;
    try {
      body = await store.get(CONFIG_KEY);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`no tcfs repository at ${store.url}: create one with 'tcfs init'`);
      }
      throw err;
    }
    const config = decodeRepoConfig(body, store.url);
    if (config.encryption === "none") return await Repository.#withKey(store, config, null);
    let masterKey: Uint8Array;
    try {
      masterKey = await unlockWithIdentities(store, unlock.identities ?? []);
    } catch (err) {
      if (!(err instanceof KeyError) || unlock.passphrase === undefined) throw err;
      masterKey = await unlockWithPassphrase(store, unlock.passphrase);
    }
    return await Repository.#withKey(store, config, masterKey);
  }

  static async #withKey(store: ObjectStore, config: RepoConfig, key: Uint8Array | null) {
    const keys = key ? await deriveRepoKeys(key, fromHex(config.id)) : null;
    if (keys) await initBlake3(keys.idKey);
    return new Repository(store, config, new Codec(config, keys), key);
  }

  /** Give another device access: wrap the master key for its age recipient. */
  async addDevice(recipient: string): Promise<string> {
    if (!this.#masterKey) {
      throw new KeyError("the repository is not encrypted: devices need no key");
    }
    return await addDeviceKey(this.store, this.#masterKey, recipient);
  }

  /** Read and verify one chunk, from its own object or its pack. */
  async readChunk(ref: ChunkRef, signal?: AbortSignal): Promise<Uint8Array> {
    let body: Uint8Array;
    try {
      body = ref.pack
        ? await this.store.get(packKey(ref.pack.id), ref.pack, signal)
        : await this.store.get(chunkKey(ref.id), undefined, signal);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new IntegrityError(`chunk ${ref.id} is missing from the repository`, { cause: err });
      }
      throw err;
    }
    // The body was fetched for this call alone: its memory may move to a decode worker.
    return await this.codec.decodeChunk(ref.id, body, ref.size, true);
  }

  /** The id of a manifest. */
  manifestId(m: Manifest): string {
    return this.codec.metaId(canonicalBytes(m));
  }

  /**
   * How a manifest goes into a commit record: inline when small, otherwise
   * stored as an object of its own first and referenced.
   */
  async prepareManifest(m: Manifest): Promise<{ id: string; manifest: Manifest | ManifestRef }> {
    const bytes = canonicalBytes(m);
    const id = this.codec.metaId(bytes);
    if (bytes.length <= this.config.manifestInlineMax) return { id, manifest: m };
    const key = manifestKey(id);
    await this.store.putIfAbsent(key, await this.codec.encodeMeta(key, toWire(m)));
    return { id, manifest: { ref: id } };
  }

  /** The manifest of a file version, fetching it when it is stored apart. */
  async manifestOf(v: PathVersion): Promise<Manifest> {
    if (!v.manifest) throw new IntegrityError(`${v.path}: not a file version`);
    if (!("ref" in v.manifest)) return v.manifest;
    const key = manifestKey(v.manifest.ref);
    const m = fromWire(
      await this.codec.decodeMeta<WireManifest>(key, await this.store.get(key)),
      key,
    );
    if (this.manifestId(m) !== v.manifest.ref) {
      throw new IntegrityError(`${key}: manifest does not match its id`);
    }
    return m;
  }

  /**
   * Read the commit records not yet applied to `ns`. A namespace that has
   * applied nothing yet (the default) starts from the newest snapshot, when
   * there is one, and reads only the records after the snapshot's cursors.
   */
  async refresh(ns: Namespace = new Namespace()): Promise<Namespace> {
    if (ns.devices().length === 0) await applyNewestSnapshot(this.store, this.codec, ns);
    const devices: string[] = [];
    for (const p of (await this.store.listPage(LOG_PREFIX, { delimiter: "/" })).prefixes) {
      devices.push(p.slice(LOG_PREFIX.length, -1));
    }
    const keys: string[] = [];
    for (const device of devices) {
      const after = ns.cursor(device);
      const opts = after > 0 ? { startAfter: recordKey(device, after) } : {};
      for await (const o of listAll(this.store, deviceLogPrefix(device), opts)) {
        if (parseRecordKey(o.key)) keys.push(o.key);
      }
    }
    const records = await mapLimit(keys, RECORD_READ_CONCURRENCY, (k) => this.readRecord(k));
    for (const r of records) ns.apply(r);
    return ns;
  }

  /** Read and check the commit record stored at `key` (`log/<device>/<seq>`). */
  async readRecord(key: string): Promise<CommitRecord> {
    const wire = await this.codec.decodeMeta<WireRecord>(key, await this.store.get(key));
    const record = recordFromWire(wire, key);
    const named = parseRecordKey(key)!;
    if (record.device !== named.device || record.seq !== named.seq) {
      throw new IntegrityError(`${key}: record names another device or sequence`);
    }
    return record;
  }

  /**
   * Commit new versions as one record of `device`'s log. Each version
   * supersedes every version of its path that `ns` knows (or only its `base`
   * vector when given), and the record is
   * written with put-if-absent, so a concurrent writer can never be
   * overwritten. The record is applied to `ns` before returning.
   */
  async commit(
    device: string,
    ns: Namespace,
    versions: (NewVersion & { base?: VersionVector })[],
  ): Promise<CommitRecord> {
    let seq = Math.max(ns.cursor(device), await this.#lastSeq(device)) + 1;
    for (let attempt = 0;; attempt++) {
      const time = Date.now();
      const record: CommitRecord = {
        device,
        seq,
        time,
        versions: versions.map(({ base, ...v }) => ({
          ...v,
          // A version normally supersedes everything its writer has seen; one given an explicit
          // base supersedes only that, and stays concurrent with the rest (a kept conflict).
          vv: mergeVectors(base ?? ns.seen(v.path), { [device]: seq }),
          device,
          seq,
          time,
        })),
      };
      const key = recordKey(device, seq);
      const body = await this.codec.encodeMeta(key, recordToWire(record));
      if (await this.store.putIfAbsent(key, body)) {
        ns.apply(record);
        for (const listener of this.#commitListeners) listener(record);
        return record;
      }
      if (attempt >= 20) {
        throw new TcfsError(`could not commit to ${device}'s log: too much contention`);
      }
      seq = (await this.#lastSeq(device)) + 1;
    }
  }

  /**
   * Call `listener` with every record committed through this handle, right
   * after it is stored (so the daemon can announce it), until the returned
   * function is called. A listener must not throw.
   */
  onCommit(listener: (record: CommitRecord) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  async #lastSeq(device: string): Promise<number> {
    let last = 0;
    for await (const o of listAll(this.store, deviceLogPrefix(device))) {
      const parsed = parseRecordKey(o.key);
      if (parsed && parsed.seq > last) last = parsed.seq;
    }
    return last;
  }
}
