"""RDB compatibility with a real redis-server, both ways.

- kevy-server imports a dump.rdb written by redis-server 7 (compact encodings:
  listpack, intset, quicklist; LZF-compressed strings; TTLs) and serves the same data.
- kevy's per-shard snapshots pass redis-check-rdb, and redis-server loads each of
  them; together they hold exactly the original data.
- SHUTDOWN SAVE from redis-cli stops kevy-server and writes the snapshot.

Needs redis-server, redis-check-rdb and redis-cli on PATH, and the kevy-server
binary ($KEVY_SERVER, default the debug build).
"""
import os
import shutil
import socket
import subprocess
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEVY = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_up(port, proc):
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server did not start")


class Proc:
    def __init__(self, argv, port):
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_up(port, self.proc)
        self.client = redis.Redis(port=port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


def redis_server(directory, dbfilename="dump.rdb"):
    port = free_port()
    return Proc(["redis-server", "--port", str(port), "--dir", str(directory), "--dbfilename", dbfilename,
                 "--save", "", "--appendonly", "no", "--databases", "1"], port)


def kevy_server(directory, shards):
    port = free_port()
    return Proc([KEVY, "--port", str(port), "--shards", str(shards), "--dir", str(directory)], port)


def fill(r):
    r.set("s", "hello")
    r.set("n", 12345)
    r.set("neg", -7)
    r.set("big", "ab" * 5000)  # LZF-compressed by redis-server
    r.set("ttl", "x", px=10**9)
    r.rpush("lsmall", "a", 1, "b", 2**40)
    r.rpush("lbig", *[f"item{i}" * 3 for i in range(3000)])  # several quicklist nodes
    r.rpush("lhuge", "y" * 10000)  # a plain quicklist node
    r.sadd("sint", 1, 2, 3, -5, 2**33)  # intset
    r.sadd("sstr", "a", "b", "c")
    r.sadd("sbig", *[f"m{i}" for i in range(1000)])
    r.hset("hsmall", mapping={"f1": "v1", "f2": 22})  # listpack
    r.hset("hbig", mapping={f"f{i}": f"v{i}" * 10 for i in range(1000)})
    r.zadd("zsmall", {"a": 1.5, "b": -2, "c": 3})  # listpack
    r.zadd("zbig", {f"m{i}": i / 3 for i in range(500)})  # skiplist
    r.zadd("zinf", {"lo": float("-inf"), "hi": float("inf")})


def contents(r):
    """Every key's type, value and whether it has a TTL."""
    out = {}
    for key in r.scan_iter(count=1000):
        t = r.type(key)
        if t == b"string":
            v = r.get(key)
        elif t == b"list":
            v = r.lrange(key, 0, -1)
        elif t == b"set":
            v = sorted(r.smembers(key))
        elif t == b"hash":
            v = sorted(r.hgetall(key).items())
        elif t == b"zset":
            v = r.zrange(key, 0, -1, withscores=True)
        else:
            v = None
        out[key] = (t, v, r.pttl(key) > 0)
    return out


@pytest.fixture
def redis_dump(tmp_path):
    src = tmp_path / "redis"
    src.mkdir()
    srv = redis_server(src)
    try:
        fill(srv.client)
        expected = contents(srv.client)
        srv.client.save()
    finally:
        srv.stop()
    return src / "dump.rdb", expected


def test_kevy_imports_a_redis_dump_and_redis_loads_kevys_snapshots(tmp_path, redis_dump):
    dump, expected = redis_dump
    data = tmp_path / "kevy"
    data.mkdir()
    shutil.copy(dump, data / "dump.rdb")
    kevy = kevy_server(data, shards=3)
    try:
        assert contents(kevy.client) == expected
        assert kevy.client.save()
    finally:
        kevy.stop()
    files = sorted(p.name for p in data.iterdir() if p.name.startswith("dump-"))
    assert files == ["dump-0.rdb", "dump-1.rdb", "dump-2.rdb"]

    merged = {}
    for name in files:
        check = subprocess.run(["redis-check-rdb", str(data / name)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "RDB looks OK" in check.stdout, check.stdout
        srv = redis_server(data, dbfilename=name)
        try:
            part = contents(srv.client)
        finally:
            srv.stop()
        assert not set(part) & set(merged), "a key is in two shard files"
        merged.update(part)
    assert merged == expected


def test_shutdown_save_from_redis_cli_writes_the_snapshot(tmp_path):
    data = tmp_path / "kevy"
    data.mkdir()
    kevy = kevy_server(data, shards=2)
    fill(kevy.client)
    expected = contents(kevy.client)
    cli = subprocess.run(["redis-cli", "-p", str(kevy.port), "SHUTDOWN", "SAVE"], capture_output=True, text=True)
    assert kevy.proc.wait(10) == 0, kevy.proc.stderr.read()
    assert cli.stdout.strip() == "", cli.stdout
    again = kevy_server(data, shards=1)
    try:
        assert contents(again.client) == expected
    finally:
        again.stop()
