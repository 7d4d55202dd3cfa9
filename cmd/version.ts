/**
 * `tcfs version`: the release and the runtime it runs on.
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import { VERSION } from "../lib/version.ts";

/** `tcfs version` */
export const versionCommand: Command = {
  name: "version",
  summary: "print the tcfs version",
  usage: "version",
  maxArgs: 0,
  run(ctx) {
    const info = { version: VERSION, deno: Deno.version.deno, v8: Deno.version.v8 };
    ctx.out.result(info, (i) => `tcfs ${i.version} (deno ${i.deno})`);
    return Promise.resolve(0);
  },
};
