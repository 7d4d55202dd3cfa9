#!/usr/bin/env bash
# The main job on the embedded default (README): create an encrypted
# repository in a local directory, push a sample tree, list it, pull it back
# and check the copy is identical; then start the daemon, mount the
# repository (FUSE), show the stubs, open one (it hydrates), unsync it and
# unmount. Everything lives in one temp directory, so your own ~/.config/tcfs
# is never touched. Where FUSE is unavailable the mount step says so and the
# demo exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d /tmp/tcfs-demo.XXXXXX)
export XDG_CONFIG_HOME="$demo/config" XDG_DATA_HOME="$demo/data" XDG_RUNTIME_DIR="$demo/run"
export TCFS_CONFIG="$demo/config/tcfs/config.yaml"
tcfs() { ./tools/deno run --unstable-kv --unstable-net -A main.ts "$@"; }
step() { printf '\n\033[1m$ tcfs %s\033[0m\n' "$*"; }
shell() { printf '\n\033[1m$ %s\033[0m\n' "$*"; bash -c "$*"; }
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" || true; fi
  rm -rf "$demo"
}
trap cleanup EXIT

# A sample tree: text, a 32 MiB binary, an empty file, an empty dir, a symlink, odd names.
src="$demo/sample"
mkdir -p "$src/docs/empty dir" "$src/photos"
printf 'tcfs demo\n' > "$src/README.txt"
for i in $(seq 1 8); do printf 'note %s\n' "$i" > "$src/docs/note $i.txt"; done
head -c 33554432 /dev/urandom > "$src/photos/big.raw"
: > "$src/docs/empty.txt"
printf 'ünïcødé\n' > "$src/docs/ünïcødé.txt"
ln -s ../README.txt "$src/docs/readme-link"
printf 'demo passphrase %s\n' "$RANDOM$RANDOM" > "$demo/passphrase"

step version;                                   tcfs version
step init "file://$demo/repo";                  tcfs init "file://$demo/repo" --passphrase-file "$demo/passphrase"
step push "$src" --to /sample;                  tcfs push "$src" --to /sample
step ls /sample;                                tcfs ls /sample
step ls /sample/docs;                           tcfs ls /sample/docs
step push "$src" --to /sample "(again: nothing changed)"; tcfs push "$src" --to /sample
step pull /sample "$demo/restored";             tcfs pull /sample "$demo/restored"
diff -r --no-dereference "$src" "$demo/restored"
printf '\nrestored copy is identical (diff -r): OK\n'
printf 'repository objects: %s, in %s\n' "$(find "$demo/repo" -type f | wc -l)" "$demo/repo"

# The mount: served by the daemon, started here in the background and stopped by its PID.
step daemon "&"
./tools/deno run --unstable-kv --unstable-net -A main.ts daemon 2>"$demo/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 200); do [ -S "$demo/run/tcfs/tcfsd.sock" ] && break; sleep 0.1; done
mnt="$demo/mnt"
mkdir "$mnt"
step mount "$mnt";                              tcfs mount "$mnt"
shell ls "$mnt" "   # directories not listed yet are NAME.tcf stubs"
shell ls -l "$mnt/sample/photos" "   # files not local yet are NAME.tc stubs"
shell "cat '$mnt/sample/photos/big.raw.tc' | cmp - '$src/photos/big.raw' && echo 'opened: the real bytes'"
shell ls -l "$mnt/sample/photos" "   # now local: the real name"
step unsync "$mnt/sample/photos/big.raw";      tcfs unsync "$mnt/sample/photos/big.raw"
shell ls "$mnt/sample/photos"
step unmount "$mnt";                            tcfs unmount "$mnt"
kill "$daemon_pid" && wait "$daemon_pid"
daemon_pid=""
printf '\ndaemon stopped; mount, stubs, hydration and unsync: OK\n'
