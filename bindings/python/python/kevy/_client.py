"""``kevy.Redis``: a redis-py client with a private kevy server of its own, a drop-in
for ``fakeredis.FakeRedis`` with real Redis semantics (it is a real server).

Imported on first use of ``kevy.Redis`` (redis-py is optional for the rest of kevy).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

import redis

import kevy

__all__ = ["Redis"]


def start_server(server: Optional[kevy.Server], server_args: Dict[str, Any]) -> Tuple[kevy.Server, bool]:
    """The server a client talks to, and whether the client owns it."""
    if server is not None:
        if server_args:
            raise TypeError("pass either server= or the arguments of a new server, not both")
        return server, False
    server_args.setdefault("shards", 1)
    return kevy.Server(**server_args), True


class Redis(redis.Redis):
    """A ``redis.Redis`` bound to a kevy server in this process.

    ``kevy.Redis()`` starts a private server (one shard, a free port, no
    persistence) that lives as long as the client: ``close()`` (or leaving a
    ``with`` block) stops it, and so does dropping the client. ``kevy.Redis(server=s)``
    talks to an existing server instead (and leaves it running). ``shards``, ``clock``
    and ``config`` configure the private server; every other keyword argument goes to
    ``redis.Redis`` (``decode_responses=True``, ``protocol=3``...). ``.kevy_server``
    is the server, for ``advance()``, ``snapshot()`` and the rest.
    """

    def __init__(
        self,
        *,
        server: Optional[kevy.Server] = None,
        shards: Optional[int] = None,
        clock: Optional[str] = None,
        config: Optional[Mapping[str, object]] = None,
        **redis_kwargs: Any,
    ) -> None:
        args = {k: v for k, v in (("shards", shards), ("clock", clock), ("config", config)) if v is not None}
        self.kevy_server, self._owns_server = start_server(server, args)
        redis_kwargs.setdefault("host", self.kevy_server.host)
        redis_kwargs.setdefault("port", self.kevy_server.port)
        super().__init__(**redis_kwargs)

    def close(self) -> None:
        """Closes the client's connections, and stops its private server."""
        super().close()
        if getattr(self, "_owns_server", False):
            self.kevy_server.stop()
