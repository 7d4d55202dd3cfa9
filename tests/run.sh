#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need
# on a clean Debian machine, then runs format, lint and type checks and the
# whole test suite against real services. Ends with "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: real S3 (Ceph RGW), NATS, FUSE, age, zstd and
# b3sum (interop checks), rclone and prometheus (peers and promtool).
packages=(ceph-mon ceph-osd radosgw ceph-common nats-server fuse3 age zstd b3sum rclone
  prometheus sqlite3 rsync git systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/tmp/tcfs-apt.log 2>&1 || { tail -n 30 /tmp/tcfs-apt.log; exit 1; }
fi

echo "==> npm ci"
npm ci --no-audit --no-fund --loglevel=error

deno=node_modules/deno/deno
echo "==> deno fmt --check"
"$deno" fmt --check
echo "==> deno lint"
"$deno" lint
echo "==> deno check"
"$deno" check --quiet main.ts cmd lib tests bench tools

echo "==> deno test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
NO_COLOR=1 "$deno" test -A --unstable-kv --unstable-net "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
echo
echo "${passed:-0} passed, ${failed:-0} failed${ignored:+, $ignored skipped}"
exit "$status"
