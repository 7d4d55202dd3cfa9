/**
 * Regenerates `docs/config.md` from the config schema (`deno task docs:config`).
 *
 * @module
 */

import { renderConfigDocs } from "../lib/config/mod.ts";

if (import.meta.main) {
  await Deno.writeTextFile(new URL("../docs/config.md", import.meta.url), renderConfigDocs());
}
