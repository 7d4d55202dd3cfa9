/**
 * `tcfs conflicts`: paths where concurrent edits were kept side by side.
 *
 * @module
 */

import { openState } from "../lib/app/mod.ts";
import type { Command } from "../lib/cli/mod.ts";

/** `tcfs conflicts` */
export const conflictsCommand: Command = {
  name: "conflicts",
  summary: "list files edited concurrently on several devices (both versions kept)",
  usage: "conflicts",
  description: "Settle one with 'tcfs resolve <path> --keep local|remote|both'.",
  maxArgs: 0,
  async run(ctx) {
    const { config } = await ctx.config();
    const state = await openState(config);
    try {
      const list = (await state.listConflicts()).map((c) => ({
        root: c.root.slice(0, c.root.indexOf("=")),
        path: c.path,
        copies: c.copies.map((x) => x.path),
        detectedAt: new Date(c.detectedAt).toISOString(),
      }));
      ctx.out.result(
        list,
        (l) =>
          l.length === 0
            ? "no conflicts"
            : l.map((c) =>
              `${c.root}/${c.path}\n${
                c.copies.map((p) => `  other version: ${c.root}/${p}`).join("\n")
              }`
            ).join("\n"),
      );
    } finally {
      state.close();
    }
  },
};
