/**
 * The repository's wrapped master keys (`keys/`): one object per device,
 * wrapped with age for that device's X25519 recipient, and `keys/recovery`,
 * wrapped with the recovery passphrase (age scrypt). Any one of them opens the
 * repository; adding a device never needs the passphrase.
 *
 * @module
 */

import {
  recipientOf,
  unwrapWithIdentities,
  unwrapWithPassphrase,
  wrapForPassphrase,
  wrapForRecipients,
} from "../crypto/mod.ts";
import { KeyError, NotFoundError } from "../errors.ts";
import { blake3, toHex } from "../hash/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import { keyObjectKey } from "./layout.ts";

/** Name of the passphrase-wrapped key object. */
export const RECOVERY_KEY_NAME = "recovery";

/**
 * The key object name of a device: `device-` and 16 hex digits of the
 * BLAKE3 of its recipient (names stay short and reveal no key material).
 */
export function deviceKeyName(recipient: string): string {
  return `device-${toHex(blake3(new TextEncoder().encode(recipient))).slice(0, 16)}`;
}

/** Store the master key wrapped for a device recipient (replacing an older wrap). */
export async function addDeviceKey(
  store: ObjectStore,
  masterKey: Uint8Array,
  recipient: string,
): Promise<string> {
  const name = deviceKeyName(recipient);
  await store.put(keyObjectKey(name), await wrapForRecipients(masterKey, [recipient]));
  return name;
}

/** Store the master key wrapped with the recovery passphrase. */
export async function addRecoveryKey(
  store: ObjectStore,
  masterKey: Uint8Array,
  passphrase: string,
  workFactor?: number,
): Promise<void> {
  const wrapped = await wrapForPassphrase(masterKey, passphrase, { workFactor });
  await store.put(keyObjectKey(RECOVERY_KEY_NAME), wrapped);
}

/**
 * Unwrap the master key with this device's identities: the object named after
 * each identity's recipient is fetched directly, so opening costs one GET.
 */
export async function unlockWithIdentities(
  store: ObjectStore,
  identities: string[],
): Promise<Uint8Array> {
  if (identities.length === 0) {
    throw new KeyError("the repository is encrypted and no age identity was found");
  }
  for (const identity of identities) {
    const recipient = await recipientOf(identity);
    let wrapped: Uint8Array;
    try {
      wrapped = await store.get(keyObjectKey(deviceKeyName(recipient)));
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    return await unwrapWithIdentities(wrapped, [identity]);
  }
  const recipients = await Promise.all(identities.map(recipientOf));
  throw new KeyError(
    `no matching age identity: this device (${recipients.join(", ")}) has no key in ` +
      `${store.url}; run 'tcfs device add ${recipients[0]}' on a device that has access, or ` +
      `'tcfs init ${store.url} --passphrase-file <file>' with the recovery passphrase`,
  );
}

/** Unwrap the master key with the recovery passphrase. */
export async function unlockWithPassphrase(
  store: ObjectStore,
  passphrase: string,
): Promise<Uint8Array> {
  let wrapped: Uint8Array;
  try {
    wrapped = await store.get(keyObjectKey(RECOVERY_KEY_NAME));
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new KeyError(`${store.url} has no recovery key: join it with 'tcfs device add'`);
    }
    throw err;
  }
  return await unwrapWithPassphrase(wrapped, passphrase);
}
