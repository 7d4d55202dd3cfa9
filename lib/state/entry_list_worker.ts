/**
 * The worker side of {@link ./entry_list.ts}: opens the state database,
 * lists one root's entries as columns and sends them back (moved, not
 * copied). One request per worker.
 *
 * @module
 */

import { IntegrityError } from "../errors.ts";
import { collectColumns, type ListReply, type ListRequest } from "./entry_list.ts";

/** This worker's side of its channel (the global scope of a worker). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ListRequest>) => void) | null;
  postMessage(msg: ListReply, transfer?: Transferable[]): void;
};

scope.onmessage = async (e: MessageEvent<ListRequest>) => {
  let kv: Deno.Kv | null = null;
  try {
    kv = await Deno.openKv(e.data.path);
    const columns = await collectColumns(kv, e.data.prefix, e.data.path, { after: e.data.after });
    scope.postMessage({ op: "done", columns }, [columns.codes.buffer, columns.nums.buffer]);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    scope.postMessage({ op: "failed", error, integrity: err instanceof IntegrityError });
  } finally {
    kv?.close();
  }
};

// Requests are sent only after this, so none arrives before the handler above is in place.
scope.postMessage({ op: "ready" });
