import { assert, assertEquals } from "../tests/assert.ts";
import { COMMANDS } from "./mod.ts";

Deno.test("every listed subcommand loads a command of the name it is listed under", async () => {
  assertEquals(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
  for (const entry of COMMANDS) {
    assert("load" in entry, `${entry.name} is loaded eagerly`);
    const command = await entry.load();
    assertEquals(command.name, entry.name);
    assert(command.summary.length > 0 && command.usage.startsWith(entry.name), entry.name);
  }
});
