"""`.ci/install-deps.sh` (run by test.sh first): on a machine missing the tools,
it asks apt for every package the tests need; with everything present, for nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "install-deps.sh"


def dry_run(path: str) -> dict:
    out = subprocess.run(
        ["/bin/bash", str(SCRIPT), "--dry-run"], env={"PATH": path}, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return {line.split(":", 1)[0]: line.split(":", 1)[1].split() for line in out.splitlines()}


def test_a_bare_machine_gets_every_package(tmp_path):
    # Only a Python without pytest and redis-py: /usr/bin/python3 when the system has
    # one (the apt case), else none at all.
    bare = tmp_path / "bin"
    bare.mkdir()
    if os.path.exists("/usr/bin/python3"):
        (bare / "python3").symlink_to("/usr/bin/python3")
    got = dry_run(str(bare))
    for pkg in ("redis-server", "redis-tools", "valgrind", "pkg-config", "cmake", "g++", "make"):
        assert pkg in got["apt"], (pkg, got)


def test_this_machine_needs_nothing():
    # test.sh ran the script for real before this test: nothing is left to install.
    if not (shutil.which("redis-server") and shutil.which("valgrind") and shutil.which("cmake")):
        return
    got = dry_run(os.environ["PATH"])
    assert got == {"apt": ["(nothing)"], "pip": ["(nothing)"]}, got
