/**
 * Structured logging to stderr: text for people on a terminal, JSON lines for
 * machines. Secrets never reach the output: values registered with
 * {@link Logger.addSecret} are scrubbed from every line, and fields whose
 * names look secret are redacted whatever their value.
 *
 * @module
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Output format of log lines. */
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are always redacted. */
const SECRET_FIELD = /secret|password|passphrase|token|credential|private|identity_key/i;

/** Extra structured data attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Where lines go; a function so tests can capture them. */
export type LogSink = (line: string) => void;

const encoder = new TextEncoder();

/** Writes each line to stderr synchronously, so nothing is lost on exit. */
export const stderrSink: LogSink = (line) => {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
};

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** Least severe level written. Default `info`. */
  level?: LogLevel;
  /** Line format. Default text. */
  format?: LogFormat;
  /** Destination. Default stderr. */
  sink?: LogSink;
  /** Component name included in every line (e.g. `daemon`). */
  component?: string;
}

/** A leveled logger that scrubs secrets. Children share the secret list. */
export class Logger {
  #level: number;
  #format: LogFormat;
  #sink: LogSink;
  #component?: string;
  #secrets: Set<string>;

  /** Make a logger; see {@link LoggerOptions}. */
  constructor(opts: LoggerOptions = {}, secrets: Set<string> = new Set()) {
    this.#level = RANK[opts.level ?? "info"];
    this.#format = opts.format ?? "text";
    this.#sink = opts.sink ?? stderrSink;
    this.#component = opts.component;
    this.#secrets = secrets;
  }

  /** A logger for a sub-component that shares level, format, sink and secrets. */
  child(component: string): Logger {
    const name = this.#component ? `${this.#component}.${component}` : component;
    const levelName = (Object.keys(RANK) as LogLevel[]).find((k) => RANK[k] === this.#level);
    return new Logger(
      { level: levelName, format: this.#format, sink: this.#sink, component: name },
      this.#secrets,
    );
  }

  /** Never print this value: it is replaced by `<redacted>` wherever it appears. */
  addSecret(value: string): void {
    // Very short values would redact ordinary words; they are not plausible secrets.
    if (value.length >= 6) this.#secrets.add(value);
  }

  /** Whether lines at this level are written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#level;
  }

  /** Log at debug level. */
  debug(msg: string, fields?: LogFields): void {
    this.#write("debug", msg, fields);
  }
  /** Log at info level. */
  info(msg: string, fields?: LogFields): void {
    this.#write("info", msg, fields);
  }
  /** Log at warn level. */
  warn(msg: string, fields?: LogFields): void {
    this.#write("warn", msg, fields);
  }
  /** Log at error level. */
  error(msg: string, fields?: LogFields): void {
    this.#write("error", msg, fields);
  }

  #write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < this.#level) return;
    const clean = fields ? redactFields(fields) : undefined;
    let line: string;
    if (this.#format === "json") {
      line = JSON.stringify({
        ts: new Date().toISOString(),
        level,
        ...(this.#component ? { component: this.#component } : {}),
        msg,
        ...clean,
      });
    } else {
      const parts = [level.toUpperCase().padEnd(5)];
      if (this.#component) parts.push(`[${this.#component}]`);
      parts.push(msg);
      for (const [k, v] of Object.entries(clean ?? {})) {
        parts.push(`${k}=${typeof v === "string" ? quoteIfNeeded(v) : JSON.stringify(v)}`);
      }
      line = parts.join(" ");
    }
    this.#sink(this.#scrub(line));
  }

  #scrub(line: string): string {
    for (const s of this.#secrets) {
      if (line.includes(s)) line = line.split(s).join("<redacted>");
      // JSON output escapes some characters; scrub the escaped form too.
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s && line.includes(escaped)) line = line.split(escaped).join("<redacted>");
    }
    return line;
  }
}

function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = "<redacted>";
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

function quoteIfNeeded(v: string): string {
  return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
}
