"""pytest fixtures for kevy, loaded automatically once the ``kevy-server``
distribution is installed (``pip install kevy-server``; the import name is ``kevy``).

Fixtures:

- ``kevy_server`` (session): one server for the whole run.
- ``kevy_db`` (function): that session server, emptied with FLUSHALL (and its
  injected faults cleared) before the test.
- ``kevy_fresh_server`` (function): a brand-new server for this test, configured by
  ``@pytest.mark.kevy(clock="manual", shards=1, config={...})``, stopped after it.
- ``kevy_redis`` (function): a redis-py client of ``kevy_db`` (skips without redis-py).
- ``kevy_fresh_redis`` (function): a redis-py client of ``kevy_fresh_server``.
- ``kevy_async_redis`` (function, when pytest-asyncio is installed): a
  ``redis.asyncio.Redis`` client of ``kevy_db``, for ``async def`` tests.

The servers have the toolkit: ``advance()``/``set_time()`` (with
``@pytest.mark.kevy(clock="manual")``), ``inject_error()``/``delay()`` (cleared by the
next ``kevy_db`` too), ``snapshot()``/``restore()``/``load_rdb()``.

Options: ``--kevy-shards N`` (default 2), ``--kevy-dir D`` (the servers' data dir:
``D/session`` for the session server, a subfolder per test for fresh servers;
without it each server gets a folder under pytest's temporary directory, so a test
that runs SAVE never writes into the working directory).

``kevy_db`` reuses one server and flushes it rather than starting one per test:
starting is cheap (milliseconds) but FLUSHALL is cheaper still (microseconds on a
small dataset), the port stays the same for the whole run, and no threads are
created and joined per test. Tests that need their own configuration, a manual
clock, or custom commands that must not leak into later tests take
``kevy_fresh_server`` instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Any, AsyncIterator, Dict, Iterator, Optional

import pytest

import kevy

__all__ = [
    "kevy_db",
    "kevy_fresh_redis",
    "kevy_fresh_server",
    "kevy_redis",
    "kevy_server",
    "pytest_addoption",
    "pytest_configure",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds ``--kevy-shards`` and ``--kevy-dir``."""
    group = parser.getgroup("kevy", "kevy in-process Redis-compatible server")
    group.addoption(
        "--kevy-shards",
        type=int,
        default=2,
        metavar="N",
        help="shard threads of the servers the kevy fixtures start (default 2)",
    )
    group.addoption(
        "--kevy-dir",
        default=None,
        metavar="DIR",
        help="data directory of the kevy fixtures' servers (fresh servers get a subfolder per test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declares the ``kevy`` marker."""
    config.addinivalue_line(
        "markers",
        "kevy(**kwargs): keyword arguments of kevy.Server for the kevy_fresh_server fixture "
        "(port, shards, data_dir, config, clock, bind)",
    )


class _SessionServer:
    """Starts the session server on first use, and again if a test stopped it."""

    def __init__(self, shards: int, data_dir: str) -> None:
        self._shards = shards
        self._data_dir = data_dir
        self._server: Optional[kevy.Server] = None

    def get(self) -> kevy.Server:
        if self._server is None or not self._server.running:
            self._server = kevy.Server(shards=self._shards, data_dir=self._data_dir)
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@pytest.fixture(scope="session")
def _kevy_session(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_SessionServer]:
    base_dir = pytestconfig.getoption("kevy_dir")
    data_dir = os.path.join(base_dir, "session") if base_dir else str(tmp_path_factory.mktemp("kevy-session"))
    os.makedirs(data_dir, exist_ok=True)
    holder = _SessionServer(pytestconfig.getoption("kevy_shards"), data_dir)
    yield holder
    holder.close()


@pytest.fixture(scope="session")
def kevy_server(_kevy_session: _SessionServer) -> kevy.Server:
    """One kevy server for the whole test session (not flushed between tests)."""
    return _kevy_session.get()


@pytest.fixture
def kevy_db(_kevy_session: _SessionServer) -> kevy.Server:
    """The session's kevy server, emptied (FLUSHALL) and without injected faults
    before this test."""
    server = _kevy_session.get()
    server.clear_faults()
    server.call("FLUSHALL")
    return server


@pytest.fixture
def kevy_fresh_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[kevy.Server]:
    """A new kevy server for this test alone, stopped after it.

    ``@pytest.mark.kevy(...)`` passes keyword arguments to ``kevy.Server``.
    """
    kwargs: Dict[str, Any] = {"shards": request.config.getoption("kevy_shards")}
    base_dir = request.config.getoption("kevy_dir")
    if base_dir is not None:
        sub = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
        kwargs["data_dir"] = os.path.join(base_dir, sub)
        os.makedirs(kwargs["data_dir"], exist_ok=True)
    else:
        kwargs["data_dir"] = str(tmp_path_factory.mktemp("kevy-fresh"))
    marker = request.node.get_closest_marker("kevy")
    if marker is not None:
        kwargs.update(marker.kwargs)
    server = kevy.Server(**kwargs)
    try:
        yield server
    finally:
        server.stop()


# The asyncio fixture needs pytest-asyncio; without it there is none.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio  # type: ignore[import-not-found, unused-ignore]

    @pytest_asyncio.fixture
    async def kevy_async_redis(kevy_db: kevy.Server) -> AsyncIterator[Any]:
        """A ``redis.asyncio.Redis`` client of ``kevy_db`` (with pytest-asyncio; skips
        without redis-py), closed after the test in the test's event loop."""
        pytest.importorskip("redis")
        import kevy.asyncio

        client = kevy.asyncio.Redis(server=kevy_db)
        try:
            yield client
        finally:
            await client.aclose()

    __all__.append("kevy_async_redis")


def _client(server: kevy.Server) -> Any:
    redis = pytest.importorskip("redis")
    return redis.Redis(host=server.host, port=server.port)


@pytest.fixture
def kevy_redis(kevy_db: kevy.Server) -> Iterator[Any]:
    """A ``redis.Redis`` client of ``kevy_db`` (skips the test without redis-py)."""
    client = _client(kevy_db)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def kevy_fresh_redis(kevy_fresh_server: kevy.Server) -> Iterator[Any]:
    """A ``redis.Redis`` client of ``kevy_fresh_server`` (skips without redis-py)."""
    client = _client(kevy_fresh_server)
    try:
        yield client
    finally:
        client.close()
