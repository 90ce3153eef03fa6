"""redis-py against the embedded server: every data type, pipelines, transactions,
pub/sub and blocking pops, as an application would use them."""

from __future__ import annotations

import threading
import time

import pytest

from conftest import has_command

redis = pytest.importorskip("redis")


def test_five_line_script():
    import kevy
    import redis as redis_py

    with kevy.Server() as server:
        r = redis_py.Redis.from_url(server.url)
        r.set("greeting", "hello")
        assert r.get("greeting") == b"hello"
        assert server.call("GET", "greeting") == b"hello"
        r.close()


def test_strings(kevy_redis):
    r = kevy_redis
    assert r.set("s", "v") is True
    assert r.get("s") == b"v"
    assert r.append("s", "w") == 2
    assert r.incr("n") == 1 and r.incrby("n", 10) == 11
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.mset({"a": 1, "b": 2, "c": 3}) is True
    assert r.mget("a", "b", "c", "nope") == [b"1", b"2", b"3", None]
    assert r.getrange("s", 0, 0) == b"v"
    assert r.setnx("s", "x") is False
    assert r.strlen("s") == 2


def test_lists(kevy_redis):
    r = kevy_redis
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert r.lpop("l") == b"z" and r.rpop("l") == b"c"
    assert r.llen("l") == 2
    assert r.lindex("l", 1) == b"b"
    assert r.lmove("l", "l2", "LEFT", "RIGHT") == b"a"


def test_hashes(kevy_redis):
    r = kevy_redis
    assert r.hset("h", mapping={"f1": "a", "f2": "b"}) == 2
    assert r.hget("h", "f1") == b"a"
    assert r.hgetall("h") == {b"f1": b"a", b"f2": b"b"}
    assert r.hincrby("h", "n", 3) == 3
    assert sorted(r.hkeys("h")) == [b"f1", b"f2", b"n"]
    assert r.hdel("h", "f1") == 1 and r.hlen("h") == 2


def test_sets(kevy_redis):
    r = kevy_redis
    assert r.sadd("s1", "a", "b", "c") == 3
    r.sadd("s2", "b", "c", "d")
    assert r.smembers("s1") == {b"a", b"b", b"c"}
    assert r.sinter("s1", "s2") == {b"b", b"c"}
    assert r.sunion("s1", "s2") == {b"a", b"b", b"c", b"d"}
    assert r.sismember("s1", "a") and not r.sismember("s1", "d")
    assert r.scard("s1") == 3


def test_sorted_sets(kevy_redis):
    r = kevy_redis
    assert r.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert r.zrange("z", 0, -1) == [b"a", b"b", b"c"]
    assert r.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)]
    assert r.zscore("z", "b") == 2.0
    assert r.zincrby("z", 5, "a") == 6.0
    assert r.zrank("z", "a") == 2
    assert r.zrangebyscore("z", 2, 3) == [b"b", b"c"]


def test_keys_and_expiry(kevy_redis):
    r = kevy_redis
    r.set("k1", "v")
    r.set("k2", "v", ex=100)
    assert sorted(r.keys("k*")) == [b"k1", b"k2"]
    assert 99 <= r.ttl("k2") <= 100
    assert r.ttl("k1") == -1
    assert r.expire("k1", 50) and r.persist("k1")
    assert r.type("k1") == b"string"
    assert r.exists("k1", "k2", "k3") == 2
    assert r.delete("k1", "k2") == 2
    assert r.dbsize() == 0


def test_pipeline_without_transaction(kevy_redis):
    pipe = kevy_redis.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"p{i}", i)
    pipe.get("p42")
    pipe.incr("p1")
    out = pipe.execute()
    assert out[:100] == [True] * 100
    assert out[100:] == [b"42", 2]


def test_pipeline_with_transaction(kevy_db, kevy_redis):
    if not has_command(kevy_db, "multi"):
        pytest.skip("this kevy has no MULTI/EXEC yet")
    with kevy_redis.pipeline() as pipe:
        pipe.set("t1", "a").incr("t2").get("t1")
        assert pipe.execute() == [True, 1, b"a"]


def test_pubsub(kevy_db, kevy_redis):
    if not has_command(kevy_db, "subscribe"):
        pytest.skip("this kevy has no pub/sub yet")
    p = kevy_redis.pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert kevy_redis.publish("news", "hi") >= 1
    msg = p.get_message(timeout=5)
    assert msg is not None and msg["data"] == b"hi"
    p.close()


def test_blocking_pop_while_a_python_thread_pushes(kevy_db, kevy_redis):
    # The pusher runs in-process (server.call) while redis-py waits in BLPOP: the
    # GIL is free while the client blocks, so the thread gets to run.
    def push():
        time.sleep(0.2)
        kevy_db.call("RPUSH", "jobs", "job-1")

    t = threading.Thread(target=push)
    t.start()
    started = time.monotonic()
    assert kevy_redis.blpop(["jobs"], timeout=10) == (b"jobs", b"job-1")
    assert time.monotonic() - started < 5
    t.join()


def test_blocking_pop_from_another_redis_client(kevy_db, kevy_redis):
    other = redis.Redis(host=kevy_db.host, port=kevy_db.port)

    def push():
        time.sleep(0.1)
        other.lpush("q", "x")

    t = threading.Thread(target=push)
    t.start()
    assert kevy_redis.brpop(["q"], timeout=10) == (b"q", b"x")
    t.join()
    other.close()


def test_blocking_pop_times_out(kevy_redis):
    started = time.monotonic()
    assert kevy_redis.blpop(["empty"], timeout=0.2) is None
    assert time.monotonic() - started < 3


def test_in_process_blocking_command_returns_at_once(kevy_db):
    started = time.monotonic()
    assert kevy_db.call("BLPOP", "nothing", 0) is None
    assert time.monotonic() - started < 1


def test_blocking_zset_pop_while_a_python_thread_adds(kevy_db, kevy_redis):
    def add():
        time.sleep(0.1)
        kevy_db.call("ZADD", "prio", 3, "low", 1, "high")

    t = threading.Thread(target=add)
    t.start()
    assert kevy_redis.bzpopmin(["prio"], timeout=10) == (b"prio", b"high", 1.0)
    t.join()


def test_scan_helpers(kevy_redis):
    for i in range(250):
        kevy_redis.set(f"scan:{i}", i)
    kevy_redis.hset("bighash", mapping={f"f{i}": i for i in range(300)})
    assert len(set(kevy_redis.scan_iter(match="scan:*", count=50))) == 250
    assert len(dict(kevy_redis.hscan_iter("bighash", count=40))) == 300


def test_binary_safe_values(kevy_redis, kevy_db):
    blob = bytes(range(256)) * 100
    kevy_redis.set(b"\x00key\xff", blob)
    assert kevy_redis.get(b"\x00key\xff") == blob
    assert kevy_db.call("GET", b"\x00key\xff") == blob
