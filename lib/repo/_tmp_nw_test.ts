import { Worker } from "node:worker_threads";
function spawn(href: string) {
  const code = `const m = ${JSON.stringify(href)}; import(m).catch((e) => import("node:worker_threads").then((w) => w.parentPort.postMessage({ unavailable: String(e) })));`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
}
Deno.test("data trampoline", async () => {
  for (const name of ["./_tmp_nw_child.ts", "./_tmp_missing.ts"]) {
    const t = performance.now();
    const w = spawn(new URL(name, import.meta.url).href);
    const m = await new Promise((r) => w.once("message", r));
    console.log(name, m, "ms", (performance.now() - t).toFixed(0));
    w.unref();
  }
});
