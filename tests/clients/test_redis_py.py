"""redis-py and redis-cli against kevy-server --shards 2, as a user would use them."""
import subprocess
import threading

import pytest

redis = pytest.importorskip("redis")


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, kevy_port):
    client = redis.Redis(port=kevy_port, protocol=request.param, decode_responses=True)
    client.flushall()
    yield client
    client.close()


def test_strings_and_counters(r):
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == "hello"
    assert r.set("greeting", "x", nx=True) is None
    assert r.incr("hits") == 1
    assert r.incrby("hits", 41) == 42
    assert r.incrbyfloat("f", 0.5) == 0.5
    assert r.append("greeting", " world") == 11
    assert r.getrange("greeting", 0, 4) == "hello"
    assert r.strlen("greeting") == 11


def test_multi_key_commands_span_shards(r):
    data = {f"user:{i}": str(i) for i in range(50)}
    assert r.mset(data) is True
    assert r.mget(list(data)) == list(data.values())
    assert r.exists(*data) == 50
    assert r.delete(*list(data)[:10]) == 10
    assert r.dbsize() == 40
    assert sorted(r.keys("user:*")) == sorted(list(data)[10:])
    assert sorted(r.scan_iter(match="user:*", count=7)) == sorted(list(data)[10:])
    assert r.rename("user:10", "renamed") is True
    assert r.get("renamed") == "10"


def test_expiry(r):
    r.set("session", "abc", ex=100)
    assert 99 <= r.ttl("session") <= 100
    assert r.persist("session") is True
    assert r.ttl("session") == -1
    r.set("short", "v", px=50)
    import time
    time.sleep(0.1)
    assert r.get("short") is None


def test_pipeline_keeps_order(r):
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set(f"k{i}", i)
        pipe.get(f"k{i}")
    replies = pipe.execute()
    assert replies[1::2] == [str(i) for i in range(200)]


def test_server_commands(r):
    r.client_setname("tester")
    assert r.client_getname() == "tester"
    assert r.ping() is True
    assert "redis_version" in r.info("server")
    assert r.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "536870912"}
    assert r.config_set("hz", 20) is True
    assert r.config_get("hz") == {"hz": "20"}
    assert isinstance(r.time()[0], int)
    assert any(c["name"] == "tester" for c in r.client_list())


def test_errors_are_raised(r):
    r.set("s", "notanumber")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("s")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCOMMAND", "a")


def test_concurrent_clients(kevy_port):
    errors = []

    def work(n):
        c = redis.Redis(port=kevy_port)
        try:
            for i in range(200):
                c.set(f"t{n}:{i}", i)
                assert c.get(f"t{n}:{i}") == str(i).encode()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_redis_cli(kevy_port):
    def cli(*args):
        return subprocess.run(["redis-cli", "-p", str(kevy_port), *args], capture_output=True, text=True).stdout
    assert cli("SET", "cli-key", "v1").strip() == "OK"
    assert cli("GET", "cli-key").strip() == "v1"
    assert cli("-3", "HELLO", "3").count("proto") == 1


def test_data_types(r):
    assert r.hset("user:1", mapping={"name": "ada", "age": "36"}) == 2
    assert r.hgetall("user:1") == {"name": "ada", "age": "36"}
    assert r.rpush("queue", "a", "b", "c") == 3
    assert r.lrange("queue", 0, -1) == ["a", "b", "c"]
    assert r.sadd("tags", "x", "y") == 2
    assert r.smembers("tags") == {"x", "y"}
    r.zadd("board", {"ann": 10, "bob": 20, "cid": 15})
    top = [tuple(pair) for pair in r.zrevrange("board", 0, 1, withscores=True)]
    assert top == [("bob", 20.0), ("cid", 15.0)]
    assert r.zrank("board", "cid") == 1
    r.sadd("tags2", "y", "z")
    assert r.sinter("tags", "tags2") == {"y"}



def test_geo_as_an_application_uses_it(r):
    assert r.geoadd("shops", [13.361389, 38.115556, "palermo", 15.087269, 37.502669, "catania"]) == 2
    assert r.geodist("shops", "palermo", "catania", unit="km") == 166.2742
    assert r.geohash("shops", "palermo", "nowhere") == ["sqc8b49rny0", None]
    (lon, lat), missing = r.geopos("shops", "palermo", "nowhere")
    assert (round(lon, 6), round(lat, 6), missing) == (13.361389, 38.115556, None)
    near = r.geosearch("shops", longitude=15, latitude=37, radius=200, unit="km", withdist=True, sort="ASC")
    assert near == [["catania", 56.4413], ["palermo", 190.4424]]
    # The destination may live on another shard than the source.
    assert r.geosearchstore("nearby", "shops", member="palermo", width=400, height=400, unit="km", storedist=True) == 2
    assert r.zrange("nearby", 0, -1) == ["palermo", "catania"]
    assert r.georadius("shops", 15, 37, 100, unit="km", store="closest") == 1
    assert r.zrange("closest", 0, -1) == ["catania"]

def test_blocking_pop_with_a_thread_pushing(kevy_port):
    waiter = redis.Redis(port=kevy_port, decode_responses=True)
    pusher = redis.Redis(port=kevy_port, decode_responses=True)
    waiter.delete("jobs")
    t = threading.Timer(0.2, lambda: pusher.rpush("jobs", "job-1"))
    t.start()
    assert waiter.blpop(["nothing", "jobs"], timeout=5) == ("jobs", "job-1")
    t.join()
    assert waiter.blpop("nothing", timeout=0.1) is None


def test_lock_and_registered_scripts(r):
    # redis-py's Lock acquires with SET NX and releases/extends with Lua scripts
    # (EVALSHA, falling back to EVAL on NOSCRIPT).
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False) is True
    assert r.lock("resource", timeout=5).acquire(blocking=False) is False
    assert lock.extend(5) is True
    assert 5 < r.pttl("resource") / 1000 <= 10
    lock.release()
    assert r.exists("resource") == 0
    with r.lock("resource", timeout=5, blocking_timeout=1):
        assert r.exists("resource") == 1
    assert r.exists("resource") == 0

    add = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1]) + tonumber(ARGV[2])")
    assert add(keys=["counter"], args=[5, 100]) == 105
    r.script_flush()
    assert add(keys=["counter"], args=[5, 0]) == 10  # reloaded after NOSCRIPT
    assert r.script_exists(add.sha) == [True]
    assert r.eval("return {KEYS[1], ARGV[1], 3}", 1, "k", "v") == ["k", "v", 3]
    with pytest.raises(redis.ResponseError, match="user_script:1: boom"):
        r.eval("error('boom')", 0)


def test_transactions(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("tx:a", 1).incr("tx:a").rpush("tx:l", "x", "y").hset("tx:h", "f", "v")
    pipe.mget("tx:a", "tx:missing").lrange("tx:l", 0, -1)
    assert pipe.execute() == [True, 2, 2, 1, ["2", None], ["x", "y"]]
    # A runtime error is reported for its command; the others ran.
    pipe = r.pipeline(transaction=True)
    pipe.set("tx:s", "str").lpush("tx:s", "x").get("tx:s")
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True and results[2] == "str"
    assert isinstance(results[1], redis.ResponseError)
    # A queue-time error aborts the whole transaction.
    pipe = r.pipeline(transaction=True)
    pipe.set("tx:q", 1).execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.get("tx:q") is None


def test_watch_optimistic_locking(r, kevy_port):
    other = redis.Redis(port=kevy_port, decode_responses=True)
    r.set("tx:counter", 0)
    # Another client writes between WATCH and EXEC: WatchError.
    with r.pipeline() as pipe:
        pipe.watch("tx:counter")
        other.set("tx:counter", 100)
        pipe.multi()
        pipe.incr("tx:counter")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    # The usual retry loop, from several threads at once, loses no increment.
    keys = [f"tx:acct:{i}" for i in range(4)]

    def bump(n):
        client = redis.Redis(port=kevy_port, decode_responses=True)

        def txn(pipe):
            values = [int(v or 0) for v in pipe.mget(keys)]
            pipe.multi()
            for k, v in zip(keys, values):
                pipe.set(k, v + 1)

        for _ in range(n):
            client.transaction(txn, *keys)
        client.close()

    threads = [threading.Thread(target=bump, args=(50,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other.mget(keys) == ["200"] * 4
    other.close()
