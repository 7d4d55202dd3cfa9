/**
 * Where tcfs keeps its files by default, following the XDG base directory
 * specification so that users who relocate their config or data dirs are
 * honoured without extra flags.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** The user's home directory; an error if neither HOME nor USERPROFILE is set. */
export function homeDir(): string {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) throw new ConfigError("HOME is not set: cannot locate the default config directory");
  return home;
}

function xdg(envName: string, fallback: string): string {
  const value = Deno.env.get(envName);
  // The spec says relative paths in these variables are invalid and must be ignored.
  return value && value.startsWith("/") ? value : `${homeDir()}/${fallback}`;
}

/** `$XDG_CONFIG_HOME/tcfs` (default `~/.config/tcfs`). */
export function configDir(): string {
  return `${xdg("XDG_CONFIG_HOME", ".config")}/tcfs`;
}

/** `$XDG_DATA_HOME/tcfs` (default `~/.local/share/tcfs`): state database and caches. */
export function dataDir(): string {
  return `${xdg("XDG_DATA_HOME", ".local/share")}/tcfs`;
}

/** `$XDG_RUNTIME_DIR/tcfs`, or a per-user dir under /tmp when there is no runtime dir. */
export function runtimeDir(): string {
  const value = Deno.env.get("XDG_RUNTIME_DIR");
  if (value && value.startsWith("/")) return `${value}/tcfs`;
  return `/tmp/tcfs-${Deno.uid() ?? "user"}`;
}

/** The config file used when neither `--config` nor `TCFS_CONFIG` names one. */
export function defaultConfigPath(): string {
  return `${configDir()}/config.yaml`;
}

/** Expand a leading `~/` to the home directory; other paths are returned unchanged. */
export function expandHome(path: string): string {
  if (path === "~") return homeDir();
  return path.startsWith("~/") ? `${homeDir()}${path.slice(1)}` : path;
}
