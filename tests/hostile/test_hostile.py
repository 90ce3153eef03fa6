"""Hostile input never takes kevy down (issue 12): malformed, truncated, oversized and
NUL-bearing frames on many connections at once, then well-formed clients on every
shard still get answers, a pre-set key is intact and memory stayed bounded. The NUL and
inline cases are compared byte for byte with redis-server."""
import random

import pytest

from conftest import command, drain_all, start_kevy, start_redis

MB = 1024 * 1024

# Reproductions from issue 12, then malformed/truncated/oversized frames.
CORPUS = [
    b"PING\0\r\n",
    b"SET k \0 v\n",
    b"\0\n",
    b"\0" * 1000,
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000000000\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870911\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870911\r\n" + b"x" * 100000,
    b"*2147483647\r\n",
    b"*2147483648\r\n",
    b"*-1\r\n*-7\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$9223372036854775807\r\n",
    b"*1\r\n$99999999999999999999999\r\n",
    b"*1\r\n$4\r\nPI\0G\r\n",
    b"*1\0\r\n",
    b"*1\r\n$4\0\r\n",
    b"*1\r\n\r\n",
    b"*1\r\n\xff\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk",
    b"*2\r\n$3\r\nGET",
    b"$5\r\nhello\r\n",
    b"\r\n\r\n\r\n",
    b'SET "unbalanced\r\n',
    b"SET 'a'b c\r\n",
    b'ECHO "\\x4',
    b"x" * 70000,
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
    b"PING\0" + b"y" * 70000 + b"\r\n",
    b"\x0b\x0c\t PING \x0b\r\n",
    b"*1\r\n$4\r\nQUIT\r\n",
    b"*2\r\n$4\r\nDEL\r\n$4\r\nkeep\r\n"[:-8],  # a truncated DEL of the kept key
]


def random_frames(n, seed):
    """Frames of random bytes (every value), with protocol bytes more likely."""
    rng = random.Random(seed)
    special = b"*$\r\n0123456789-\0 \"'\\x"
    frames = []
    for _ in range(n):
        frame = bytes(rng.randrange(256) if rng.random() < 0.4 else rng.choice(special)
                      for _ in range(rng.randrange(1, 200)))
        frames.append(frame)
    return frames


def healthy(server, connections=8):
    """Fresh clients (landing on every shard) get answers and the kept key is intact."""
    socks = [server.connect() for _ in range(connections)]
    try:
        for s in socks:
            assert command(s, "PING") == b"+PONG\r\n"
            assert command(s, "GET", "keep") == b"$6\r\nintact\r\n"
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("shards", [1, 2])
def test_hostile_frames_do_not_take_kevy_down(shards):
    server = start_kevy("--shards", shards)
    try:
        setup = server.connect()
        assert command(setup, "SET", "keep", "intact") == b"+OK\r\n"
        # The two-command abort: kevy, like Redis, accepts the parameter...
        assert command(setup, "CONFIG", "SET", "proto-max-bulk-len", "9223372036854775807") == b"+OK\r\n"
        baseline = server.status("VmRSS")
        frames = CORPUS * 3 + random_frames(150, 12)
        hostile = []
        for frame in frames:
            s = server.connect()
            s.sendall(frame)
            hostile.append(s)
        # ...and never allocates what a client only announced.
        drain_all(hostile, 1.5)
        assert server.alive()
        healthy(server)
        grown = server.status("VmRSS") - baseline
        assert grown < 100 * MB, f"RSS grew {grown / MB:.1f} MB"
        for s in hostile:
            s.close()
        healthy(server)
        setup.close()
    finally:
        server.stop()


# Inline and NUL cases whose replies (and closes) must be redis-server's, byte for byte.
DIFFERENTIAL = [
    b"PING\0\r\n",
    b"SET k \0 v\n",
    b"\0\n",
    b"PING\r\n\0\n",
    b"\x0bPING\r\n",
    b"PI\x0bNG\r\n",
    b"PING \x0c\r\n",
    b'ECHO "a"\0b\r\n',
    b'ECHO "a"\x0b\r\n',
    b'ECHO "a"\x0bb\r\n',
    b"ECHO x\rb\r\n",
    b"PING\r\r\n",
    b"\r\n\r\nPING\r\n",
    b"PING\n\r\n",
    b"ECHO 'a\\'b'\r\n",
    b'ECHO "\\x41\\n"\r\n',
    b'ECHO "a\r\n',
    b"*1\r\n\r\n",
    b"*1\r\n\n\r\n",
    b"*1\r\n\0\r\n",
    b"*1\0\r\n",
    b"*1x\0\r\n",
    b"*1\r\n$4\0\r\n",
    b"*1\r\n$1\r\n\0\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$-0\r\n",
    b"*-0\r\n",
    b"*01\r\n",
    b"*1\n\r\n",
    b"*0\r\n*-1\r\nPING\r\n",
    b"PING\0" + b"x" * 70000 + b"\r\n",
    b"*1\r\n$" + b"1" * 70000,
]


def replies(server, frames):
    socks = [server.connect() for _ in frames]
    for s, frame in zip(socks, frames):
        s.sendall(frame)
    out = drain_all(socks, 1.0)
    for s in socks:
        s.close()
    return out


def test_inline_and_nul_replies_match_redis():
    kevy = start_kevy("--shards", 1)
    redis = start_redis()
    try:
        got, want = replies(kevy, DIFFERENTIAL), replies(redis, DIFFERENTIAL)
        diffs = [(f[:40], g, w) for f, g, w in zip(DIFFERENTIAL, got, want) if g != w]
        assert not diffs, diffs
    finally:
        kevy.stop()
        redis.stop()
