#!/usr/bin/env bash
# Throughput of kevy (epoll, and io_uring where the kernel allows it) against
# redis-server in the same run: redis-benchmark on loopback, GET and SET, 50 clients,
# 100,000 random keys, at each pipeline depth; the best of --reps runs per cell.
# Prints requests per second and the kevy/redis ratios.
#
# Usage: bench/throughput.sh [--n REQUESTS] [--reps R] [--pipelines "1 16"] [--clients C]
#   SHARDS=N     kevy shard threads (default 1)
#   KEVY_BIN=P   a kevy-server binary to measure instead of building the release one
#   TASKSET=...  cpu list for the servers (the benchmark client then runs elsewhere)
set -u
. "$(dirname "$0")/lib.sh"
N=200000 reps=3 pipelines="1 16" clients=50
while [ $# -gt 0 ]; do case $1 in
  --n) N=$2; shift 2 ;;
  --reps) reps=$2; shift 2 ;;
  --pipelines) pipelines=$2; shift 2 ;;
  --clients) clients=$2; shift 2 ;;
  *) echo "unknown argument $1" >&2; exit 2 ;;
esac; done
need redis-server redis-cli redis-benchmark python3
build_kevy
pin=() ; [ -n "${TASKSET:-}" ] && pin=(taskset -c "$TASKSET")

rps() {  # name pipeline test: best requests per second over the reps
  local name=$1 P=$2 t=$3 port best=0; port=$(free_port)
  # shellcheck disable=SC2046
  eval "${pin[*]:-}" $(server_cmd "$name" "$port") >"$bench_work/$name.log" 2>&1 &
  local pid=$!; bench_pids+=("$pid")
  wait_ping "$port" || { echo "$name: no PING" >&2; echo 0; return; }
  for _ in $(seq "$reps"); do
    local r
    r=$(redis-benchmark -p "$port" --csv -t "$t" -n "$N" -P "$P" -c "$clients" -r 100000 2>/dev/null |
      awk -F'"' -v t="${t^^}" '$2 == t { print $4 }')
    best=$(awk -v a="$best" -v b="${r:-0}" 'BEGIN { print (b > a) ? b : a }')
  done
  stop_pid "$pid"
  printf "%.0f" "$best"
}

list=$(servers)
echo "requests per second (redis-benchmark -c $clients -n $N -r 100000, best of $reps; kevy --shards ${SHARDS:-1})"
for P in $pipelines; do
  for t in get set; do
    declare -A got=()
    for s in $list; do got[$s]=$(rps "$s" "$P" "$t"); done
    line=$(printf "%-4s -P %-3s" "${t^^}" "$P")
    for s in $list; do
      line="$line  $s=${got[$s]}"
      [ "$s" = redis ] || line="$line ($(ratio "${got[$s]}" "${got[redis]}")x)"
    done
    echo "$line"
    unset got
  done
done
