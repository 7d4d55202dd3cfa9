/**
 * Open an object store from a URL: `file:///abs/path` for a local directory
 * (the embedded default) or `s3://bucket/prefix` for S3.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { FileStore } from "./file.ts";
import { type S3Location, type S3Options, S3Store } from "./s3.ts";
import { type ObjectStore, validateKey } from "./store.ts";

/**
 * Open the store at `url`. `opts` apply to `s3://` URLs only. Throws
 * ConfigError for a malformed URL or an unsupported scheme.
 */
export async function openStore(url: string, opts: S3Options = {}): Promise<ObjectStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "s3") return new S3Store(parseS3Url(url), opts);
  if (scheme === "file") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`invalid file URL ${JSON.stringify(url)}: use file:///absolute/path`);
    }
    if ((parsed.host !== "" && parsed.host !== "localhost") || parsed.search || parsed.hash) {
      throw new ConfigError(
        `invalid file URL ${JSON.stringify(url)}: use file:///absolute/path (three slashes, ` +
          "no host, query or fragment)",
      );
    }
    return await FileStore.open(parsed);
  }
  const hint = url.startsWith("/")
    ? ` (for a local directory write file://${url})`
    : " (use file:///absolute/path or s3://bucket/prefix)";
  throw new ConfigError(
    scheme === undefined
      ? `invalid store URL ${JSON.stringify(url)}${hint}`
      : `unsupported store URL scheme "${scheme}:" in ${JSON.stringify(url)}${hint}`,
  );
}

/** Split `s3://bucket/some/prefix` into bucket and prefix ("some/prefix/"); ConfigError if malformed. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(url);
  if (match === null) {
    throw new ConfigError(
      `invalid S3 URL ${JSON.stringify(url)}: use s3://bucket or s3://bucket/prefix`,
    );
  }
  const bucket = match[1];
  if (
    !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !/^[A-Za-z0-9._-]{1,255}$/.test(bucket)
  ) {
    throw new ConfigError(`invalid S3 bucket name ${JSON.stringify(bucket)} in ${url}`);
  }
  const path = (match[2] ?? "").replace(/\/+$/, "");
  if (path !== "") {
    try {
      validateKey(path);
    } catch (err) {
      throw new ConfigError(`invalid prefix in S3 URL ${url}: ${(err as Error).message}`);
    }
  }
  return { bucket, prefix: path === "" ? "" : `${path}/` };
}
