"""The test toolkit: kevy.Redis / kevy.asyncio.Redis (fakeredis-style drop-ins) and
an absolute manual clock (set_time)."""

from __future__ import annotations

import asyncio
import datetime
import gc
import threading
import time

import pytest

import kevy

redis = pytest.importorskip("redis")


def test_redis_starts_a_private_server_that_goes_with_it():
    r = kevy.Redis()
    server = r.kevy_server
    assert isinstance(r, redis.Redis)
    assert server.running and server.shards == 1
    assert r.set("k", "v") is True and r.get("k") == b"v"
    other = kevy.Redis()
    assert other.get("k") is None, "each client has its own dataset"
    r.close()
    assert not server.running
    other_server = other.kevy_server
    del other
    gc.collect()
    assert not other_server.running, "dropping the client stops its server"


def test_redis_on_an_existing_server_leaves_it_running(kevy_db):
    with kevy.Redis(server=kevy_db, decode_responses=True) as r:
        r.set("k", "v")
        assert r.get("k") == "v"
    assert kevy_db.running and kevy_db.call("GET", "k") == b"v"
    with pytest.raises(TypeError):
        kevy.Redis(server=kevy_db, shards=2)


def test_fakeredis_style_usage():
    with kevy.Redis(decode_responses=True) as r:
        # Pipelines, transactional and not.
        with r.pipeline() as p:
            p.set("a", 1).incr("a").lpush("l", "x", "y").lrange("l", 0, -1)
            assert p.execute() == [True, 2, 2, ["y", "x"]]
        with r.pipeline(transaction=False) as p:
            assert p.get("a").exists("l").execute() == ["2", 1]
        # WATCH / MULTI / EXEC with a conflicting write.
        with r.pipeline() as p:
            p.watch("a")
            r.set("a", 100)
            p.multi()
            p.incr("a")
            with pytest.raises(redis.WatchError):
                p.execute()
        # Lua.
        assert r.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "a", 5) == 105
        script = r.register_script("return #KEYS + #ARGV")
        assert script(keys=["x", "y"], args=[1]) == 3
        # Expiry and the manual clock through .kevy_server.
        r.set("t", "v", ex=10)
        assert 0 < r.ttl("t") <= 10
        # Pub/sub.
        ps = r.pubsub()
        ps.subscribe("news")
        assert ps.get_message(timeout=5)["type"] == "subscribe"
        assert r.publish("news", "hello") == 1
        msg = ps.get_message(timeout=5)
        assert msg["type"] == "message" and msg["data"] == "hello"
        ps.close()
        # Blocking pops woken from another thread.
        pusher = threading.Timer(0.05, lambda: r.rpush("q", "job"))
        pusher.start()
        assert r.blpop("q", timeout=30) == ("q", "job")
        pusher.join()


def test_redis_with_a_manual_clock():
    with kevy.Redis(clock="manual") as r:
        r.set("session", "x", ex=60)
        r.kevy_server.advance(60)
        assert r.get("session") is None


def test_asyncio_redis():
    async def main():
        import kevy.asyncio as kevy_asyncio

        r = kevy_asyncio.Redis(decode_responses=True)
        server = r.kevy_server
        assert await r.set("k", "v") is True
        assert await r.get("k") == "v"
        async with r.pipeline() as p:
            assert await p.incr("n").incr("n").execute() == [1, 2]
        ps = r.pubsub()
        await ps.subscribe("c")
        assert (await ps.get_message(timeout=5))["type"] == "subscribe"
        await r.publish("c", "m")
        msg = None
        for _ in range(50):
            msg = await ps.get_message(timeout=1)
            if msg:
                break
        assert msg["data"] == "m"
        await ps.aclose() if hasattr(ps, "aclose") else await ps.close()
        assert await r.eval("return 1 + 1", 0) == 2
        await r.aclose()
        assert not server.running

    asyncio.run(main())


def test_set_time_moves_a_manual_clock_to_an_absolute_time():
    with kevy.Server(clock="manual", shards=1) as s:
        start = s.time
        assert abs(start - time.time()) < 60
        s.call("SET", "k", "v", "EX", 100)
        s.set_time(start + 99)
        assert s.call("TTL", "k") == 1
        assert s.time == pytest.approx(start + 99, abs=0.002)
        s.set_time(datetime.datetime.fromtimestamp(start + 100, tz=datetime.timezone.utc))
        assert s.call("GET", "k") is None
        s.call("SET", "at", "v", "EXAT", int(start) + 500)
        s.set_time(int(start) + 500)
        assert s.call("EXISTS", "at") == 0
        with pytest.raises(ValueError, match="cannot move the clock back"):
            s.set_time(start)
        with pytest.raises(ValueError):
            s.set_time(float("nan"))


def test_set_time_needs_a_manual_clock(kevy_db):
    with pytest.raises(kevy.ConfigError, match="manual clock"):
        kevy_db.set_time(time.time() + 10)
    assert abs(kevy_db.time - time.time()) < 60


def test_inject_error_hits_clients_and_calls_then_goes(kevy_db, kevy_redis):
    kevy_db.call("SET", "k", "v")
    kevy_db.inject_error("GET", "ERR boom", times=2)
    with pytest.raises(redis.ResponseError, match="^boom$"):
        kevy_redis.get("k")
    with pytest.raises(kevy.ResponseError, match="^ERR boom$"):
        kevy_db.call("get", "k")
    assert kevy_redis.get("k") == b"v", "after its times the command runs again"
    assert kevy_redis.set("k", "w") is True, "other commands never failed"


def test_inject_error_forever_inside_transactions_until_cleared(kevy_db, kevy_redis):
    # redis-py's incr() sends INCRBY.
    kevy_db.inject_error("incrby", "READONLY You can't write against a read only replica.", times=None)
    with kevy_redis.pipeline() as p:
        p.set("n", 1).incr("n")
        ok, failed = p.execute(raise_on_error=False)
    assert ok is True and isinstance(failed, redis.ReadOnlyError)
    with pytest.raises(redis.ReadOnlyError):
        kevy_redis.incr("n")
    assert kevy_redis.get("n") == b"1", "a refused write changed nothing"
    kevy_db.clear_faults()
    assert kevy_redis.incr("n") == 2


def test_delay_slows_a_command_down(kevy_db):
    kevy_db.delay("PING", 0.2, times=1)
    t0 = time.monotonic()
    assert kevy_db.call("PING") == "PONG"
    assert time.monotonic() - t0 >= 0.2
    t0 = time.monotonic()
    kevy_db.call("PING")
    with pytest.raises(ValueError):
        kevy_db.delay("PING", -1)


def test_kevy_db_clears_faults_between_tests(pytester):
    pytester.makepyfile(
        """
        import kevy, pytest

        def test_one(kevy_db):
            kevy_db.inject_error("FLUSHALL", "ERR nope", times=None)
            kevy_db.inject_error("GET", "ERR nope", times=None)

        def test_two(kevy_db):
            assert kevy_db.call("GET", "k") is None
        """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_async_fixture(pytester):
    pytest.importorskip("pytest_asyncio")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_async(kevy_async_redis, kevy_db):
            await kevy_async_redis.set("k", "v")
            assert await kevy_async_redis.get("k") == b"v"
            async with kevy_async_redis.pipeline() as p:
                assert await p.incr("n").incr("n").execute() == [1, 2]
            assert kevy_db.call("GET", "n") == b"2"
        """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)
