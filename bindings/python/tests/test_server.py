"""kevy.Server: starting, in-process calls and their value mapping, errors, stopping."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

import pytest

import kevy
from conftest import has_command


def test_starts_on_a_free_port_and_answers_over_tcp():
    with kevy.Server() as server:
        assert server.port > 0
        assert server.host == "127.0.0.1"
        assert server.url == f"redis://127.0.0.1:{server.port}"
        assert server.shards == 2
        assert server.running
        with socket.create_connection((server.host, server.port)) as s:
            s.sendall(b"PING\r\n")
            assert s.recv(100) == b"+PONG\r\n"
    assert not server.running


def test_reply_mapping(kevy_db):
    s = kevy_db
    ok = s.call("SET", "k", "v")
    assert ok == "OK" and isinstance(ok, kevy.Status) and isinstance(ok, str)
    assert s.call("GET", "k") == b"v"
    assert s.call("GET", "missing") is None
    assert s.call("INCRBY", "n", 5) == 5
    assert s.call("ZADD", "z", 1.5, "a") == 1
    assert s.call("ZSCORE", "z", "a") == 1.5
    s.call("HSET", "h", "f", "x", "g", "y")
    assert s.call("HGETALL", "h") == {b"f": b"x", b"g": b"y"}
    s.call("SADD", "s", "a", "b")
    assert s.call("SMEMBERS", "s") == {b"a", b"b"}
    s.call("RPUSH", "l", "a", "b")
    assert s.call("LRANGE", "l", 0, -1) == [b"a", b"b"]
    assert s.call("PING") == kevy.Status("PONG")
    assert repr(kevy.Status("OK")) == "Status('OK')"


def test_argument_types(kevy_db):
    s = kevy_db
    s.call(b"SET", bytearray(b"ba"), "é")
    assert s.call("GET", "ba") == "é".encode()
    s.call("SET", "i", 12345678901234567890)
    assert s.call("GET", "i") == b"12345678901234567890"
    s.call("SET", "f", 0.1)
    assert s.call("GET", "f") == b"0.1"
    with pytest.raises(TypeError):
        s.call("SET", "k", True)
    with pytest.raises(TypeError):
        s.call("SET", "k", None)
    with pytest.raises(TypeError):
        s.call("SET", "k", ["a"])
    with pytest.raises(TypeError):
        s.call()


def test_error_replies_raise_response_error(kevy_db):
    s = kevy_db
    s.call("SET", "k", "v")
    with pytest.raises(kevy.ResponseError, match="^WRONGTYPE"):
        s.call("LPUSH", "k", "x")
    with pytest.raises(kevy.ResponseError, match="unknown command"):
        s.call("NOSUCHCOMMAND")
    with pytest.raises(kevy.Error):
        s.call("GET")
    assert issubclass(kevy.ResponseError, kevy.Error)
    assert issubclass(kevy.Error, Exception)


def test_config_keywords_and_mapping():
    with kevy.Server(shards=1, config={"maxclients": 50, "hz": "20"}, data_dir="/tmp") as s:
        assert s.shards == 1
        assert s.call("CONFIG", "GET", "maxclients") in ({b"maxclients": b"50"}, [b"maxclients", b"50"])
        assert s.call("CONFIG", "GET", "dir") in ({b"dir": b"/tmp"}, [b"dir", b"/tmp"])


def test_bad_config_raises_config_error():
    with pytest.raises(kevy.ConfigError, match="nosuchparam"):
        kevy.Server(config={"nosuchparam": "1"})
    with pytest.raises(kevy.ConfigError):
        kevy.Server(config={"clock": "sundial"})
    # The keyword argument itself is checked first, as a ValueError naming it.
    with pytest.raises(ValueError, match="^clock must be"):
        kevy.Server(clock="sundial")
    with pytest.raises(TypeError):
        kevy.Server(config=["port"])


def test_taken_port_raises_start_error():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        with pytest.raises(kevy.StartError):
            kevy.Server(port=holder.getsockname()[1])
    finally:
        holder.close()


def test_port_held_by_another_kevy_raises_start_error():
    # Two kevy servers on one port would silently split the clients (SO_REUSEPORT):
    # the second one is refused instead, in this process as in another.
    with kevy.Server(shards=2) as first:
        with pytest.raises(kevy.StartError, match="Address already in use"):
            kevy.Server(port=first.port, shards=2)
        child = subprocess.run(
            [sys.executable, "-c", f"import kevy; kevy.Server(port={first.port})"],
            capture_output=True, text=True, timeout=60,
        )
        assert child.returncode != 0 and "Address already in use" in child.stderr, child.stderr


def test_stopped_server_refuses_calls():
    s = kevy.Server()
    s.stop()
    s.stop()  # again: nothing
    with pytest.raises(kevy.ClosedError):
        s.call("PING")
    with pytest.raises(kevy.ClosedError):
        s.snapshot()
    assert "stopped" in repr(s)


def test_many_servers_at_once_are_independent():
    servers = [kevy.Server(shards=1) for _ in range(10)]
    try:
        assert len({s.port for s in servers}) == 10
        for i, s in enumerate(servers):
            s.call("SET", "who", i)
        assert [s.call("GET", "who") for s in servers] == [str(i).encode() for i in range(10)]
    finally:
        for s in servers:
            s.stop()


def test_dropping_a_server_releases_its_port():
    s = kevy.Server()
    port = s.port
    del s
    # The port is free again: a new listener can take it.
    with kevy.Server(port=port) as again:
        assert again.port == port


def test_shutdown_from_a_client_stops_running(kevy_fresh_server, caplog):
    s = kevy_fresh_server
    caplog.set_level(logging.WARNING, logger="kevy")
    if not has_command(s, "shutdown"):
        pytest.skip("this kevy has no SHUTDOWN yet")
    with socket.create_connection((s.host, s.port)) as c:
        c.sendall(b"SHUTDOWN NOSAVE\r\n")
        c.settimeout(5)
        try:
            c.recv(100)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while s.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not s.running
    # kevy's log lines reach the Python logger "kevy".
    assert any("shutdown" in r.getMessage() for r in caplog.records if r.name == "kevy")


def test_persistence_survives_a_restart(tmp_path):
    with kevy.Server(data_dir=tmp_path) as s:
        if not has_command(s, "save"):
            pytest.skip("this kevy has no persistence yet")
        s.call("SET", "kept", "yes")
        s.call("RPUSH", "list", "a", "b")
        assert s.call("SAVE") == "OK"
    assert any(tmp_path.iterdir())
    with kevy.Server(data_dir=tmp_path) as again:
        assert again.call("GET", "kept") == b"yes"
        assert again.call("LRANGE", "list", 0, -1) == [b"a", b"b"]


def test_connection_state_commands_need_a_client(kevy_db):
    # In-process calls have no connection: MULTI/EXEC (or, before kevy has them, an
    # unknown command) answer with an error, never a half-open transaction.
    for cmd in (["MULTI"], ["EXEC"]):
        with pytest.raises(kevy.ResponseError):
            kevy_db.call(*cmd)
    assert kevy_db.call("SET", "a", "1") == "OK"
