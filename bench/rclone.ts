/**
 * rclone as a reference in benchmarks: a remote defined entirely by
 * environment variables (no config file is read or written), pointed at an
 * S3 service such as the Ceph RGW of `tests/services`.
 *
 * ```ts
 * const env = rcloneEnv("rgw", { endpoint, accessKeyId, secretAccessKey }, home);
 * // rclone copy ./dir rgw:bucket/x   (run with `env`)
 * ```
 *
 * @module
 */

/** Where and as whom rclone talks to S3. */
export interface RcloneS3Target {
  /** Base URL, e.g. "http://127.0.0.1:PORT". */
  endpoint: string;
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
}

/**
 * Environment that defines remote `name` as an S3 remote of provider Ceph at
 * `target`, path style, with every other option at rclone's default.
 * `home` becomes HOME and the config path points at a file that does not
 * exist inside it, so no user configuration can leak into a measurement.
 */
export function rcloneEnv(
  name: string,
  target: RcloneS3Target,
  home: string,
): Record<string, string> {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw new TypeError(`rclone remote name must be letters, digits and _: ${name}`);
  }
  const prefix = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return {
    HOME: home,
    RCLONE_CONFIG: `${home}/rclone-no-config.conf`,
    [`${prefix}TYPE`]: "s3",
    [`${prefix}PROVIDER`]: "Ceph",
    [`${prefix}ENDPOINT`]: target.endpoint,
    [`${prefix}ACCESS_KEY_ID`]: target.accessKeyId,
    [`${prefix}SECRET_ACCESS_KEY`]: target.secretAccessKey,
    // Already rclone's default; stated because RGW here serves path-style addresses only.
    [`${prefix}FORCE_PATH_STYLE`]: "true",
  };
}

/** The first line of `rclone version` (e.g. "rclone v1.60.1-DEV"), or null when rclone is absent. */
export async function rcloneVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("rclone", { args: ["version"], stdout: "piped" }).output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
