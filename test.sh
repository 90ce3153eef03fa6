#!/usr/bin/env bash
# kevy's test command: build the server, run the Rust tests, then compare
# kevy-server with redis-server byte for byte (tests/compat) with 1 and with
# 3 shards, and run redis-py/redis-cli against it.  Needs cargo, python3 (with
# pytest and redis-py) and redis-server on PATH; .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --bin kevy-server
cargo test --workspace

status=0
# redis-py and redis-cli against kevy-server --shards 2.
python3 -m pytest -q tests/clients || status=1

for shards in 1 3; do
  echo "== compat: kevy-server --shards $shards vs redis-server"
  python3 tests/compat/run.py --kevy target/debug/kevy-server --shards "$shards" || status=1
done
exit "$status"
