#!/usr/bin/env bash
# Tests of the `kevy` Python package (distribution kevy-server): builds the manylinux
# abi3 wheel with build-wheel.sh (dev profile, to keep CI short), installs it into a
# fresh virtualenv without Rust on PATH (check-wheel.sh) and into a scratch one,
# checks the type stubs with mypy's stubtest, and runs the pytest suite in tests/ (redis-py against the embedded
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

# pytest-asyncio: the plugin's kevy_async_redis fixture is tested when it is there.
python -c 'import pytest_asyncio' 2>/dev/null || python -m pip install --quiet pytest-asyncio || echo "pytest-asyncio unavailable: the asyncio fixture is not tested"
# auditwheel double-checks the wheel's manylinux tag when pip can get it.
python -c 'import auditwheel' 2>/dev/null || python -m pip install --quiet auditwheel || echo "auditwheel unavailable: maturin's own tag check only"

echo "== building the kevy wheel ($profile, manylinux abi3: build-wheel.sh)"
rm -rf target/wheels
wheel="$(KEVY_PROFILE="$profile" ./build-wheel.sh target/wheels)"
python -m pip install --quiet --no-deps --force-reinstall "$wheel"

echo "== the wheel in a fresh virtualenv without Rust"
./check-wheel.sh "$wheel"

echo "== type stubs (mypy stubtest)"
if python -c 'import mypy' 2>/dev/null || python -m pip install --quiet mypy; then
  # Run outside the source tree so the installed package is the one checked.
  (cd "$venv" && python -m mypy.stubtest kevy && python -m mypy --strict -p kevy)
else
  echo "mypy unavailable: stubs not checked"
fi

echo "== pytest"
python -m pytest -q -p no:cacheprovider tests "$@"
