"""Starting and stopping: no leaked fds or threads, python -m kevy, interpreter exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import kevy


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    # Shard threads are native: threading.enumerate() does not see them.
    return len(os.listdir("/proc/self/task"))


def test_start_stop_200_times_leaks_nothing():
    with kevy.Server() as warm:  # first use: lazily created process-wide state
        warm.call("PING")
    fds, threads = fd_count(), thread_count()
    for i in range(200):
        s = kevy.Server(shards=2)
        s.register_command("t.one", lambda ctx: 1, keys=(0, 0, 0))
        assert s.call("t.one") == 1
        s.call("SET", "i", i)
        if i % 2:
            s.stop()
        else:
            del s  # dropping stops it too
    assert fd_count() == fds
    assert thread_count() == threads


def test_stopping_closes_client_connections():
    s = kevy.Server()
    c = socket.create_connection((s.host, s.port))
    c.sendall(b"PING\r\n")
    assert c.recv(100) == b"+PONG\r\n"
    s.stop()
    c.settimeout(5)
    try:
        assert c.recv(100) == b""
    except ConnectionResetError:
        pass
    c.close()
    with pytest.raises(OSError):
        socket.create_connection((s.host, s.port), timeout=1).close()


def run_python(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout
    )


def test_interpreter_exit_with_running_servers_and_callbacks():
    out = run_python(
        """
        import kevy, threading
        servers = [kevy.Server() for _ in range(3)]
        for s in servers:
            s.register_command("t.x", lambda ctx: s.port, keys=(0, 0, 0))
            s.call("t.x")
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def start_cli(*args: str) -> "tuple[subprocess.Popen, int]":
    proc = subprocess.Popen(
        [sys.executable, "-m", "kevy", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert "listening on redis://" in line, line + proc.stderr.read()
    port = int(line.split("redis://", 1)[1].split()[0].rsplit(":", 1)[1])
    return proc, port


def ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"PING\r\n")
        return c.recv(100)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_python_m_kevy_stops_cleanly_on_signals(sig):
    proc, port = start_cli("--shards", "2")
    try:
        assert ping(port) == b"+PONG\r\n"
        started = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "kevy stopped" in out
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_python_m_kevy_options():
    proc, port = start_cli("--shards", "3", "--dir", "/tmp", "--config", "maxclients=77")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"CONFIG GET maxclients\r\n")
            time.sleep(0.1)
            assert b"77" in c.recv(200)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_python_m_kevy_bad_option_fails():
    out = subprocess.run(
        [sys.executable, "-m", "kevy", "--port", "0", "--config", "nosuch=1"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 1
    assert "nosuch" in out.stderr
