"""Fixtures: a kevy-server process (path from $KEVY_SERVER, default the debug build)
on a free port with 2 shards, shared by the tests of this folder."""
import os
import socket
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def kevy_port():
    binary = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--shards", "2"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.02)
    else:
        proc.kill()
        raise RuntimeError("kevy-server did not start")
    yield port
    proc.terminate()
    assert proc.wait(10) == 0, "kevy-server should exit cleanly on SIGTERM"
