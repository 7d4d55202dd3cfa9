/**
 * Reading secrets: from a file named on the command line, or typed at a
 * terminal without echo. Never from an argument (it would show in `ps`).
 *
 * @module
 */

import { TcfsError, UsageError } from "../errors.ts";

/** Read a passphrase from the first line of `path`; an empty one is an error. */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new TcfsError(`cannot read passphrase file ${path}: ${(err as Error).message}`);
  }
  const line = text.split(/\r?\n/)[0];
  if (line === "") throw new TcfsError(`passphrase file ${path} is empty`);
  return line;
}

/** Ask for a secret on the terminal without echoing it. */
export async function promptSecret(question: string): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError("no terminal to ask for the passphrase: give --passphrase-file <file>");
  }
  const enc = new TextEncoder();
  await Deno.stderr.write(enc.encode(question));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    const buf = new Uint8Array(1);
    while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null || buf[0] === 13 || buf[0] === 10) break;
      if (buf[0] === 3) throw new TcfsError("interrupted");
      if (buf[0] === 127 || buf[0] === 8) bytes.pop();
      else bytes.push(buf[0]);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(enc.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
