"""Shared helpers of kevy's Python tests. The kevy fixtures come from the installed
package's pytest plugin (entry point), so these tests also prove it loads."""

from __future__ import annotations

import kevy

pytest_plugins = ["pytester"]


def has_command(server: kevy.Server, name: str) -> bool:
    """Does the server know `name`? (COMMAND INFO answers None for unknown ones.)"""
    info = server.call("COMMAND", "INFO", name)
    return bool(info) and info[0] is not None
