#!/usr/bin/env bash
# kevy's test command: build the server, run the Rust tests, then compare
# kevy-server with redis-server byte for byte (tests/compat) with 1 and with
# 3 shards, run redis-py/redis-cli against it, the C ABI's tests (tests/c) and the
# Python package's tests (bindings/python).  Needs cargo and python3; what else the
# tests need (redis-server, valgrind, pkg-config, cmake, pytest, redis-py; maturin
# goes into the Python tests' virtualenv) is installed first when missing, by
# .ci/install-deps.sh (apt-get or pip). KEVY_INSTALL=no skips that step.
# The whole run uses the reactor the default `io-uring auto` picks (io_uring where
# the kernel allows it); a second pass of the fast suites runs on the other one
# (KEVY_IO_URING), or says why it cannot.
set -euo pipefail
cd "$(dirname "$0")"

if [ "${KEVY_INSTALL:-yes}" != no ]; then
  .ci/install-deps.sh
fi

cargo build --bin kevy-server
# The fuzz run (kevy-core/tests/fuzz_inputs.rs) gets about 3 minutes here; plain
# `cargo test` gives it 20 s. See fuzz/README.md.
KEVY_FUZZ_SECONDS="${KEVY_FUZZ_SECONDS:-180}" cargo test --workspace

status=0
# The test command's own setup: what .ci/install-deps.sh would install.
python3 -m pytest -q tests/setup || status=1
# redis-py and redis-cli against kevy-server --shards 2.
python3 -m pytest -q tests/clients || status=1
# RDB files both ways with a real redis-server, SHUTDOWN SAVE from redis-cli.
python3 -m pytest -q tests/persist || status=1
# Keyspace notifications compared with redis-server.
python3 -m pytest -q tests/pubsub || status=1
# Hostile clients: malformed frames, limits, idle/slow clients, big values, clients that never read.
python3 -m pytest -q tests/hostile || status=1
# HyperLogLog strings moved between kevy and redis-server with GET/SET.
python3 -m pytest -q tests/hll || status=1
# Security: port ownership, requirepass/AUTH.
python3 -m pytest -q tests/security || status=1

for shards in 1 3; do
  echo "== compat: kevy-server --shards $shards vs redis-server"
  python3 tests/compat/run.py --kevy target/debug/kevy-server --shards "$shards" || status=1
done

# The fast suites again on the other reactor. `auto` uses io_uring where the kernel
# allows it; where it refuses, the whole run above was on epoll and this says so.
uring=$(python3 - <<'PY'
import os, subprocess
env = dict(os.environ, KEVY_IO_URING="on")
p = subprocess.Popen(["target/debug/kevy-server", "--port", "0", "--bind", "127.0.0.1"],
                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
line = p.stdout.readline().strip()
p.kill(); p.wait()
print("yes" if "ready" in line else line or "no output")
PY
)
if [ "$uring" = yes ]; then
  echo "== second pass on epoll (KEVY_IO_URING=off); the run above used io_uring"
  other=off
else
  echo "== io_uring refused here ($uring): the run above used epoll; second pass skipped"
  other=""
fi
if [ -n "$other" ]; then
  export KEVY_IO_URING=$other
  # The integration tests (the lib's own tests do not go through a reactor).
  KEVY_FUZZ_SECONDS=5 cargo test -p kevy-core --test '*' || status=1
  for suite in clients hostile pubsub; do
    python3 -m pytest -q "tests/$suite" || status=1
  done
  python3 tests/compat/run.py --kevy target/debug/kevy-server --shards 3 || status=1
  unset KEVY_IO_URING
fi

# The C ABI: examples and C tests built against include/kevy.h and libkevy, run
# under valgrind.
if [ -x tests/c/run.sh ]; then
  echo "== C ABI tests"
  tests/c/run.sh || status=1
fi

# The Python package: built with maturin into a scratch virtualenv, tested with pytest.
if [ -x bindings/python/test.sh ]; then
  echo "== Python package tests"
  bindings/python/test.sh || status=1
fi
exit "$status"
