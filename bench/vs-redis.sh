#!/usr/bin/env bash
# kevy-server throughput relative to redis-server: bench/throughput.sh with kevy on
# 2 shards by default (GET/SET at -P 1 and -P 16, 50 clients).
#
# Usage: bench/vs-redis.sh [throughput.sh options, e.g. --reps 5]
#   SHARDS=N   kevy shard threads (default 2)
set -euo pipefail
SHARDS=${SHARDS:-2} exec "$(dirname "$0")/throughput.sh" "$@"
