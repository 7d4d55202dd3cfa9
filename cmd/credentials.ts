/**
 * `tcfs credentials`: where the daemon's age identity comes from, and what
 * each credential file provides (names only, never values).
 *
 * @module
 */

import type { Command } from "../lib/cli/mod.ts";
import {
  type CredentialFile,
  listCredentialFiles,
  loadAgeIdentity,
  loadCredentialFile,
  s3CredentialsFrom,
} from "../lib/secrets/mod.ts";

interface FileReport {
  path: string;
  names: string[];
  error?: string;
}

interface Report {
  identity: { step: string; source: string; recipients: string[] };
  dir: string;
  dirExists: boolean;
  files: FileReport[];
  s3: { found: boolean; source?: string };
}

/** `tcfs credentials` */
export const credentialsCommand: Command = {
  name: "credentials",
  summary: "show where the age identity comes from and what the credential files provide",
  usage: "credentials [--json]",
  description: "Shows which place of the credential chain supplied the age identity\n" +
    "($CREDENTIALS_DIRECTORY/age-identity, $SOPS_AGE_KEY_FILE, $SOPS_AGE_KEY,\n" +
    "~/.config/sops/age/keys.txt: the first that exists), then decrypts each SOPS file\n" +
    "in credentials.dir and lists the names of the values it holds, never the values,\n" +
    "and whether S3 credentials were found. Exits 1 if a file does not decrypt.",
  maxArgs: 0,
  async run(ctx) {
    const { config } = await ctx.config();
    const dir = config.credentials.dir;
    const identity = await loadAgeIdentity();
    const loaded: CredentialFile[] = [];
    const files: FileReport[] = [];
    for (const path of await listCredentialFiles(dir)) {
      try {
        const file = await loadCredentialFile(path, identity.identities);
        loaded.push(file);
        files.push({ path, names: file.names });
      } catch (err) {
        // Messages of the secrets layer name files and key paths, never values.
        files.push({ path, names: [], error: err instanceof Error ? err.message : String(err) });
      }
    }
    const s3 = s3CredentialsFrom(loaded);
    const report: Report = {
      identity: { step: identity.step, source: identity.source, recipients: identity.recipients },
      dir,
      dirExists: await exists(dir),
      files,
      s3: s3 === null ? { found: false } : { found: true, source: s3.source },
    };
    ctx.out.result(report, render);
    return files.some((f) => f.error !== undefined) ? 1 : 0;
  },
};

function render(r: Report): string {
  const via = r.identity.step === "sops-age-key" ? `$${r.identity.source}` : r.identity.source;
  const lines = [
    `identity: ${r.identity.step} (${via})`,
    ...r.identity.recipients.map((rc) => `  recipient ${rc}`),
    `credentials dir: ${r.dir}${r.dirExists ? "" : " (does not exist)"}`,
  ];
  if (r.dirExists && r.files.length === 0) {
    lines.push("  no credential files (*.yaml, *.yml, *.json)");
  }
  for (const f of r.files) {
    lines.push(`  ${f.path}`);
    lines.push(
      f.error !== undefined ? `    error: ${f.error}` : `    ${f.names.join(", ") || "(empty)"}`,
    );
  }
  lines.push(r.s3.found ? `S3 credentials: found in ${r.s3.source}` : "S3 credentials: none found");
  return lines.join("\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
