#!/usr/bin/env bash
# The main job on the embedded default (README): create an encrypted
# repository in a local directory, push a sample tree, list it, pull it back
# and check the copy is identical. Everything lives in one temp directory, so
# your own ~/.config/tcfs is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d /tmp/tcfs-demo.XXXXXX)
export XDG_CONFIG_HOME="$demo/config" XDG_DATA_HOME="$demo/data" XDG_RUNTIME_DIR="$demo/run"
export TCFS_CONFIG="$demo/config/tcfs/config.yaml"
tcfs() { ./tools/deno run --unstable-kv -A main.ts "$@"; }
step() { printf '\n\033[1m$ tcfs %s\033[0m\n' "$*"; }

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
rm -rf "$demo"
