#!/usr/bin/env bash
# Tests of the `kevy` Python package: builds a wheel with maturin (dev profile, to
# keep CI short), installs it into a scratch virtualenv, checks the type stubs with
# mypy's stubtest, and runs the pytest suite in tests/ (redis-py against the embedded
# server, the pytest plugin on a sample suite, python -m kevy).
#
# Needs python3 (3.9+), cargo, and pytest, redis-py and maturin (installed into the
# virtualenv from PyPI when the system Python lacks them). KEVY_PYENV overrides the
# virtualenv's folder; KEVY_PROFILE=release builds an optimized wheel.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

venv="${KEVY_PYENV:-$here/target/pyenv}"
profile="${KEVY_PROFILE:-dev}"

# --system-site-packages: reuse pytest/redis/maturin/mypy when the system has them.
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv --system-site-packages "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -c 'import pytest, redis' 2>/dev/null || python -m pip install --quiet pytest redis
command -v maturin >/dev/null 2>&1 || python -m pip install --quiet maturin

echo "== building the kevy wheel ($profile)"
rm -rf target/wheels
maturin build --quiet --profile "$profile" --interpreter "$venv/bin/python" -o target/wheels
python -m pip install --quiet --no-deps --force-reinstall target/wheels/kevy-*.whl

echo "== type stubs (mypy stubtest)"
if python -c 'import mypy' 2>/dev/null || python -m pip install --quiet mypy; then
  # Run outside the source tree so the installed package is the one checked.
  (cd "$venv" && python -m mypy.stubtest kevy && python -m mypy --strict -p kevy)
else
  echo "mypy unavailable: stubs not checked"
fi

echo "== pytest"
python -m pytest -q -p no:cacheprovider tests "$@"
