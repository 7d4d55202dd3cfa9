/**
 * `tcfs init <repo-url>`: create a repository, or join an existing one, and
 * set this device up for it (identity, device id, config file).
 *
 * @module
 */

import { deviceId, loadIdentities, openConfiguredStore } from "../lib/app/mod.ts";
import { type Command, promptSecret, readPassphraseFile } from "../lib/cli/mod.ts";
import { loadConfig, updateConfigFile } from "../lib/config/mod.ts";
import { generateIdentity, recipientOf, writeIdentityFile } from "../lib/crypto/mod.ts";
import { KeyError, TcfsError } from "../lib/errors.ts";
import { Repository } from "../lib/repo/mod.ts";

/** `tcfs init` */
export const initCommand: Command = {
  name: "init",
  summary: "create or join a repository and set up this device",
  usage: "init <repo-url> [--passphrase-file <file>] [--no-encryption]",
  description:
    "<repo-url> is file:///abs/path or s3://bucket/prefix (S3 endpoint and region from\n" +
    "the config or TCFS_S3_*). A new repository is encrypted: its key is wrapped for this\n" +
    "device's age identity and for a recovery passphrase, which joins other devices (or they\n" +
    "are added with 'tcfs device add <recipient>'). The config file (--config, TCFS_CONFIG or\n" +
    "~/.config/tcfs/config.yaml) is written with the repository URL.",
  options: {
    "passphrase-file": {
      type: "string",
      valueName: "file",
      help: "read the recovery passphrase from this file (else asked on the terminal)",
    },
    "no-encryption": {
      type: "boolean",
      help: "create an UNENCRYPTED repository (the storage provider can read everything)",
    },
  },
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, { positionals: [url], values }) {
    const loaded = await loadConfig({ path: ctx.configPath, allowMissing: true });
    const config = { ...loaded.config, repository: { url } };
    const passphraseFile = values["passphrase-file"] as string | undefined;
    const passphrase = async (confirm: boolean) => {
      if (passphraseFile) return await readPassphraseFile(passphraseFile);
      const first = await promptSecret("Recovery passphrase: ");
      if (first === "") throw new TcfsError("the recovery passphrase must not be empty");
      if (confirm && await promptSecret("Repeat it: ") !== first) {
        throw new TcfsError("the passphrases differ");
      }
      return first;
    };

    let identities = await loadIdentities(config);
    if (identities.length === 0) {
      const made = await generateIdentity();
      await writeIdentityFile(config.device.identity_file, made);
      identities = [made.identity];
      ctx.log.info("made a new device identity", { file: config.device.identity_file });
    }
    const recipient = await recipientOf(identities[0]);
    const store = await openConfiguredStore(config);
    let repo: Repository;
    let action: "created" | "joined";
    try {
      if (await Repository.exists(store)) {
        action = "joined";
        try {
          repo = await Repository.open(store, { identities });
        } catch (err) {
          if (!(err instanceof KeyError)) throw err;
          if (!passphraseFile && !Deno.stdin.isTerminal()) throw err;
          repo = await Repository.open(store, { passphrase: await passphrase(false) });
          await repo.addDevice(recipient);
        }
      } else {
        action = "created";
        const encrypted = values["no-encryption"] !== true;
        if (!encrypted) {
          ctx.log.warn(
            "creating an UNENCRYPTED repository: file names and contents are readable by " +
              "anyone with access to the storage",
          );
        }
        repo = await Repository.create(store, {
          encrypted,
          recipient,
          passphrase: encrypted ? await passphrase(true) : undefined,
        });
      }
    } finally {
      await store.close();
    }
    const device = await deviceId(config);
    await updateConfigFile(loaded.path, { "repository.url": url });
    const result = {
      action,
      repository: url,
      id: repo.config.id,
      encrypted: repo.config.encryption !== "none",
      device,
      recipient,
      config: loaded.path,
    };
    ctx.out.result(
      result,
      (r) =>
        `${r.action} ${r.encrypted ? "encrypted" : "UNENCRYPTED"} repository ${r.repository} ` +
        `(id ${r.id})\nthis device: ${r.device}, age recipient ${r.recipient}\nconfig: ${r.config}`,
    );
  },
};
