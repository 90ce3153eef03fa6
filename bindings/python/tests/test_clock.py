"""clock="manual": TTLs, expiry and blocking timeouts follow server.advance()."""

from __future__ import annotations

import threading
import time

import pytest

import kevy


def wait_until_blocked(server: kevy.Server, clients: int = 1) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = server.call("INFO", "clients").decode()
        if f"blocked_clients:{clients}" in info:
            return
        time.sleep(0.01)
    raise AssertionError("no client blocked")


@pytest.mark.kevy(clock="manual")
def test_ttls_follow_the_manual_clock(kevy_fresh_server):
    s = kevy_fresh_server
    assert s.clock == "manual"
    s.call("SET", "session", "token", "EX", 3600)
    time.sleep(0.05)  # real time passing changes nothing
    assert s.call("TTL", "session") == 3600
    s.advance(3599)
    assert s.call("TTL", "session") == 1
    assert s.call("GET", "session") == b"token"
    s.advance(1)
    assert s.call("GET", "session") is None
    assert s.call("EXISTS", "session") == 0


@pytest.mark.kevy(clock="manual")
def test_fractions_of_a_second_and_pexpire(kevy_fresh_server):
    s = kevy_fresh_server
    s.call("SET", "k", "v", "PX", 250)
    s.advance(0.249)
    assert s.call("PTTL", "k") == 1
    s.advance(0.001)
    assert s.call("GET", "k") is None


@pytest.mark.kevy(clock="manual")
def test_expired_keys_are_reaped_without_access(kevy_fresh_server):
    s = kevy_fresh_server
    for i in range(50):
        s.call("SET", f"k{i}", "v", "EX", 10)
    s.call("SET", "forever", "v")
    s.advance(11)
    deadline = time.monotonic() + 5
    while s.call("DBSIZE") > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.call("DBSIZE") == 1


@pytest.mark.kevy(clock="manual")
def test_blocking_timeouts_follow_the_manual_clock(kevy_fresh_server, kevy_fresh_redis):
    result = []

    def wait():
        result.append(kevy_fresh_redis.blpop(["q"], timeout=30))

    t = threading.Thread(target=wait)
    t.start()
    wait_until_blocked(kevy_fresh_server)
    time.sleep(0.2)  # real time passing does not time it out
    assert t.is_alive()
    kevy_fresh_server.advance(30)
    t.join(timeout=10)
    assert not t.is_alive()
    assert result == [None]


@pytest.mark.kevy(clock="manual")
def test_callbacks_see_the_manual_clock(kevy_fresh_server):
    s = kevy_fresh_server
    s.register_command("t.now", lambda ctx: ctx.now_ms, keys=(0, 0, 0))
    before = s.call("t.now")
    s.advance(60)
    assert s.call("t.now") - before == 60_000


def test_advance_needs_a_manual_clock(kevy_db):
    assert kevy_db.clock == "system"
    with pytest.raises(kevy.ConfigError, match="manual"):
        kevy_db.advance(1)


@pytest.mark.kevy(clock="manual")
def test_advance_refuses_negative_time(kevy_fresh_server):
    with pytest.raises(ValueError):
        kevy_fresh_server.advance(-1)
