"""Port ownership: a second kevy-server on a port a running one holds fails with
"Address already in use" instead of silently taking half of the clients."""
import subprocess

import redis

from conftest import BINARY, free_port, start_kevy, stop


def test_second_kevy_server_on_a_held_port_fails():
    port = free_port()
    first = start_kevy(port, "--shards", "2")
    try:
        second = subprocess.run([BINARY, "--port", str(port), "--shards", "2"], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "Address already in use" in second.stderr + second.stdout
        # Every client still reaches the first server.
        for _ in range(20):
            assert redis.Redis(port=port).ping()
    finally:
        stop(first)
