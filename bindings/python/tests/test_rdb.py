"""Snapshots as Redis RDB bytes: to_bytes / from_bytes, pickle, load_rdb."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import time

import pytest

import kevy


def fill(s: kevy.Server) -> None:
    s.call("SET", "str", "v")
    s.call("SET", "ttl", "t", "EX", 1000)
    s.call("RPUSH", "list", "a", "b")
    s.call("HSET", "hash", "f", "1")
    s.call("SADD", "set", "m")
    s.call("ZADD", "zset", 1.5, "z")
    s.call("XADD", "stream", "1-1", "f", "v")


def check(s: kevy.Server) -> None:
    assert s.call("DBSIZE") == 7
    assert s.call("GET", "str") == b"v"
    assert 990 < s.call("TTL", "ttl") <= 1000
    assert s.call("LRANGE", "list", 0, -1) == [b"a", b"b"]
    assert s.call("HGETALL", "hash") == {b"f": b"1"}
    assert s.call("SMEMBERS", "set") == {b"m"}
    assert s.call("ZSCORE", "zset", "z") == 1.5
    assert s.call("XLEN", "stream") == 1


def test_to_bytes_is_an_rdb_file_and_comes_back(kevy_db):
    fill(kevy_db)
    data = kevy_db.snapshot().to_bytes()
    assert data.startswith(b"REDIS0010")
    snap = kevy.Snapshot.from_bytes(data)
    assert len(snap) == 7
    with kevy.Server(shards=3) as other:
        other.restore(snap)
        check(other)


def test_pickle_round_trip(kevy_db):
    fill(kevy_db)
    snap = pickle.loads(pickle.dumps(kevy_db.snapshot()))
    assert isinstance(snap, kevy.Snapshot)
    kevy_db.call("FLUSHALL")
    kevy_db.restore(snap)
    check(kevy_db)


def test_load_rdb_reads_kevys_own_files(kevy_db, tmp_path):
    fill(kevy_db)
    path = tmp_path / "fixture.rdb"
    path.write_bytes(kevy_db.snapshot().to_bytes())
    kevy_db.call("FLUSHALL")
    kevy_db.call("SET", "extra", "goes")
    kevy_db.load_rdb(path)
    check(kevy_db)
    assert kevy_db.call("EXISTS", "extra") == 0


def test_bad_bytes_and_missing_files(kevy_db, tmp_path):
    with pytest.raises(ValueError, match="not a readable RDB file"):
        kevy.Snapshot.from_bytes(b"hello")
    truncated = kevy_db.snapshot().to_bytes()[:-4]
    with pytest.raises(ValueError):
        kevy.Snapshot.from_bytes(truncated)
    (tmp_path / "junk.rdb").write_bytes(b"REDIS0010\xff")
    with pytest.raises(ValueError, match="junk.rdb"):
        kevy_db.load_rdb(tmp_path / "junk.rdb")
    with pytest.raises(FileNotFoundError):
        kevy_db.load_rdb(tmp_path / "missing.rdb")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_load_rdb_reads_a_redis_server_dump(kevy_db, tmp_path):
    redis = pytest.importorskip("redis")
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        r = redis.Redis(unix_socket_path=str(sock))
        r.set("from", "redis")
        r.rpush("l", 1, 2, 3)
        r.hset("h", mapping={"a": "1"})
        r.save()
        r.close()
    finally:
        proc.terminate()
        proc.wait(30)
    kevy_db.load_rdb(tmp_path / "dump.rdb")
    assert kevy_db.call("GET", "from") == b"redis"
    assert kevy_db.call("LRANGE", "l", 0, -1) == [b"1", b"2", b"3"]
    assert kevy_db.call("HGET", "h", "a") == b"1"
    # The same bytes as a Snapshot, for a fixture made once and restored per test.
    assert len(kevy.Snapshot.from_bytes((tmp_path / "dump.rdb").read_bytes())) == 3
