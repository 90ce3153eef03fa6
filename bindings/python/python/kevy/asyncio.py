"""``kevy.asyncio.Redis``: a ``redis.asyncio.Redis`` with a private kevy server of its
own, a drop-in for ``fakeredis.FakeAsyncRedis`` (see ``kevy.Redis``)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import redis.asyncio

import kevy
from kevy._client import start_server

__all__ = ["Redis"]


class Redis(redis.asyncio.Redis):
    """A ``redis.asyncio.Redis`` bound to a kevy server in this process.

    Without ``server=`` it starts a private one (one shard, a free port, no
    persistence) that ``aclose()`` (or leaving ``async with``) stops, as does
    dropping the client. Other keyword arguments go to ``redis.asyncio.Redis``.
    ``.kevy_server`` is the server.
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

    async def aclose(self, close_connection_pool: Optional[bool] = None) -> None:
        """Closes the client's connections, and stops its private server."""
        await super().aclose(close_connection_pool)
        if self._owns_server:
            self.kevy_server.stop()
