#!/usr/bin/env bash
# Server-side user-space instructions per request under valgrind's callgrind: kevy on
# epoll, kevy on io_uring (where the kernel allows it) and redis-server, one fixed
# workload (redis-benchmark GET+SET, 10 clients, 100,000 random keys) at each
# pipeline depth. Counting instructions repeats on a noisy machine; wall time does not.
#
# Usage: bench/instr-per-req.sh [--n REQUESTS_PER_COMMAND] [--pipelines "16 1"]
#   SHARDS=N     kevy shard threads (default 1)
#   KEVY_BIN=P   a kevy-server binary to measure instead of building the release one
# Needs valgrind (callgrind_control), redis-server, redis-tools, python3.
set -u
. "$(dirname "$0")/lib.sh"
N=50000 pipelines="16 1"
while [ $# -gt 0 ]; do case $1 in
  --n) N=$2; shift 2 ;;
  --pipelines) pipelines=$2; shift 2 ;;
  *) echo "unknown argument $1" >&2; exit 2 ;;
esac; done
need valgrind callgrind_control redis-server redis-cli redis-benchmark python3
build_kevy

measure() {  # name pipeline: prints instructions per request
  local name=$1 P=$2 port; port=$(free_port)
  local dir="$bench_work/$name-P$P"; mkdir -p "$dir"
  # shellcheck disable=SC2046
  (cd "$dir" && eval exec valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$dir/cg.out" $(server_cmd "$name" "$port")) >"$dir/log" 2>&1 &
  local pid=$!; bench_pids+=("$pid")
  wait_ping "$port" || { echo "$name: no PING under valgrind" >&2; return 1; }
  sleep 0.5
  # Counted from here: start-up and the PINGs are not the workload.
  callgrind_control -z "$pid" >/dev/null 2>&1
  redis-benchmark -p "$port" -q -t get,set -n "$N" -P "$P" -c 10 -r 100000 >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 0.5
  stop_pid "$pid"
  local f; f=$(ls "$dir"/cg.out.* 2>/dev/null | head -1)
  [ -n "$f" ] || { echo "$name: no callgrind dump" >&2; return 1; }
  local ir; ir=$(grep -E '^(summary|totals):' "$f" | head -1 | awk '{print $2}')
  awk -v a="$ir" -v b="$((2 * N))" 'BEGIN { printf "%.0f", a / b }'
}

list=$(servers)
echo "instructions per request (GET+SET, -c 10, -n $N each, kevy --shards ${SHARDS:-1})"
for P in $pipelines; do
  line="-P $P:" redis_ir=""
  declare -A got=()
  for s in $list; do got[$s]=$(measure "$s" "$P") || got[$s]="-"; done
  redis_ir=${got[redis]}
  for s in $list; do
    line="$line  $s=${got[$s]}"
    [ "$s" = redis ] || line="$line ($(ratio "${got[$s]}" "$redis_ir")x redis)"
  done
  echo "$line"
  unset got
done
