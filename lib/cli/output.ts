/**
 * Results go to stdout (logs and progress go to stderr), either as text for
 * people or, with `--json`, as one JSON document per result.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Result printer for a subcommand. */
export interface Output {
  /** Print a result: its JSON form with `--json`, otherwise the text `render` gives. */
  result<T>(value: T, render: (value: T) => string): void;
  /** Print a line of text (ignored with `--json`, where only results are printed). */
  line(text: string): void;
}

/** An {@link Output} writing to a sink (stdout by default). */
export function createOutput(
  json: boolean,
  sink: (text: string) => void = (t) => Deno.stdout.writeSync(encoder.encode(t)),
): Output {
  return {
    result(value, render) {
      if (json) sink(JSON.stringify(value) + "\n");
      else {
        const text = render(value);
        if (text !== "") sink(text.endsWith("\n") ? text : text + "\n");
      }
    },
    line(text) {
      if (!json) sink(text + "\n");
    },
  };
}
