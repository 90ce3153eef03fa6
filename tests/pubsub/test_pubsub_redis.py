"""Pub/sub, differential: subscribers spread over kevy's shards and a publisher on
another connection, the same script against redis-server 7; every reply and every
frame a subscriber receives is compared byte for byte, in RESP2 and in RESP3.
"""
import socket
import subprocess
import time

import pytest

from test_notifications import KEVY, free_port, start

SUBSCRIBERS = 6


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        self.sock.settimeout(5)
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def _take(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        """One complete RESP2/RESP3 value, as raw bytes."""
        line = self._line()
        kind, head = line[:1], line[1:-2]
        if kind in b"$=!":
            n = int(head)
            return line if n < 0 else line + self._take(n + 2)
        if kind in b"*~>%|":
            n = int(head)
            items = 2 * n if kind in b"%|" else n
            return line + b"".join(self.frame() for _ in range(max(items, 0)))
        return line

    def cmd(self, *args):
        self.send(*args)
        return self.frame()


def script(port, proto):
    """Runs the scenario on one server; returns everything observed, in order."""
    seen = []
    subs = [Conn(port) for _ in range(SUBSCRIBERS)]
    for s in subs:
        if proto == 3:
            assert s.cmd("HELLO", 3)[:1] == b"%"
        seen.append(s.cmd("SUBSCRIBE", "news"))
        seen.append(s.cmd("PSUBSCRIBE", "n*"))
        seen.append(s.cmd("SSUBSCRIBE", "zone"))
        seen.append(s.cmd("PING"))
        seen.append(s.cmd("GET", "k"))
    pub = Conn(port)
    for i in range(20):
        seen.append(pub.cmd("PUBLISH", "news", f"m{i}"))
    seen.append(pub.cmd("PUBLISH", "nothing-here", "x"))
    seen.append(pub.cmd("PUBLISH", "nx", "p"))
    seen.append(pub.cmd("SPUBLISH", "zone", "z"))
    seen.append(pub.cmd("PUBSUB", "NUMSUB", "news", "zone"))
    seen.append(pub.cmd("PUBSUB", "SHARDNUMSUB", "zone"))
    seen.append(pub.cmd("PUBSUB", "NUMPAT"))
    seen.append(pub.cmd("PUBSUB", "CHANNELS"))
    for s in subs:
        # 20 x (message + pmessage), then nx's pmessage, then the smessage.
        for _ in range(20 * 2 + 2):
            seen.append(s.frame())
        seen.append(s.cmd("UNSUBSCRIBE", "news"))
        seen.append(s.cmd("PUNSUBSCRIBE", "n*"))
        seen.append(s.cmd("SUNSUBSCRIBE", "zone"))
        seen.append(s.cmd("PING"))
    seen.append(pub.cmd("PUBLISH", "news", "late"))
    seen.append(pub.cmd("PUBSUB", "NUMPAT"))
    return seen


@pytest.fixture
def ports():
    rp, kp = free_port(), free_port()
    procs = [
        start(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no", "--databases", "1"], rp),
        start([KEVY, "--port", str(kp), "--shards", "3"], kp),
    ]
    yield rp, kp
    for p in procs:
        p.terminate()
        p.wait(10)


@pytest.mark.parametrize("proto", [2, 3])
def test_pubsub_matches_redis_byte_for_byte(ports, proto):
    rp, kp = ports
    expected = script(rp, proto)
    got = script(kp, proto)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"step {i}: kevy {g!r} redis {e!r}"

