"""python -m kevy: --version and --help."""

from __future__ import annotations

import subprocess
import sys

import kevy


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kevy", *args], capture_output=True, text=True, timeout=60)


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"kevy {kevy.__version__} (Redis {kevy.REDIS_VERSION} compatible)"


def test_help_lists_every_option():
    out = run("--help")
    assert out.returncode == 0
    for option in ("--version", "--port", "--shards", "--dir", "--bind", "--clock", "--config NAME=VALUE"):
        assert option in out.stdout, option
    assert "private temporary" in out.stdout


def test_bad_argument_value_is_one_line_and_status_1():
    out = run("--port", "0", "--shards", "-1")
    assert out.returncode == 1
    assert out.stderr.strip() == "kevy: shards must be from 0 to 1024 (0: one per core), not -1"
