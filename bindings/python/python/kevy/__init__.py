"""kevy: a Redis-compatible server inside your Python process.

``kevy.Server()`` starts a real server (shard threads, a TCP port, the Redis
protocol) in a few milliseconds; point redis-py or any client at ``server.url``,
or call it in-process with ``server.call("GET", "k")``. Custom commands are Python
functions (``server.register_command``); ``clock="manual"`` with
``server.advance(seconds)`` drives TTLs and blocking timeouts without sleeping;
``server.snapshot()`` / ``server.restore(snap)`` reset a dataset in memory. The
``kevy.pytest_plugin`` module (loaded automatically by pytest) gives fixtures.
``kevy.Redis()`` / ``kevy.asyncio.Redis()`` are redis-py clients with a private
server of their own (drop-ins for fakeredis's ``FakeRedis`` / ``FakeAsyncRedis``).

Replies come back as: bulk string -> bytes, simple string -> ``kevy.Status`` (a
str), integer -> int, double -> float, boolean -> bool, null -> None, array ->
list, map -> dict, set -> set, error -> ``kevy.ResponseError`` (raised).
"""

from __future__ import annotations

import atexit
from typing import Any

from kevy._types import Status
from kevy._kevy import (
    REDIS_VERSION,
    ClosedError,
    ConfigError,
    Context,
    Error,
    ResponseError,
    Server,
    Snapshot,
    StartError,
    UsageError,
    __version__,
    _bridge_logging,
    _stop_all,
)

__all__ = [
    "REDIS_VERSION",
    "ClosedError",
    "ConfigError",
    "Context",
    "Error",
    "ResponseError",
    "Server",
    "Snapshot",
    "StartError",
    "Status",
    "UsageError",
    "__version__",
]

def __getattr__(name: str) -> Any:
    # kevy.Redis needs redis-py, an optional dependency: imported on first use.
    if name == "Redis":
        from kevy._client import Redis

        return Redis
    raise AttributeError(f"module 'kevy' has no attribute {name!r}")


# Servers still running when the interpreter exits are stopped while Python is
# still whole: a shard thread must never wait for a GIL that finalization took away.
atexit.register(_stop_all)

# kevy's log lines (startup, SHUTDOWN, persistence) go to the logger "kevy".
_bridge_logging()
