# Shared by the bench/ scripts (sourced): ports, starting and stopping the servers
# under test. Each script stops only the processes it started.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kevy_bin=${KEVY_BIN:-$bench_root/target/release/kevy-server}
bench_pids=()
bench_work=$(mktemp -d)
trap 'for p in "${bench_pids[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done; rm -rf "$bench_work"' EXIT

need() {  # tool...: fail early, naming the Debian package to install
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { echo "bench: $t not found (apt-get install -y valgrind redis-server redis-tools strace)" >&2; exit 2; }
  done
}

build_kevy() {
  if [ -z "${KEVY_BIN:-}" ]; then
    (cd "$bench_root" && cargo build --release --bin kevy-server >&2)
  fi
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

wait_ping() {  # port [tries]: true once the server answers PING
  for _ in $(seq "${2:-600}"); do
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  return 1
}

# The command line of server NAME on PORT: kevy-epoll, kevy-io_uring or redis.
server_cmd() {  # name port
  case $1 in
    kevy-epoll) echo "env KEVY_IO_URING=off $kevy_bin --port $2 --shards ${SHARDS:-1} --bind 127.0.0.1" ;;
    kevy-io_uring) echo "env KEVY_IO_URING=on $kevy_bin --port $2 --shards ${SHARDS:-1} --bind 127.0.0.1" ;;
    redis) echo "redis-server --port $2 --bind 127.0.0.1 --save '' --appendonly no" ;;
    *) echo "bench: unknown server $1" >&2; return 2 ;;
  esac
}

# Which servers to compare: kevy on both reactors (io_uring only where the kernel
# allows it) and redis-server.
servers() {
  local list="kevy-epoll"
  local port; port=$(free_port)
  KEVY_IO_URING=on "$kevy_bin" --port "$port" --bind 127.0.0.1 >"$bench_work/probe.log" 2>&1 &
  local pid=$!
  if wait_ping "$port" 50; then
    list="$list kevy-io_uring"
  else
    echo "bench: io_uring refused here ($(head -c 200 "$bench_work/probe.log")): kevy measured on epoll only" >&2
  fi
  kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "$list redis"
}

stop_pid() {  # pid: TERM, then KILL after 5 s
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
