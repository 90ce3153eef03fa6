"""The pytest plugin, exercised on a sample test suite with pytester."""

from __future__ import annotations

import pytest

pytest.importorskip("redis")

SAMPLE = '''
import pytest

def test_db_starts_empty_1(kevy_db):
    assert kevy_db.call("DBSIZE") == 0
    kevy_db.call("SET", "leftover", "1")

def test_db_starts_empty_2(kevy_db):
    assert kevy_db.call("DBSIZE") == 0
    kevy_db.call("SET", "leftover", "1")

def test_session_server_is_shared(kevy_server, kevy_db):
    assert kevy_server is kevy_db
    assert kevy_server.shards == {shards}

def test_redis_client(kevy_redis, kevy_db):
    kevy_redis.set("a", "1")
    assert kevy_db.call("GET", "a") == b"1"
    assert kevy_redis.connection_pool.connection_kwargs["port"] == kevy_db.port

@pytest.mark.kevy(clock="manual", shards=1)
def test_fresh_server_with_marker(kevy_fresh_server, kevy_server):
    assert kevy_fresh_server.port != kevy_server.port
    assert kevy_fresh_server.clock == "manual" and kevy_fresh_server.shards == 1
    kevy_fresh_server.call("SET", "k", "v", "EX", 10)
    kevy_fresh_server.advance(10)
    assert kevy_fresh_server.call("GET", "k") is None

def test_fresh_redis(kevy_fresh_redis, kevy_fresh_server):
    kevy_fresh_redis.set("x", "y")
    assert kevy_fresh_server.call("GET", "x") == b"y"

def test_fresh_server_data_dir(kevy_fresh_server):
    d = kevy_fresh_server.call("CONFIG", "GET", "dir")
    d = d[b"dir"] if isinstance(d, dict) else d[1]
    assert d.decode().startswith({expect_dir!r})

# The examples of docs/PYTHON.md.
def test_cache(kevy_redis):
    kevy_redis.set("user:1", "ada")
    assert kevy_redis.get("user:1") == b"ada"

@pytest.mark.kevy(clock="manual", shards=1, config={{"maxclients": 10}})
def test_session_expiry(kevy_fresh_server, kevy_fresh_redis):
    kevy_fresh_redis.set("s", "x", ex=60)
    kevy_fresh_server.advance(60)
    assert kevy_fresh_redis.get("s") is None

def test_session_server_data_dir(kevy_db):
    d = kevy_db.call("CONFIG", "GET", "dir")
    d = d[b"dir"] if isinstance(d, dict) else d[1]
    assert d.decode().startswith({expect_dir!r})
'''


def test_sample_suite_passes(pytester):
    pytester.makepyfile(SAMPLE.format(shards=2, expect_dir="/"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)


def test_options(pytester, tmp_path):
    pytester.makepyfile(SAMPLE.format(shards=3, expect_dir=str(tmp_path)))
    result = pytester.runpytest("--kevy-shards", "3", "--kevy-dir", str(tmp_path))
    result.assert_outcomes(passed=10)


def test_help_lists_the_options(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--kevy-shards*", "*--kevy-dir*"])


def test_marker_is_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.kevy*"])
