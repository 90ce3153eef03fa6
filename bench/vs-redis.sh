#!/usr/bin/env bash
# kevy-server throughput relative to redis-server, side by side with
# redis-benchmark on loopback (../shared/tools/bench-vs-redis.sh does the work).
#
# Usage: bench/vs-redis.sh [more bench-vs-redis.sh options, e.g. --reps 5]
#   SHARDS=N   kevy shard threads (default 2)
# Builds the release binary first.  Prints one ratio (kevy/redis) per workload
# and the smallest one; exit status is bench-vs-redis.sh's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/../shared/tools/bench-vs-redis.sh"
if [ ! -f "$tool" ]; then
  echo "vs-redis: $tool not found" >&2
  exit 2
fi
shards=${SHARDS:-2}

cd "$root"
cargo build --release --bin kevy-server
server=$(printf '%q' "$root/target/release/kevy-server")

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
bash "$tool" \
  --candidate "$server --port {port} --shards $shards --bind 127.0.0.1" \
  --workloads set_P1,get_P1,set_P16,get_P16 \
  --clients 50 \
  "$@" >"$out" || status=$?

echo "kevy (--shards $shards) / redis throughput:"
awk '
  $1 ~ /^ratio_min=/ { print "  " $1; next }
  NF == 4 { printf "  %-9s %6.2fx   kevy %s rps, redis %s rps\n", $1, $4, $2, $3 }
' "$out"
exit "$status"
