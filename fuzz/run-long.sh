#!/usr/bin/env bash
# Coverage-guided fuzzing of kevy for humans: builds the libFuzzer targets (stable
# rustc: SanitizerCoverage through -C flags, no nightly) and runs each for N minutes.
#   fuzz/run-long.sh [MINUTES_PER_TARGET] [TARGET...]      (default 10, every target)
# New inputs go to fuzz/corpus-work/<target>/ (ignored by git; copy the small, telling
# ones into fuzz/corpus/<target>/); crashes, hangs and OOMs to fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
minutes="${1:-10}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(resp_multibulk resp_inline rdb_load aof_load dispatch)
. ./build.env
cargo build --release --target "$FUZZ_TARGET_TRIPLE" --bins
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus-work/$t" "artifacts/$t"
  echo "== $t: $minutes min"
  # -timeout: a hang (seconds per input); -rss_limit_mb / -malloc_limit_mb: runaway memory.
  "target/$FUZZ_TARGET_TRIPLE/release/$t" "corpus-work/$t" "corpus/$t" \
    -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="artifacts/$t/" -print_final_stats=1 || status=1
done
exit "$status"
