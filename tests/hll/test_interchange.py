"""HyperLogLog strings move between kevy-server (3 shards) and redis-server 7 through
GET/SET: the same PFADDs give the same bytes on both, an HLL built on one server counts
and merges the same on the other, and PFADD/PFMERGE signal the same keyspace events.
"""
import os
import random
import socket
import subprocess
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEVY = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))
# Sizes on both sides of the sparse -> dense promotion (about 2000 elements at the
# default hll-sparse-max-bytes of 3000).
SIZES = [0, 1, 7, 100, 1000, 2500, 30000]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


@pytest.fixture(scope="module")
def servers():
    rp, kp = free_port(), free_port()
    procs = [
        start(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no", "--databases", "1"], rp),
        start([KEVY, "--port", str(kp), "--shards", "3"], kp),
    ]
    yield redis.Redis(port=rp), redis.Redis(port=kp)
    for p in procs:
        p.terminate()
        p.wait(10)


@pytest.fixture
def both(servers):
    for r in servers:
        r.flushall()
        r.config_set("hll-sparse-max-bytes", 3000)
    return servers


def elements(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(f"el:{seed}:{i}".encode())
        elif kind == 1:
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 24))))
        else:
            out.append(str(rng.random()).encode())
    return out


def pfadd_batches(r, key, items, batch=500):
    replies = [r.pfadd(key)] if not items else []
    for i in range(0, len(items), batch):
        replies.append(r.pfadd(key, *items[i:i + batch]))
    return replies


@pytest.mark.parametrize("n", SIZES)
def test_same_adds_give_the_same_bytes(both, n):
    rds, kvy = both
    items = elements(n, n)
    assert pfadd_batches(kvy, "h", items) == pfadd_batches(rds, "h", items)
    assert kvy.get("h") == rds.get("h")
    assert kvy.pfcount("h") == rds.pfcount("h")
    # The cached count is written into the string the same way.
    assert kvy.get("h") == rds.get("h")
    assert kvy.execute_command("PFDEBUG", "ENCODING", "h") == rds.execute_command("PFDEBUG", "ENCODING", "h")


@pytest.mark.parametrize("n", SIZES)
def test_redis_bytes_count_and_grow_in_kevy(both, n):
    rds, kvy = both
    items = elements(n, 100 + n)
    pfadd_batches(rds, "h", items)
    kvy.set("h", rds.get("h"))
    assert kvy.pfcount("h") == rds.pfcount("h")
    more = elements(300, 7)
    assert kvy.pfadd("h", *more) == rds.pfadd("h", *more)
    assert kvy.get("h") == rds.get("h")


@pytest.mark.parametrize("n", SIZES)
def test_kevy_bytes_count_and_grow_in_redis(both, n):
    rds, kvy = both
    items = elements(n, 200 + n)
    pfadd_batches(kvy, "h", items)
    rds.set("h", kvy.get("h"))
    assert rds.pfcount("h") == kvy.pfcount("h")
    kvy.execute_command("PFDEBUG", "TODENSE", "h")
    rds.execute_command("PFDEBUG", "TODENSE", "h")
    assert kvy.get("h") == rds.get("h")


def test_unions_and_merges_of_copied_hlls(both):
    rds, kvy = both
    # Keys spread over kevy's shards; sparse and dense inputs.
    keys = ["a", "b", "c", "d", "e"]
    for i, key in enumerate(keys):
        pfadd_batches(rds, key, elements([10, 900, 2500, 40, 20000][i], i))
        kvy.set(key, rds.get(key))
    for subset in (keys[:2], keys[1:3], keys, ["a", "nokey", "d"]):
        assert kvy.pfcount(*subset) == rds.pfcount(*subset)
    for dest, sources in (("m1", ["a", "b"]), ("m2", ["a", "d", "b"]), ("c", ["a"]), ("m3", ["c", "e"])):
        assert kvy.pfmerge(dest, *sources) == rds.pfmerge(dest, *sources)
        assert kvy.get(dest) == rds.get(dest), dest
        assert kvy.pfcount(dest) == rds.pfcount(dest)


def test_promotion_follows_hll_sparse_max_bytes(both):
    rds, kvy = both
    for limit in (0, 100, 1000, 6000):
        for r in both:
            r.config_set("hll-sparse-max-bytes", limit)
            r.delete("h", "m")
        items = elements(1500, limit)
        pfadd_batches(kvy, "h", items, batch=50)
        pfadd_batches(rds, "h", items, batch=50)
        assert kvy.get("h") == rds.get("h"), limit
        rds.pfadd("src", *items[:300])
        kvy.set("src", rds.get("src"))
        assert kvy.pfmerge("m", "src") == rds.pfmerge("m", "src")
        assert kvy.get("m") == rds.get("m"), limit


def subscriber_events(r, commands):
    r.config_set("notify-keyspace-events", "KEA")
    sub = r.pubsub()
    sub.psubscribe("__key*__:*")
    assert sub.get_message(timeout=2)["type"] == "psubscribe"
    for argv in commands:
        try:
            r.execute_command(*argv)
        except redis.ResponseError:
            pass
    r.set("zz-marker", 1)
    seen = []
    while True:
        m = sub.get_message(timeout=5)
        if m is None:
            break
        if m["type"] != "pmessage":
            continue
        seen.append((m["channel"], m["data"]))
        if m["channel"] == b"__keyevent@0__:set" and m["data"] == b"zz-marker":
            break
    sub.close()
    r.config_set("notify-keyspace-events", "")
    return sorted(seen)


def test_keyspace_events(both):
    rds, kvy = both
    commands = [
        ["PFADD", "h", "a", "b"], ["PFADD", "h", "a"], ["PFADD", "new"], ["PFCOUNT", "h"],
        ["PFMERGE", "dst", "h", "new"], ["PFMERGE", "dst"], ["PFDEBUG", "TODENSE", "h"],
        ["SET", "s", "x"], ["PFADD", "s", "a"], ["PFMERGE", "s", "h"],
    ]
    assert subscriber_events(kvy, commands) == subscriber_events(rds, commands)


def test_watch_sees_the_writes_redis_signals(both):
    """A WATCHed HLL is touched by what changes it (and by PFCOUNT refreshing its
    cache), not by a PFADD that changes no register or by a read of a fresh cache."""
    results = []
    for port_client in both:
        port = port_client.connection_pool.connection_kwargs["port"]
        watcher = redis.Redis(port=port, single_connection_client=True)
        other = redis.Redis(port=port)
        other.pfadd("h", "a", "b")
        seen = []
        for argv in (["PFCOUNT", "h"], ["PFCOUNT", "h"], ["PFADD", "h", "a"], ["PFADD", "h", "zz"],
                     ["PFDEBUG", "ENCODING", "h"], ["PFMERGE", "h"], ["PFCOUNT", "h", "h"], ["PFADD", "h"]):
            watcher.execute_command("WATCH", "h")
            other.execute_command(*argv)
            watcher.execute_command("MULTI")
            watcher.execute_command("PING")
            seen.append((" ".join(argv), watcher.execute_command("EXEC")))
        watcher.close()
        results.append(seen)
    assert results[1] == results[0]


def hll_fill(r):
    """HLLs of every shape, some with a fresh cached count; returns their keys."""
    keys = []
    for i, n in enumerate([0, 5, 800, 2500, 20000]):
        key = f"hll{i}"
        pfadd_batches(r, key, elements(n, 300 + i))
        keys.append(key)
    r.pfcount("hll2")
    r.pfmerge("merged", "hll1", "hll3")
    return keys + ["merged"]


def snapshot(r, keys):
    return {k: r.get(k) for k in keys}


def run_server(argv, port):
    proc = start(argv, port)
    return proc, redis.Redis(port=port)


def test_rdb_and_aof_carry_hll_bytes(tmp_path):
    """A redis dump with HLLs loads into kevy unchanged; kevy's SAVE and its AOF
    bring the same bytes back after a restart (with another shard count too)."""
    src, data = tmp_path / "redis", tmp_path / "kevy"
    src.mkdir()
    data.mkdir()
    rp = free_port()
    proc, rds = run_server(["redis-server", "--port", str(rp), "--dir", str(src), "--save", "",
                            "--appendonly", "no", "--databases", "1"], rp)
    try:
        keys = hll_fill(rds)
        expected = snapshot(rds, keys)
        rds.save()
    finally:
        proc.terminate()
        proc.wait(10)
    (data / "dump.rdb").write_bytes((src / "dump.rdb").read_bytes())

    def kevy(shards, *extra):
        kp = free_port()
        return run_server([KEVY, "--port", str(kp), "--shards", str(shards), "--dir", str(data), *extra], kp)

    proc, kvy = kevy(3)
    try:
        assert snapshot(kvy, keys) == expected
        assert kvy.save()
    finally:
        proc.terminate()
        proc.wait(10)
    proc, kvy = kevy(2)
    try:
        assert snapshot(kvy, keys) == expected
        kvy.config_set("appendonly", "yes")
        # Let the AOF thread write the files from the keys first (not a timing check:
        # the writes below are logged either way).
        time.sleep(0.3)
        kvy.pfadd("hll1", *elements(50, 1))
        kvy.pfmerge("merged2", "hll0", "hll4")
        expected = snapshot(kvy, keys + ["merged2"])
    finally:
        proc.terminate()
        proc.wait(10)
    proc, kvy = kevy(2, "--appendonly", "yes")
    try:
        assert snapshot(kvy, keys + ["merged2"]) == expected
    finally:
        proc.terminate()
        proc.wait(10)
