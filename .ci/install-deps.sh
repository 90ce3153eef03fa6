#!/usr/bin/env bash
# Installs what kevy's tests need when it is missing, so that on a fresh Debian or
# Ubuntu machine (with Rust from rustup) `./test.sh` is the only command to run.
# test.sh calls it first (KEVY_INSTALL=no skips it); .ci/run goes through test.sh.
#
#   redis-server, redis-cli   the differential suite and the client tests
#   valgrind, pkg-config      the C ABI's tests (tests/c) run under the memory checker
#                             and build against kevy.pc; readelf checks the SONAME
#   cmake                     tests/c builds a CMake consumer of the installed package
#   cc, c++, make             the C examples and tests
#   pytest, redis-py          the Python tests (apt's python3-* packages for the
#                             system Python, else pip); python3-venv for the
#                             package's scratch virtualenv, where maturin is installed
#
# Usage: .ci/install-deps.sh [--dry-run]   (--dry-run prints what it would install)
set -euo pipefail

dry_run=""
[ "${1:-}" = "--dry-run" ] && dry_run=1

has() { command -v "$1" >/dev/null 2>&1; }

apt_need=""
pip_need=""
has redis-server && has redis-cli || apt_need="$apt_need redis-server redis-tools"
has valgrind || apt_need="$apt_need valgrind"
has pkg-config || apt_need="$apt_need pkg-config"
has cmake || apt_need="$apt_need cmake"
has readelf || apt_need="$apt_need binutils"
has cc && has c++ && has make || apt_need="$apt_need gcc g++ make"
# The system Python (Debian's /usr/bin/python3) takes apt packages (pip refuses to
# touch it, PEP 668); any other Python (pyenv, a virtualenv) takes pip.
system_python=""
if has python3 && [ "$(python3 -c 'import sys; print(sys.prefix)' 2>/dev/null)" = /usr ]; then
  system_python=1
fi
for mod in pytest redis; do
  if ! python3 -c "import $mod" >/dev/null 2>&1; then
    if [ -n "$system_python" ]; then apt_need="$apt_need python3-$mod"; else pip_need="$pip_need $mod"; fi
  fi
done
if [ -n "$system_python" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_need="$apt_need python3-venv"
fi
has python3 || apt_need="$apt_need python3 python3-venv python3-pytest python3-redis"

if [ -n "$dry_run" ]; then
  echo "apt:${apt_need:- (nothing)}"
  echo "pip:${pip_need:- (nothing)}"
  exit 0
fi
if [ -n "$apt_need" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && has sudo; then sudo="sudo"; fi
  if has apt-get && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "== installing:$apt_need (apt-get; KEVY_INSTALL=no skips this)"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $apt_need
  else
    echo "== missing:$apt_need (no apt-get or no root: install them yourself; tests that need them fail)" >&2
  fi
fi
if [ -n "$pip_need" ]; then
  echo "== installing:$pip_need (pip)"
  python3 -m pip install --quiet $pip_need || echo "== pip could not install$pip_need" >&2
fi
