"""Helpers for the hostile-input tests: start kevy-server (and redis-server for the
differential checks) on free ports, talk raw bytes to them, read their memory use."""
import os
import shutil
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEVY = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, what):
    for _ in range(500):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start-up")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{what} did not start")


class Server:
    """A running server process: its port and pid, and a way to stop it."""

    def __init__(self, argv, what):
        self.port = free_port()
        self.proc = subprocess.Popen(argv + ["--port", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        wait_listening(self.port, self.proc, what)

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def status(self, field):
        """A /proc/PID/status field in bytes (VmRSS, VmHWM)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise KeyError(field)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop on SIGTERM")


def start_kevy(*args):
    return Server([KEVY, *map(str, args)], "kevy-server")


def start_redis(*args):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    return Server(["redis-server", "--save", "", "--appendonly", "no", *map(str, args)], "redis-server")


def command(sock, *args):
    """Sends one RESP command; returns its reply line(s) as raw bytes (simple replies
    and short bulks, which is all these tests need)."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return read_reply(sock)


def read_reply(sock):
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    if buf[:1] == b"$" and not buf.startswith(b"$-1"):
        n = int(buf[1:buf.index(b"\r\n")])
        need = buf.index(b"\r\n") + 2 + n + 2
        while len(buf) < need:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
    return buf


def drain_all(socks, wait):
    """What each socket receives within `wait` seconds (all at once); b'<EOF>' marks a
    close."""
    import selectors

    sel = selectors.DefaultSelector()
    outs = [b""] * len(socks)
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    deadline = time.monotonic() + wait
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(max(0.0, deadline - time.monotonic())):
            i = key.data
            try:
                chunk = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                outs[i] += chunk
            else:
                outs[i] += b"<EOF>"
                sel.unregister(key.fileobj)
    sel.close()
    return outs
