"""Pure-Python types the native module uses (kept apart so it can import them)."""

from __future__ import annotations

__all__ = ["Status"]


class Status(str):
    """A simple-string reply, such as ``OK`` or ``PONG``.

    ``Server.call`` returns one for every simple-string reply, so
    ``server.call("SET", "k", "v") == "OK"`` holds. Returned from a custom command,
    it is sent as a simple string (``+OK``) where a plain ``str`` is sent as a bulk
    string.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Status({str.__repr__(self)})"
