#!/usr/bin/env bash
# System calls per request on the server side, kevy (epoll, and io_uring where the
# kernel allows it) and redis-server, in the same run: `strace -c -f` attached to the
# running server (start-up not counted) while redis-benchmark sends GET+SET at
# pipeline depth 1 from 50 clients. strace slows the server; the counts stay exact.
#
# Usage: bench/syscalls.sh [--n REQUESTS_PER_COMMAND] [--pipeline P] [--clients C]
#   SHARDS=N     kevy shard threads (default 1)
#   KEVY_BIN=P   a kevy-server binary to measure instead of building the release one
set -u
. "$(dirname "$0")/lib.sh"
N=20000 P=1 clients=50
while [ $# -gt 0 ]; do case $1 in
  --n) N=$2; shift 2 ;;
  --pipeline) P=$2; shift 2 ;;
  --clients) clients=$2; shift 2 ;;
  *) echo "unknown argument $1" >&2; exit 2 ;;
esac; done
need strace redis-server redis-cli redis-benchmark python3
build_kevy

count() {  # name: prints "calls_per_request top_calls"
  local name=$1 port; port=$(free_port)
  # shellcheck disable=SC2046
  eval exec $(server_cmd "$name" "$port") >"$bench_work/$name.log" 2>&1 &
  local pid=$!; bench_pids+=("$pid")
  wait_ping "$port" || { echo "$name: no PING" >&2; echo "-"; return; }
  local out="$bench_work/$name.strace"
  strace -c -f -p "$pid" -o "$out" 2>/dev/null &
  local tracer=$!
  sleep 1 # attached to every thread before the load starts
  redis-benchmark -p "$port" -q -t get,set -n "$N" -P "$P" -c "$clients" -r 100000 >/dev/null 2>&1
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null
  stop_pid "$pid"
  # Data lines: % time, seconds, usecs/call, calls, [errors,] name.
  local rows total top
  rows=$(awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $4, $NF }' "$out")
  total=$(echo "$rows" | awk '{ s += $1 } END { print s + 0 }')
  # The three most frequent calls, as name=calls/request.
  top=$(echo "$rows" | sort -rn | head -3 | awk -v n="$((2 * N))" '{ printf "%s%s=%.2f", sep, $2, $1 / n; sep = " " }')
  awk -v a="${total:-0}" -v b="$((2 * N))" -v top="$top" 'BEGIN { printf "%.2f (%s)", a / b, top }'
}

list=$(servers)
echo "syscalls per request (GET+SET, -P $P, -c $clients, -n $N each; kevy --shards ${SHARDS:-1})"
declare -A got=()
for s in $list; do got[$s]=$(count "$s"); done
for s in $list; do
  line="  $s: ${got[$s]}"
  [ "$s" = redis ] || line="$line  ratio $(ratio "${got[$s]%% *}" "${got[redis]%% *}")x redis"
  echo "$line"
done
