"""kill -9 under a write load with `appendfsync always` loses no acknowledged write,
and redis-check-aof accepts the files kevy wrote (RDB preamble and commands).

Needs redis-check-aof on PATH and the kevy-server binary ($KEVY_SERVER, default the
debug build).
"""
import random
import subprocess
import threading
import time

import pytest
import redis

from test_rdb_redis import KEVY, free_port, wait_up

WRITERS = 4


def start(directory, port):
    proc = subprocess.Popen(
        [KEVY, "--port", str(port), "--shards", "3", "--dir", str(directory),
         "--appendonly", "yes", "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(port, proc)
    return proc


def writer(port, wid, acked, stop):
    r = redis.Redis(port=port, socket_timeout=5)
    i = 0
    try:
        while not stop.is_set():
            key = f"w{wid}:{i}"
            r.set(key, i)
            r.rpush(f"log{wid}", i)
            acked.append(i)  # both writes acknowledged
            i += 1
    except (redis.ConnectionError, redis.TimeoutError):
        pass  # the server was killed


@pytest.mark.parametrize("run", range(3))
def test_kill_9_loses_no_acknowledged_write(tmp_path, run):
    port = free_port()
    proc = start(tmp_path, port)
    stop = threading.Event()
    acked = [[] for _ in range(WRITERS)]
    threads = [threading.Thread(target=writer, args=(port, w, acked[w], stop)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.4, 1.2))
    proc.kill()  # SIGKILL: no flush, no goodbye
    proc.wait()
    stop.set()
    for t in threads:
        t.join(10)
    assert sum(len(a) for a in acked) > 50, "the load ran"

    for f in sorted(tmp_path.glob("appendonly-*.aof")):
        check = subprocess.run(["redis-check-aof", str(f)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    port = free_port()
    proc = start(tmp_path, port)
    try:
        r = redis.Redis(port=port)
        for w in range(WRITERS):
            done = acked[w]
            if not done:
                continue
            log = [int(x) for x in r.lrange(f"log{w}", 0, -1)]
            # Everything acknowledged is there, in order; at most the one write in
            # flight at the kill may be there too.
            assert log[:len(done)] == done, f"writer {w}"
            assert len(log) <= len(done) + 1
            for i in random.sample(done, min(50, len(done))):
                assert r.get(f"w{w}:{i}") == str(i).encode()
    finally:
        proc.terminate()
        proc.wait(10)
