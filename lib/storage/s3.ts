/**
 * The `s3://bucket/prefix` backend over `@aws-sdk/client-s3`: AWS, Ceph RGW,
 * MinIO, SeaweedFS, R2 and other S3-compatible servers.
 *
 * The SDK's own retries are switched off; {@linkcode withRetry} retries
 * instead so every backend backs off alike. Checksums are computed only when
 * an operation requires them, which S3-compatible servers such as Ceph RGW 16
 * need (streaming checksum trailers make them answer 411). GETs go through a
 * second client over `fetch` ({@linkcode FetchRequestHandler}), whose bodies
 * are read straight into one buffer: reads are most of a pull's requests.
 *
 * @module
 */

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { ConfigError, NotFoundError, StorageError } from "../errors.ts";
import { FetchRequestHandler, readBody } from "./fetch_handler.ts";
import { errorCode, httpStatus, isRetryableError, withRetry } from "./retry.ts";
import {
  type ByteRange,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  validateKey,
  validatePageSize,
  validatePrefix,
  validateRange,
} from "./store.ts";

/** Static credentials for S3. */
export interface S3Credentials {
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key; never logged or put in error messages. */
  secretAccessKey: string;
  /** Session token of temporary credentials. */
  sessionToken?: string;
}

/** Options of the S3 backend. */
export interface S3Options {
  /** Endpoint URL of a non-AWS server, e.g. "http://127.0.0.1:7480". */
  endpoint?: string;
  /** Signing region; default $AWS_REGION, else "us-east-1". */
  region?: string;
  /** Address buckets as a path (`endpoint/bucket`); default true when `endpoint` is set. */
  forcePathStyle?: boolean;
  /** Access key id; without it the SDK's default chain (AWS_ACCESS_KEY_ID, profiles...) is used. */
  accessKeyId?: string;
  /** Secret access key; needed with `accessKeyId`. */
  secretAccessKey?: string;
  /** Session token of temporary credentials. */
  sessionToken?: string;
  /** Tries per request, including the first; default 5. */
  maxAttempts?: number;
  /** Called before each retry wait, e.g. to count retries in metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Where in S3 a store lives. */
export interface S3Location {
  /** Bucket name. */
  bucket: string;
  /** Key prefix inside the bucket, "" or ending in '/'. */
  prefix: string;
}

const CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  "AccessDenied",
  "Forbidden",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "CredentialsProviderError",
]);

interface ClientSlot {
  client: S3Client;
  /** The same credentials over `fetch`, for GETs (see fetch_handler.ts). */
  reader: S3Client;
  inFlight: number;
  retired: boolean;
}

/** An {@linkcode ObjectStore} in an S3 bucket, optionally under a key prefix. */
export class S3Store implements ObjectStore {
  /** `s3://bucket/prefix`, without endpoint or credentials. */
  readonly url: string;
  /** Bucket name. */
  readonly bucket: string;
  /** Key prefix applied to every key, "" or ending in '/'. */
  readonly prefix: string;
  #options: S3Options;
  #slot: ClientSlot;
  #closed = false;

  /** Make a store for `location`; no request is sent until the first operation. */
  constructor(location: S3Location, options: S3Options = {}) {
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new ConfigError("S3 credentials need both an access key id and a secret access key");
    }
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    this.url = `s3://${location.bucket}${
      location.prefix === "" ? "" : "/" + location.prefix.slice(0, -1)
    }`;
    this.#options = { ...options };
    this.#slot = this.#newSlot();
  }

  /**
   * Use new credentials from now on. Requests already running finish on the
   * old client, which is destroyed once they are done; new requests (and
   * retries) use the new credentials.
   */
  setCredentials(credentials: S3Credentials): void {
    this.#checkOpen();
    this.#options = {
      ...this.#options,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    };
    const old = this.#slot;
    this.#slot = this.#newSlot();
    old.retired = true;
    if (old.inFlight === 0) destroySlot(old);
  }

  /** Read an object or a range of it. */
  async get(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Uint8Array> {
    validateKey(key);
    if (range !== undefined) {
      validateRange(range);
      if (range.length === 0) {
        // S3 has no empty range; still report a missing object.
        if (await this.head(key, signal) === null) throw this.#notFound(key);
        return new Uint8Array(0);
      }
    }
    const Range = range === undefined
      ? undefined
      : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    try {
      return await this.#send("GET", key, signal, async (_, reader) => {
        const res = await reader.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range }),
          { abortSignal: signal },
        );
        const stream = res.Body as ReadableStream<Uint8Array> | undefined;
        if (stream === undefined) return new Uint8Array(0);
        // S3 servers send a Content-Length with objects; without one, take what comes.
        return res.ContentLength === undefined
          ? await res.Body!.transformToByteArray()
          : await readBody(stream, res.ContentLength);
      });
    } catch (err) {
      // 416: the range starts at or past the end; the contract says "fewer bytes".
      if (httpStatus(err) === 416 || errorCode(err) === "InvalidRange") return new Uint8Array(0);
      throw this.#mapError("GET", key, err, signal);
    }
  }

  /** Write an object, replacing any previous one. */
  async put(key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    validateKey(key);
    try {
      await this.#send("PUT", key, signal, async (client) => {
        await client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body }),
          { abortSignal: signal },
        );
      });
    } catch (err) {
      throw this.#mapError("PUT", key, err, signal);
    }
  }

  /**
   * Write an object only if the key is free (`If-None-Match: *`); false on 412.
   *
   * If an earlier try may have reached the server before failing (a broken
   * connection, a 5xx), a later 412 may be our own write: then the stored
   * bytes are compared with ours and equality counts as success.
   *
   * Limitation: Deno's HTTP client itself re-sends a request when a reused
   * keep-alive connection closes before any response byte. Should the server
   * have stored the object first, that hidden re-send gets 412 and this
   * returns false for what was our own write, so records that must not be
   * written twice should carry their own identity.
   */
  async putIfAbsent(key: string, body: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    validateKey(key);
    let ambiguous = false;
    try {
      await this.#send("PUT (if absent)", key, signal, async (client) => {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: this.prefix + key,
              Body: body,
              IfNoneMatch: "*",
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          const status = httpStatus(err);
          if (status === undefined || status >= 500) ambiguous = true;
          throw err;
        }
      });
      return true;
    } catch (err) {
      if (httpStatus(err) !== 412 && errorCode(err) !== "PreconditionFailed") {
        throw this.#mapError("PUT (if absent)", key, err, signal);
      }
      if (!ambiguous) return false;
      const stored = await this.get(key, undefined, signal).catch((e) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      });
      return stored !== undefined && equalBytes(stored, body);
    }
  }

  /** Describe an object, or null if absent. */
  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      return await this.#send("HEAD", key, signal, async (client) => {
        const res = await client.send(
          new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
          { abortSignal: signal },
        );
        return {
          key,
          size: res.ContentLength ?? 0,
          etag: unquote(res.ETag),
          lastModified: res.LastModified,
        };
      });
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw this.#mapError("HEAD", key, err, signal);
    }
  }

  /** List one page of keys under `prefix`; see {@linkcode ObjectStore.listPage}. */
  async listPage(prefix: string, opts: ListOptions = {}, signal?: AbortSignal): Promise<ListPage> {
    validatePrefix(prefix);
    const MaxKeys = validatePageSize(opts.pageSize);
    const cut = this.prefix.length;
    try {
      return await this.#send("LIST", prefix, signal, async (client) => {
        const res = await client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            Delimiter: opts.delimiter === "" ? undefined : opts.delimiter,
            StartAfter: opts.startAfter === undefined ? undefined : this.prefix + opts.startAfter,
            ContinuationToken: opts.token,
            MaxKeys,
          }),
          { abortSignal: signal },
        );
        return {
          objects: (res.Contents ?? []).map((o) => ({
            key: (o.Key ?? "").slice(cut),
            size: o.Size ?? 0,
            etag: unquote(o.ETag),
            lastModified: o.LastModified,
          })),
          prefixes: (res.CommonPrefixes ?? []).map((p) => (p.Prefix ?? "").slice(cut)),
          nextToken: res.IsTruncated ? res.NextContinuationToken : undefined,
        };
      });
    } catch (err) {
      throw this.#mapError("LIST", prefix, err, signal);
    }
  }

  /** Remove an object; S3 treats an absent key as success. */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    validateKey(key);
    try {
      await this.#send("DELETE", key, signal, async (client) => {
        await client.send(
          new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
          { abortSignal: signal },
        );
      });
    } catch (err) {
      if (httpStatus(err) === 404 && errorCode(err) !== "NoSuchBucket") return;
      throw this.#mapError("DELETE", key, err, signal);
    }
  }

  /** Destroy the SDK clients and their sockets; later calls fail. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#slot.retired = true;
      destroySlot(this.#slot);
    }
    return Promise.resolve();
  }

  #newSlot(): ClientSlot {
    const config = this.#clientConfig();
    return {
      client: new S3Client(config),
      reader: new S3Client({ ...config, requestHandler: new FetchRequestHandler() }),
      inFlight: 0,
      retired: false,
    };
  }

  #clientConfig(): S3ClientConfig {
    const o = this.#options;
    return {
      region: o.region ?? envRegion() ?? "us-east-1",
      endpoint: o.endpoint,
      forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
      credentials: o.accessKeyId === undefined ? undefined : {
        accessKeyId: o.accessKeyId,
        secretAccessKey: o.secretAccessKey ?? "",
        sessionToken: o.sessionToken,
      },
      maxAttempts: 1,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
  }

  /** Run one request with retries, each attempt on the then-current client. */
  #send<T>(
    op: string,
    key: string,
    signal: AbortSignal | undefined,
    request: (client: S3Client, reader: S3Client) => Promise<T>,
  ): Promise<T> {
    this.#checkOpen();
    return withRetry(async () => {
      this.#checkOpen();
      const slot = this.#slot;
      slot.inFlight++;
      try {
        return await request(slot.client, slot.reader);
      } finally {
        slot.inFlight--;
        if (slot.retired && slot.inFlight === 0 && slot !== this.#slot) destroySlot(slot);
      }
    }, {
      attempts: this.#options.maxAttempts ?? 5,
      signal,
      what: `${op} ${this.#where(key)}`,
      onRetry: this.#options.onRetry,
      isRetryable: (err, attempt) =>
        !(err instanceof StorageError) && isRetryableError(err, attempt),
    });
  }

  #mapError(op: string, key: string, err: unknown, signal?: AbortSignal): unknown {
    if (signal?.aborted) return signal.reason;
    if (err instanceof StorageError) return err; // already says what failed (e.g. retries exhausted)
    const code = errorCode(err);
    const status = httpStatus(err);
    const where = this.#where(key);
    if (code === "NoSuchKey" || (status === 404 && code !== "NoSuchBucket")) {
      return this.#notFound(key, err);
    }
    if (code === "NoSuchBucket") {
      return new StorageError(
        `${op} ${where} failed: bucket ${this.bucket} does not exist (create it first)`,
        { cause: err },
      );
    }
    if (status === 403 || CREDENTIAL_CODES.has(code)) {
      return new StorageError(
        `${op} ${where} was refused (${code}): check the S3 credentials ` +
          "(access key id, secret key, session token) and the bucket's permissions",
        { cause: err },
      );
    }
    const detail = status === undefined ? code : `${code}, HTTP ${status}`;
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return new StorageError(`${op} ${where} failed (${detail}): ${message}`, { cause: err });
  }

  #notFound(key: string, cause?: unknown): NotFoundError {
    return new NotFoundError(`object ${key} not found in ${this.url}`, { cause });
  }

  #where(key: string): string {
    return `${this.url}/${key}`;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError(`the store ${this.url} is closed`);
  }
}

function destroySlot(slot: ClientSlot): void {
  slot.client.destroy();
  slot.reader.destroy();
}

function envRegion(): string | undefined {
  try {
    return Deno.env.get("AWS_REGION") ?? Deno.env.get("AWS_DEFAULT_REGION");
  } catch {
    return undefined; // no --allow-env: fall back to the default region
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, "$1");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
