"""Startup and round-trip benchmark: kevy in-process vs a redis-server subprocess.

Measures, in one run on one machine:
  - start + stop of a kevy.Server (port 0, until it answers), and of a redis-server
    subprocess (free port, until it answers PING, then SIGTERM and wait);
  - a redis-py GET round trip against each;
  - server.call("GET", k) in-process (no socket);
  - a custom command written in Python, through redis-py and through server.call.

Usage: python bench/startup.py [--starts N] [--gets N] [--redis-server PATH]
Build kevy optimized first (pip install ./bindings/python, or KEVY_PROFILE=release
bindings/python/test.sh) - a dev build measures the debug code.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import time
from typing import Callable, List

import redis

import kevy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Callable[[], object], n: int) -> List[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def kevy_start_stop(shards: int) -> None:
    s = kevy.Server(shards=shards)
    # Answering: one PING over TCP, as a client would see it.
    with socket.create_connection((s.host, s.port)) as c:
        c.sendall(b"PING\r\n")
        c.recv(16)
    s.stop()


def redis_start_stop(binary: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.0005)
    proc.terminate()
    proc.wait()


def fmt(samples: List[float], unit: str = "ms") -> str:
    k = 1e3 if unit == "ms" else 1e6
    med = statistics.median(samples) * k
    p90 = sorted(samples)[int(len(samples) * 0.9)] * k
    return f"median {med:8.3f} {unit}   p90 {p90:8.3f} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=50)
    ap.add_argument("--gets", type=int, default=5000)
    ap.add_argument("--redis-server", default=shutil.which("redis-server"))
    args = ap.parse_args()

    print(f"kevy {kevy.__version__}, redis-py {redis.__version__}")
    for shards in (1, 2, 4):
        kevy_start_stop(shards)  # warm-up
        label = f"kevy.Server(shards={shards}) start+stop"
        print(f"{label:<35}" + fmt(timed(lambda: kevy_start_stop(shards), args.starts)))
    if args.redis_server:
        redis_start_stop(args.redis_server)
        print(f"{'redis-server subprocess start+stop':<35}" + fmt(timed(lambda: redis_start_stop(args.redis_server), args.starts)))

    for shards in (1, 2):
        with kevy.Server(shards=shards) as server:
            server.call("SET", "k", "v")
            r = redis.Redis(host=server.host, port=server.port)
            r.get("k")
            label = f"redis-py GET -> kevy (shards={shards})"
            print(f"{label:<35}" + fmt(timed(lambda: r.get("k"), args.gets), "us"))
            label = f"server.call('GET') (shards={shards})"
            print(f"{label:<35}" + fmt(timed(lambda: server.call("GET", "k"), args.gets), "us"))
            # A custom command written in Python: the callback takes the GIL on a shard
            # thread (from redis-py) or on this thread (server.call).
            server.register_command("bench.get", lambda ctx, key: ctx.call("GET", key), arity=2)
            label = f"redis-py Python command (shards={shards})"
            print(f"{label:<35}" + fmt(timed(lambda: r.execute_command("bench.get", "k"), args.gets), "us"))
            label = "server.call Python command"
            print(f"{label:<35}" + fmt(timed(lambda: server.call("bench.get", "k"), args.gets), "us"))
            r.close()
    if args.redis_server:
        port = free_port()
        proc = subprocess.Popen(
            [args.redis_server, "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            r = redis.Redis(port=port)
            while True:
                try:
                    r.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.001)
            r.set("k", "v")
            print(f"{'redis-py GET -> redis-server':<35}" + fmt(timed(lambda: r.get("k"), args.gets), "us"))
            r.close()
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
