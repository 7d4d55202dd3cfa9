/**
 * Secrets for the daemon: decrypting SOPS files with age (written from the
 * SOPS format, no sops binary needed), the age credential chain that finds
 * the identity, and the credential files that hold the S3 keys.
 *
 * @example
 * ```ts
 * import { loadAgeIdentity, loadCredentialFiles, s3CredentialsFrom } from "./mod.ts";
 *
 * const identity = await loadAgeIdentity();
 * const files = await loadCredentialFiles("/etc/tcfs/credentials", identity.identities);
 * const s3 = s3CredentialsFrom(files); // null if no file holds S3 keys
 * ```
 *
 * @module
 */

export {
  decryptSops,
  type DecryptSopsOptions,
  decryptSopsWithDataKey,
  type SopsDocument,
  toYaml,
} from "./sops.ts";
export {
  CHAIN_STEPS,
  chainPaths,
  type ChainStep,
  defaultKeysFile,
  loadAgeIdentity,
  type LoadedIdentity,
} from "./chain.ts";
export {
  type CredentialFile,
  type CredentialsState,
  type CredentialsWatcher,
  listCredentialFiles,
  loadCredentialFile,
  loadCredentialFiles,
  type S3Credentials,
  s3CredentialsFrom,
  watchCredentials,
  type WatchCredentialsOptions,
} from "./credentials.ts";
