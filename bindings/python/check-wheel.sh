#!/usr/bin/env bash
# Installs a built kevy wheel into a brand-new virtualenv (no system site packages,
# no network, PATH holding nothing but the virtualenv: no cargo, no compiler) and
# checks that `import kevy` starts a server and answers, and that pytest's plugin
# entry point is declared. Called by test.sh after build-wheel.sh.
#
#   bindings/python/check-wheel.sh bindings/python/target/wheels/kevy_server-*.whl
set -euo pipefail
wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

python3 -m venv "$fresh/venv"
cd "$fresh"
env -i HOME="$fresh" PATH="$fresh/venv/bin" python -m pip install --quiet --no-index --no-deps "$wheel"
env -i HOME="$fresh" PATH="$fresh/venv/bin" python - <<'PY'
import importlib.metadata
import shutil

assert shutil.which("cargo") is None and shutil.which("rustc") is None and shutil.which("cc") is None, "Rust on PATH"
import kevy

with kevy.Server(shards=1) as server:
    assert server.call("SET", "k", "v") == "OK"
    assert server.call("GET", "k") == b"v"
dist = importlib.metadata.distribution("kevy-server")
assert dist.version == kevy.__version__, (dist.version, kevy.__version__)
assert any(ep.group == "pytest11" and ep.value == "kevy.pytest_plugin" for ep in dist.entry_points)
print(f"ok   wheel {dist.metadata['Name']} {dist.version} installs and imports without Rust (kevy from {kevy.__file__})")
PY
