#!/usr/bin/env bash
# The C API's test run (called by test.sh). It
#  1. installs libkevy (debug build) into target/kevy-prefix with kevy-ffi/install.sh,
#  2. builds the examples (examples/c) and the tests (tests/c) with pkg-config,
#  3. runs the C tests and the examples under valgrind (no definite or indirect
#     leaks, no invalid accesses), the statically linked example and the C++ program,
#  4. starts examples/c/server (under valgrind) on a free port and drives its custom
#     commands with redis-cli and redis-py, then stops it with SIGTERM (and once
#     more with a client's SHUTDOWN),
#  5. builds an example through CMake's find_package(kevy) when cmake is installed.
# Needs cargo, cc, c++, make, pkg-config, readelf, valgrind, redis-cli, python3 with redis-py.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
prefix="$root/target/kevy-prefix"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
# step NAME COMMAND...: runs one check, counts it, shows its output on failure.
step() {
  local name="$1"
  shift
  if "$@" >"$work/step.log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/    /' "$work/step.log" | tail -60
  fi
}

vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1)

# Build steps: nothing else can run if they fail.
kevy-ffi/install.sh "$prefix" debug >"$work/build.log" 2>&1 &&
  make -C examples/c all hello-static >>"$work/build.log" 2>&1 &&
  make -C tests/c all >>"$work/build.log" 2>&1 ||
  { echo "FAIL building libkevy, the examples or the C tests:"; tail -40 "$work/build.log"; exit 1; }
bin="$root/target/c"

step "pkg-config finds kevy $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion kevy)" \
  env PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --exists --print-errors "kevy = $(sed -n 's/^#define KEVY_VERSION_STRING "\(.*\)"$/\1/p' include/kevy.h)"
# The installed layout: libkevy.so -> libkevy.so.0 -> libkevy.so.<version>, SONAME
# libkevy.so.0, and a host built with -lkevy records libkevy.so.0 (not the dev link).
soname_checks() {
  local version real
  version="$(sed -n 's/^#define KEVY_VERSION_STRING "\(.*\)"$/\1/p' include/kevy.h)"
  real="$(readlink -f "$prefix/lib/libkevy.so")"
  [ "$real" = "$prefix/lib/libkevy.so.$version" ] || { echo "libkevy.so resolves to $real"; return 1; }
  [ "$(readlink "$prefix/lib/libkevy.so")" = libkevy.so.0 ] || { echo "libkevy.so is not a link to libkevy.so.0"; return 1; }
  readelf -d "$real" | grep -q 'SONAME.*\[libkevy\.so\.0\]' || { readelf -d "$real"; return 1; }
  readelf -d "$bin/examples/hello" | grep -q 'NEEDED.*\[libkevy\.so\.0\]' || { readelf -d "$bin/examples/hello"; return 1; }
  ! readelf -d "$bin/examples/hello" | grep -q 'NEEDED.*\[libkevy\.so\]'
  grep -q "libkevy.so.$version" "$prefix/lib/cmake/kevy/kevyConfig.cmake"
}
step "libkevy.so.0: SONAME, links, and examples/c/hello needs it by that name" soname_checks
# Without an installed libkevy, examples/c says in one line what to run.
no_prefix_message() {
  local out
  out="$(make -s -C examples/c KEVY_PREFIX="$work/nothing-here" 2>&1)" && return 1
  [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] && grep -q "run kevy-ffi/install.sh" <<<"$out"
}
step "make -C examples/c with no libkevy installed says to run install.sh" no_prefix_message
step "C tests under valgrind (tests/c/test_kevy.c)" "${vg[@]}" "$bin/tests/test_kevy"
step "examples/c/hello under valgrind" "${vg[@]}" "$bin/examples/hello"
step "examples/c/leaderboard under valgrind" "${vg[@]}" "$bin/examples/leaderboard"
step "examples/c/hello linked statically" "$bin/examples/hello-static"
step "C++ includes kevy.h (g++ -Wall -Wextra -Werror -pedantic)" "$bin/tests/cpp_header"

# examples/c/server under valgrind, driven by redis-cli and redis-py.
start_server() {
  printf 'port 0\nbind 127.0.0.1\nshards 2\ndir %s\n' "$work" >"$work/kevy.conf"
  "${vg[@]}" --log-file="$work/server.vg" "$bin/examples/server" "$work/kevy.conf" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    port="$(sed -n 's/^ready: port \([0-9]*\).*/\1/p' "$work/server.out")"
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/server.out" "$work/server.err"
  return 1
}

# expect WANT redis-cli ARGS...: redis-cli's output must be exactly WANT.
expect() {
  local want="$1" got
  shift
  got="$(redis-cli -p "$port" "$@" 2>&1)"
  if [ "$got" != "$want" ]; then
    printf 'redis-cli %s\n  wanted: %q\n  got:    %q\n' "$*" "$want" "$got"
    return 1
  fi
}

redis_cli_checks() {
  expect "PONG" PING &&
    expect "40" LEADERBOARD.ADD cli:board ann 40 &&
    expect "55" LEADERBOARD.ADD cli:board bob 55 &&
    expect "$(printf 'bob\n55\nann\n40')" LEADERBOARD.TOPN cli:board 10 &&
    expect "1" LEADERBOARD.RANK cli:board bob &&
    expect "" LEADERBOARD.RANK cli:board nobody &&
    expect "ERR points must be an integer" LEADERBOARD.ADD cli:board ann lots &&
    expect "ERR n must be an integer from 1 to 100" LEADERBOARD.TOPN cli:board 0 &&
    expect "ERR wrong number of arguments for 'leaderboard.add' command" LEADERBOARD.ADD cli:board &&
    expect "$(printf 'bob\n55\nann\n40')" ZREVRANGE cli:board 0 -1 WITHSCORES &&
    expect "$(printf '1\n1')" RATELIMIT.HIT cli:rl 2 60000 &&
    expect "$(printf '1\n0')" RATELIMIT.HIT cli:rl 2 60000 &&
    expect "$(printf '0\n0')" RATELIMIT.HIT cli:rl 2 60000 &&
    # Whole replies are captured before they are searched: with pipefail, a reader
    # that stops early (grep -q, head) would fail the step on redis-cli's SIGPIPE.
    local info cmds
    info="$(redis-cli -p "$port" COMMAND INFO leaderboard.add)" &&
    [ "${info%%$'\n'*}" = "leaderboard.add" ] &&
    grep -qx denyoom <<<"$info" &&
    cmds="$(redis-cli -p "$port" COMMAND)" &&
    grep -qx ratelimit.hit <<<"$cmds" &&
    expect "cli:board" COMMAND GETKEYS LEADERBOARD.RANK cli:board bob
}

# stop_server [shutdown]: SIGTERM, or a client's SHUTDOWN; the host must exit 0.
stop_server() {
  if [ "${1:-}" = shutdown ]; then
    redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1
  else
    kill -TERM "$server_pid"
  fi
  wait "$server_pid"
  local rc=$?
  server_pid=""
  if [ "$rc" -ne 0 ] || [ -s "$work/server.vg" ] || ! grep -qx stopped "$work/server.out"; then
    echo "server exit status $rc"
    cat "$work/server.out" "$work/server.err" "$work/server.vg"
    return 1
  fi
}

if start_server; then
  passed=$((passed + 1))
  echo "ok   examples/c/server started on port $port (under valgrind)"
  step "redis-cli drives the C host's custom commands" redis_cli_checks
  step "redis-py drives the C host's custom commands (RESP2 and RESP3)" python3 tests/c/clients.py "$port"
  step "examples/c/server stops cleanly on SIGTERM, valgrind clean" stop_server
else
  failed=$((failed + 1))
  echo "FAIL examples/c/server did not start"
fi
if start_server; then
  step "examples/c/server exits on a client's SHUTDOWN, valgrind clean" stop_server shutdown
else
  failed=$((failed + 1))
  echo "FAIL examples/c/server did not start again"
fi

cmake_consumer() {
  cmake -S tests/c/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug &&
    cmake --build "$work/cmake" &&
    "$work/cmake/hello_shared" &&
    "$work/cmake/hello_static"
}
if command -v cmake >/dev/null 2>&1; then
  step "CMake find_package(kevy): kevy::kevy and kevy::kevy_static" cmake_consumer
else
  echo "skip CMake consumer (cmake is not installed)"
fi

echo "c-abi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
