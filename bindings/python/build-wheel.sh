#!/usr/bin/env bash
# Builds the kevy wheel users install without Rust: one abi3 wheel (CPython 3.9 and
# every later version) for Linux, tagged manylinux_2_34, into OUTDIR (default
# bindings/python/target/wheels), and prints its path.
#
#   bindings/python/build-wheel.sh [OUTDIR]
#   KEVY_PROFILE=dev bindings/python/build-wheel.sh    # what test.sh does: a quicker build
#   pip install bindings/python/target/wheels/kevy_server-*.whl
#
# Why manylinux_2_34: the wheel is linked against this machine's glibc (2.36 on
# Debian 12), and Rust's standard library then needs symbols up to GLIBC_2.34, so
# manylinux_2_34 is the oldest tag it can honestly claim (maturin refuses an older
# one: "too-recent versioned symbols"). An older tag (manylinux2014 = glibc 2.17)
# needs a build inside a manylinux container or with `maturin build --zig`;
# KEVY_MANYLINUX=2014 asks for it when such a toolchain is in use.
#
# Needs cargo and maturin (pip install maturin); `auditwheel show` double-checks
# the tag when auditwheel is installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/target/wheels}"
profile="${KEVY_PROFILE:-release}"
manylinux="${KEVY_MANYLINUX:-manylinux_2_34}"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -f "$out"/kevy_server-*.whl
(cd "$here" && maturin build --quiet --profile "$profile" --compatibility "$manylinux" -o "$out" >&2)
wheel="$(ls "$out"/kevy_server-*-abi3-*.whl)"
if command -v auditwheel >/dev/null 2>&1; then
  tag="$(auditwheel show "$wheel" | tr -d '\n' | sed -n 's/.*consistent with the following platform tag: "\([^"]*\)".*/\1/p')"
  case "$wheel" in
    *"$tag"*) ;;
    *) echo "$0: auditwheel says $wheel is only $tag" >&2; exit 1 ;;
  esac
fi
echo "$wheel"
