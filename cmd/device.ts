/**
 * `tcfs device add <age-recipient>` and `tcfs device show`: manage which
 * devices can open the repository.
 *
 * @module
 */

import { deviceId, loadIdentities, openConfiguredRepository } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { recipientOf } from "../lib/crypto/mod.ts";
import { KeyError, UsageError } from "../lib/errors.ts";

/** `tcfs device` */
export const deviceCommand: Command = {
  name: "device",
  summary: "give another device access (add) or show this device (show)",
  usage: "device add <age-recipient> | device show",
  description: "add   wraps the repository key for another device's age recipient (age1...),\n" +
    "      which it prints with 'tcfs device show'; then 'tcfs init <url>' there joins.\n" +
    "show  prints this device's id and age recipient.",
  minArgs: 1,
  maxArgs: 2,
  async run(ctx, { positionals: [action, recipient] }) {
    if (action === "show") {
      // A device that has not joined yet shows its recipient so that it can be added.
      const { config } = await loadConfig({ path: ctx.configPath, allowMissing: true });
      const identities = await loadIdentities(config);
      if (identities.length === 0) {
        throw new KeyError(`no identity at ${config.device.identity_file}: run 'tcfs init' first`);
      }
      const info = { device: await deviceId(config), recipient: await recipientOf(identities[0]) };
      ctx.out.result(info, (i) => `device ${i.device}\nrecipient ${i.recipient}`);
      return;
    }
    if (action !== "add" || !recipient) {
      throw new UsageError("device: expected 'add <age-recipient>' or 'show'");
    }
    const { config } = await ctx.config();
    const repo = await openConfiguredRepository(config);
    try {
      const name = await repo.addDevice(recipient);
      ctx.out.result({ added: recipient, key: name }, (r) => `added ${r.added} (keys/${r.key})`);
    } finally {
      await repo.store.close();
    }
  },
};
