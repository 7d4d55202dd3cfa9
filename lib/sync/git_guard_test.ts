import assert from "node:assert/strict";
import { gitBusy, gitDirBusy } from "./git_guard.ts";

/** Run git with no user or system configuration, so the tests see git's defaults. */
async function git(cwd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    env: {
      HOME: cwd,
      XDG_CONFIG_HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
      GIT_EDITOR: "true",
      ...env,
    },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function mustGit(cwd: string, ...args: string[]): Promise<string> {
  const r = await git(cwd, args);
  assert.ok(r.ok, `git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Commit `text` to `file` in `repo`. */
async function commit(repo: string, file: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${repo}/${file}`, text);
  await mustGit(repo, "add", file);
  await mustGit(repo, "commit", "-q", "-m", `${file}: ${text}`);
}

/** A temp directory with a repository `repo` of three commits on main, and a branch `other`. */
async function withRepo(fn: (repo: string, tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "tcfs-git-guard-" }));
  try {
    const repo = `${tmp}/repo`;
    await mustGit(tmp, "init", "-q", "-b", "main", repo);
    await commit(repo, "f", "1\n");
    await mustGit(repo, "branch", "other");
    await commit(repo, "f", "2\n");
    await commit(repo, "g", "3\n");
    await mustGit(repo, "checkout", "-q", "other");
    await commit(repo, "f", "other\n");
    await mustGit(repo, "checkout", "-q", "main");
    await fn(repo, tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("gitBusy: null for a clean repository and for directories without git", async () => {
  await withRepo(async (repo, tmp) => {
    assert.equal(await gitBusy(repo), null);
    assert.equal(await gitBusy(tmp), null);
    assert.equal(await gitBusy(`${tmp}/missing`), null);
    await Deno.writeTextFile(`${tmp}/.git`, "not a gitfile\n");
    assert.equal(await gitBusy(tmp), null);
  });
});

Deno.test("gitBusy: lock files in the git directory and under refs/", async () => {
  await withRepo(async (repo) => {
    const gitDir = `${repo}/.git`;
    for (const lock of ["index.lock", "HEAD.lock", "config.lock", "packed-refs.lock"]) {
      await Deno.writeTextFile(`${gitDir}/${lock}`, "");
      assert.deepEqual(await gitBusy(repo), { gitDir, reason: `${lock} present` });
      await Deno.remove(`${gitDir}/${lock}`);
    }
    // A real git command fails the same way while the lock is there.
    await Deno.writeTextFile(`${gitDir}/index.lock`, "");
    assert.match((await git(repo, ["add", "f"])).stderr, /index\.lock/);
    await Deno.remove(`${gitDir}/index.lock`);

    await Deno.mkdir(`${gitDir}/refs/heads/topic`);
    await Deno.writeTextFile(`${gitDir}/refs/heads/topic/x.lock`, "");
    assert.deepEqual(await gitBusy(repo), {
      gitDir,
      reason: "refs/heads/topic/x.lock present",
    });
    await Deno.remove(`${gitDir}/refs/heads/topic/x.lock`);
    assert.equal(await gitBusy(repo), null);
  });
});

Deno.test("gitBusy: an interactive rebase stopped at an edit", async () => {
  await withRepo(async (repo) => {
    const r = await git(repo, ["rebase", "-i", "HEAD~2"], {
      GIT_SEQUENCE_EDITOR: "sed -i -e 's/^pick/edit/'",
    });
    assert.ok(r.ok, r.stderr);
    assert.deepEqual(await gitBusy(repo), { gitDir: `${repo}/.git`, reason: "rebase in progress" });
    await mustGit(repo, "rebase", "--abort");
    assert.equal(await gitBusy(repo), null);
  });
});

Deno.test("gitBusy: merge, cherry-pick and revert stopped by conflicts", async () => {
  await withRepo(async (repo) => {
    assert.equal((await git(repo, ["merge", "other"])).ok, false);
    assert.equal((await gitBusy(repo))?.reason, "merge in progress");
    await mustGit(repo, "merge", "--abort");
    assert.equal(await gitBusy(repo), null);

    assert.equal((await git(repo, ["cherry-pick", "other"])).ok, false);
    assert.equal((await gitBusy(repo))?.reason, "cherry-pick in progress");
    await mustGit(repo, "cherry-pick", "--abort");
    assert.equal(await gitBusy(repo), null);

    assert.equal((await git(repo, ["revert", "--no-edit", "HEAD~2"])).ok, false);
    assert.equal((await gitBusy(repo))?.reason, "revert in progress");
    await mustGit(repo, "revert", "--abort");
    assert.equal(await gitBusy(repo), null);
  });
});

Deno.test("gitBusy: a multi-commit cherry-pick stays busy after its conflict is committed", async () => {
  await withRepo(async (repo) => {
    await mustGit(repo, "checkout", "-q", "other");
    await commit(repo, "h", "more\n");
    await mustGit(repo, "checkout", "-q", "main");
    assert.equal((await git(repo, ["cherry-pick", "other~1", "other"])).ok, false);
    await Deno.writeTextFile(`${repo}/f`, "resolved\n");
    await mustGit(repo, "add", "f");
    await mustGit(repo, "commit", "-q", "--no-edit");
    assert.equal(
      (await gitBusy(repo))?.reason,
      "cherry-pick or revert sequence in progress",
    );
    await mustGit(repo, "cherry-pick", "--continue");
    assert.equal(await gitBusy(repo), null);
  });
});

Deno.test("gitBusy: bisect and am", async () => {
  await withRepo(async (repo, tmp) => {
    await mustGit(repo, "bisect", "start", "HEAD", "HEAD~2");
    assert.equal((await gitBusy(repo))?.reason, "bisect in progress");
    await mustGit(repo, "bisect", "reset");
    assert.equal(await gitBusy(repo), null);

    await mustGit(repo, "format-patch", "-q", "-1", "other", "-o", `${tmp}/patches`);
    const [patch] = [...Deno.readDirSync(`${tmp}/patches`)];
    assert.equal((await git(repo, ["am", `${tmp}/patches/${patch.name}`])).ok, false);
    assert.equal((await gitBusy(repo))?.reason, "am in progress");
    await mustGit(repo, "am", "--abort");
    assert.equal(await gitBusy(repo), null);
  });
});

Deno.test("gitBusy: a linked worktree's .git file is followed, and the main repository sees it", async () => {
  await withRepo(async (repo, tmp) => {
    const wt = `${tmp}/wt`;
    await mustGit(repo, "worktree", "add", "-q", "-b", "wtb", wt);
    assert.ok((await Deno.stat(`${wt}/.git`)).isFile);
    assert.equal(await gitBusy(wt), null);
    assert.equal(await gitBusy(repo), null);

    const r = await git(wt, ["rebase", "-i", "HEAD~2"], {
      GIT_SEQUENCE_EDITOR: "sed -i -e 's/^pick/edit/'",
    });
    assert.ok(r.ok, r.stderr);
    const wtGitDir = `${repo}/.git/worktrees/wt`;
    assert.deepEqual(await gitBusy(wt), { gitDir: wtGitDir, reason: "rebase in progress" });
    assert.deepEqual(await gitBusy(repo), {
      gitDir: wtGitDir,
      reason: 'worktree "wt": rebase in progress',
    });
    await mustGit(wt, "rebase", "--abort");
    assert.equal(await gitBusy(wt), null);

    // Locks of the shared directory hold up every worktree; the main index does not.
    await Deno.writeTextFile(`${repo}/.git/index.lock`, "");
    assert.equal(await gitBusy(wt), null);
    await Deno.remove(`${repo}/.git/index.lock`);
    await Deno.writeTextFile(`${repo}/.git/packed-refs.lock`, "");
    assert.deepEqual(await gitBusy(wt), {
      gitDir: `${repo}/.git`,
      reason: "packed-refs.lock present",
    });
  });
});

Deno.test("gitBusy: separate git directories and submodules", async () => {
  await withRepo(async (repo, tmp) => {
    // --separate-git-dir writes an absolute gitdir; a relative one is resolved
    // against the directory of the .git file.
    const sep = `${tmp}/sep`;
    await mustGit(tmp, "init", "-q", "--separate-git-dir", `${tmp}/store`, sep);
    await Deno.writeTextFile(`${sep}/.git`, "gitdir: ../store\n");
    assert.equal(await gitBusy(sep), null);
    await Deno.writeTextFile(`${tmp}/store/index.lock`, "");
    assert.deepEqual(await gitBusy(sep), { gitDir: `${tmp}/store`, reason: "index.lock present" });

    const sup = `${tmp}/super`;
    await mustGit(tmp, "init", "-q", sup);
    await mustGit(
      sup,
      "-c",
      "protocol.file.allow=always",
      "submodule",
      "add",
      "-q",
      repo,
      "lib/sub",
    );
    assert.equal(await gitBusy(`${sup}/lib/sub`), null);
    assert.equal(await gitBusy(sup), null);
    const moduleDir = `${sup}/.git/modules/lib/sub`;
    await Deno.writeTextFile(`${moduleDir}/MERGE_HEAD`, "");
    assert.deepEqual(await gitBusy(`${sup}/lib/sub`), {
      gitDir: moduleDir,
      reason: "merge in progress",
    });
    assert.deepEqual(await gitBusy(sup), {
      gitDir: moduleDir,
      reason: 'submodule "lib/sub": merge in progress',
    });
  });
});

Deno.test("gitDirBusy: bare repositories and gc.pid, stale after 12 hours", async () => {
  await withRepo(async (repo, tmp) => {
    const bare = `${tmp}/bare.git`;
    await mustGit(tmp, "clone", "-q", "--bare", repo, bare);
    assert.equal(await gitDirBusy(bare), null);
    assert.equal(await gitDirBusy(`${tmp}/missing.git`), null);
    await Deno.writeTextFile(`${bare}/gc.pid`, "1234 host\n");
    assert.deepEqual(await gitDirBusy(bare), { gitDir: bare, reason: "gc running" });
    const old = new Date(Date.now() - 13 * 3600 * 1000);
    await Deno.utime(`${bare}/gc.pid`, old, old);
    assert.equal(await gitDirBusy(bare), null);
  });
});
