"""Helpers: start kevy-server (path from $KEVY_SERVER, default the debug build) on a
free port with extra arguments, wait until it listens."""
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_kevy(port, *args):
    proc = subprocess.Popen([BINARY, "--port", str(port), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("kevy-server exited: " + proc.stderr.read().decode())
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("kevy-server did not start")


def stop(proc):
    proc.terminate()
    proc.wait(10)
