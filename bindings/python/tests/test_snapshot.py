"""snapshot()/restore(): reset a dataset in memory between tests."""

from __future__ import annotations

import time

import kevy


def load_fixture_data(s: kevy.Server) -> None:
    for i in range(2000):
        s.call("SET", f"user:{i}", f"name-{i}")
    s.call("RPUSH", "queue", "a", "b", "c")
    s.call("HSET", "config", "mode", "test")
    s.call("ZADD", "scores", 1, "x", 2, "y")
    s.call("SADD", "tags", "red", "blue")
    s.call("SET", "temp", "v", "EX", 1000)


def test_restore_brings_the_dataset_back(kevy_db):
    s = kevy_db
    load_fixture_data(s)
    snap = s.snapshot()
    assert len(snap) == 2005
    assert "2005" in repr(snap)
    s.call("FLUSHALL")
    s.call("SET", "junk", "1")
    s.call("RPUSH", "queue", "zzz")
    s.restore(snap)
    assert s.call("DBSIZE") == 2005
    assert s.call("EXISTS", "junk") == 0
    assert s.call("GET", "user:1234") == b"name-1234"
    assert s.call("LRANGE", "queue", 0, -1) == [b"a", b"b", b"c"]
    assert s.call("HGETALL", "config") == {b"mode": b"test"}
    assert s.call("ZSCORE", "scores", "y") == 2.0
    assert s.call("SMEMBERS", "tags") == {b"red", b"blue"}
    assert 990 < s.call("TTL", "temp") <= 1000
    # The snapshot is a copy: changing the server does not change it.
    s.call("FLUSHALL")
    s.restore(snap)
    assert s.call("DBSIZE") == 2005


def test_restore_into_another_server_with_other_shards():
    with kevy.Server(shards=1) as a, kevy.Server(shards=4) as b:
        load_fixture_data(a)
        b.restore(a.snapshot())
        assert b.call("DBSIZE") == 2005
        assert b.call("GET", "user:7") == b"name-7"


def test_restore_is_faster_than_reloading(kevy_db):
    s = kevy_db
    load_fixture_data(s)
    snap = s.snapshot()
    t0 = time.perf_counter()
    s.call("FLUSHALL")
    load_fixture_data(s)
    reload_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    s.restore(snap)
    restore_s = time.perf_counter() - t0
    assert restore_s < reload_s
