/**
 * Runs the real `tcfs` CLI as a child process, the way a user does
 * (`deno task tcfs ...`), for end-to-end tests.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;

/** Result of one CLI run. */
export interface TcfsRun {
  /** Exit code. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
}

/** Options of {@link runTcfs}. */
export interface TcfsRunOptions {
  /** Extra environment (merged over a clean one with HOME set to a temp-safe dir). */
  env?: Record<string, string>;
  /** Working directory (default: the project root). */
  cwd?: string;
  /** Bytes written to stdin. */
  stdin?: string;
}

/** Run `deno task -q tcfs <args>` and collect its output. */
export async function runTcfs(args: string[], opts: TcfsRunOptions = {}): Promise<TcfsRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--cwd", ROOT, "tcfs", ...args],
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const { code, stdout, stderr } = await child.output();
  const dec = new TextDecoder();
  return { code, stdout: dec.decode(stdout), stderr: dec.decode(stderr) };
}
