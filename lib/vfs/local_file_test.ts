import { assertEquals } from "../../tests/assert.ts";
import { LocalFiles } from "./local_file.ts";

Deno.test("a release racing an acquire never closes the file under the acquirer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = new LocalFiles((id) => `${dir}/${id}`);
    const first = await files.acquire("a", true);
    await first.write(0, new TextEncoder().encode("content"));
    // Release and acquire in the same tick: the second holder must get a usable file.
    const [, second] = await Promise.all([files.release("a"), files.acquire("a")]);
    assertEquals(new TextDecoder().decode(await second.read(0, 100)), "content");
    await files.release("a");
    // Concurrent writes through one descriptor keep their own offsets.
    const f = await files.acquire("b", true);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => f.write(i * 2, new TextEncoder().encode(`${i % 10}.`))),
    );
    assertEquals(
      new TextDecoder().decode(await f.read(0, 100)),
      Array.from({ length: 50 }, (_, i) => `${i % 10}.`).join(""),
    );
    await files.closeAll();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
