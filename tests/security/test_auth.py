"""requirepass from the command line: redis-py and redis-cli authenticate with it,
clients without it get NOAUTH, a wrong one WRONGPASS."""
import subprocess

import pytest
import redis

from conftest import free_port, start_kevy, stop


@pytest.fixture(scope="module")
def port():
    port = free_port()
    proc = start_kevy(port, "--shards", "2", "--requirepass", "t0ps3cret")
    yield port
    stop(proc)


def test_redis_py_with_and_without_the_password(port):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port).get("k")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="wrong").ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, username="nobody", password="t0ps3cret").ping()
    r = redis.Redis(port=port, password="t0ps3cret")
    assert r.set("k", "v")
    assert redis.Redis(port=port, username="default", password="t0ps3cret").get("k") == b"v"
    # RESP3: HELLO 3 AUTH default <pw>.
    r3 = redis.Redis(port=port, password="t0ps3cret", protocol=3)
    assert r3.get("k") == b"v"


def test_redis_cli_with_and_without_the_password(port):
    def cli(*args):
        out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    assert cli("PING") == "NOAUTH Authentication required."
    assert cli("-a", "t0ps3cret", "--no-auth-warning", "PING") == "PONG"
    assert cli("--user", "default", "--pass", "t0ps3cret", "--no-auth-warning", "PING") == "PONG"
    assert "WRONGPASS" in cli("-a", "nope", "--no-auth-warning", "PING") + cli("AUTH", "nope")


def test_config_set_requirepass_at_runtime():
    port = free_port()
    proc = start_kevy(port, "--shards", "2")
    try:
        admin = redis.Redis(port=port, single_connection_client=True)
        assert admin.config_set("requirepass", "later")
        assert admin.ping()  # existing connections stay authenticated
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        assert redis.Redis(port=port, password="later").ping()
        assert admin.config_set("requirepass", "")
        assert redis.Redis(port=port).ping()
    finally:
        stop(proc)
