"""Type stubs of kevy's native module. Import the public names from ``kevy``."""

import datetime
import os
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple, Union, final

#: What a command argument may be: str (sent as UTF-8), bytes, bytearray, int, float.
_Arg = Union[str, bytes, bytearray, int, float]

__all__ = [
    "Server",
    "Snapshot",
    "Context",
    "Error",
    "ResponseError",
    "ConfigError",
    "StartError",
    "ClosedError",
    "UsageError",
    "_stop_all",
    "_bridge_logging",
    "__version__",
    "REDIS_VERSION",
]

__version__: str
REDIS_VERSION: str

@final
class Server:
    """A kevy server running in this process: shard threads, a real TCP port, and
    in-process calls that skip the socket. A context manager; ``stop()`` or dropping
    the last reference stops it."""

    def __new__(
        cls,
        port: int = 0,
        shards: int = 2,
        data_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        config: Optional[Mapping[str, object]] = None,
        clock: str = "system",
        bind: str = "127.0.0.1",
    ) -> "Server": ...
    @property
    def host(self) -> str:
        """The address clients connect to (the first ``bind`` address)."""
    @property
    def port(self) -> int:
        """The TCP port clients connect to."""
    @property
    def url(self) -> str:
        """A ``redis://host:port`` URL for clients."""
    @property
    def shards(self) -> int:
        """Number of shard threads."""
    @property
    def clock(self) -> str:
        """``"manual"`` or ``"system"``."""
    @property
    def running(self) -> bool:
        """True until ``stop()`` (or a client's SHUTDOWN) stops the server."""
    def call(self, *args: _Arg) -> Any:
        """Runs one command in-process and returns its reply as a Python value."""
    def register_command(
        self,
        name: str,
        fn: Callable[..., Any],
        /,
        *,
        arity: int = -1,
        flags: Optional[Union[str, Iterable[str]]] = None,
        keys: Tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        """Registers (or replaces) a custom command run by ``fn(ctx, *args)``."""
    def advance(self, seconds: float) -> None:
        """Moves a manual clock forward by ``seconds``."""
    def set_time(self, t: Union[float, "datetime.datetime"]) -> None:
        """Sets a manual clock to ``t`` (Unix seconds or a datetime); forward only."""
    @property
    def time(self) -> float:
        """The server's clock as Unix time in seconds."""
    def inject_error(self, name: str, error: str, times: Optional[int] = 1) -> None:
        """The next ``times`` calls of ``name`` (None: all) answer ``error``."""
    def delay(self, name: str, seconds: float, times: Optional[int] = None) -> None:
        """The next ``times`` calls of ``name`` (None: all) pause ``seconds`` first."""
    def clear_faults(self) -> None:
        """Removes every injected error and delay."""
    def snapshot(self) -> "Snapshot":
        """Copies every key (values and TTLs) in memory."""
    def restore(self, snap: "Snapshot") -> None:
        """Replaces the whole dataset with ``snap``'s."""
    def load_rdb(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Replaces the whole dataset with the keys of the RDB file at ``path``."""
    def stop(self) -> None:
        """Stops the server; calling it again does nothing."""
    def __enter__(self) -> "Server": ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class Snapshot:
    """A copy of every key of a server (values and TTLs), held in memory; pickles as
    RDB bytes."""

    def __len__(self) -> int: ...
    def to_bytes(self) -> bytes:
        """The snapshot as the bytes of a Redis RDB file."""
    @staticmethod
    def from_bytes(data: bytes) -> "Snapshot":
        """A snapshot of the keys in an RDB file's bytes (kevy's or redis-server's)."""
    def __reduce__(self) -> Tuple[Callable[[bytes], "Snapshot"], Tuple[bytes]]: ...

@final
class Context:
    """What a Python custom command receives first; valid only while it runs."""

    @property
    def name(self) -> str:
        """The command's name as the client sent it."""
    @property
    def shard(self) -> int:
        """The shard running the command."""
    @property
    def now_ms(self) -> int:
        """The server's clock in Unix milliseconds, as TTLs see it."""
    @property
    def valid(self) -> bool:
        """Is the callback still running?"""
    def call(self, *args: _Arg) -> Any:
        """Runs a command on the keys this command holds and returns its reply."""

class Error(Exception):
    """The base of every exception kevy raises on its own account."""

class ResponseError(Error):
    """An error reply; ``str(e)`` is its text, code included."""

class ConfigError(Error):
    """A configuration parameter or command declaration was refused."""

class StartError(Error):
    """The server could not start."""

class ClosedError(Error):
    """The server was stopped, or a context used after its callback returned."""

class UsageError(Error):
    """kevy was used against its threading rules."""

def _stop_all() -> None:
    """Stops every server still running (called at interpreter exit)."""

def _bridge_logging() -> None:
    """Sends kevy's log lines to the Python logger "kevy" (done at import)."""
