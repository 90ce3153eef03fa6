"""``python -m kevy``: run a kevy server in the foreground until Ctrl-C or SIGTERM.

Usage: ``python -m kevy [--version] [--port 6379] [--shards N] [--dir D] [--bind ADDR]
[--clock system|manual] [--config NAME=VALUE ...]`` (``--help`` lists them). Prints the server's URL on
stdout once it listens; exits 0 after a clean stop (Ctrl-C, SIGTERM or a client's
SHUTDOWN).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType
from typing import Dict, Optional, Sequence

import kevy

__all__ = ["main"]


class _Terminate(Exception):
    """Raised in the main thread by the SIGTERM handler."""


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise _Terminate()


_EPILOG = """\
Without --dir the server gets a private temporary directory, removed when it stops:
nothing is loaded at start and nothing it saves outlives it. With --dir D it loads
the data in D at start (kevy's files, or redis-server's dump.rdb) and SAVE writes there.

examples:
  python -m kevy --port 0                      any free port; the URL is printed
  python -m kevy --dir ./data --config appendonly=yes
  python -m kevy --config maxclients=100 --config hz=50
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kevy",
        description="Run a kevy server (Redis-compatible) in the foreground until Ctrl-C, SIGTERM or SHUTDOWN.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"kevy {kevy.__version__} (Redis {kevy.REDIS_VERSION} compatible)",
    )
    p.add_argument("--port", type=int, default=6379, help="TCP port (0: any free port; default 6379)")
    p.add_argument("--shards", type=int, default=0, help="shard threads (0: one per core; default 0)")
    p.add_argument(
        "--dir",
        default=None,
        metavar="DIR",
        help="data directory: loaded at start, where SAVE writes (default: a private temporary one)",
    )
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDR", help="listen address(es) (default 127.0.0.1)")
    p.add_argument(
        "--clock",
        default="system",
        choices=["system", "manual"],
        help="server clock (default system; manual: time moves only through Server.advance)",
    )
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other parameter by its Redis name, e.g. maxclients=100 (repeatable)",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs a server as the command line asks; returns the exit status."""
    args = _parser().parse_args(argv)
    # kevy's log lines (the "kevy" logger) to stderr, notices included.
    logging.basicConfig(level=logging.INFO, format="kevy: %(message)s")
    config: Dict[str, str] = {}
    for item in args.config:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"kevy: --config expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        config[name] = value
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server = kevy.Server(
            port=args.port,
            shards=args.shards,
            data_dir=args.dir,
            config=config,
            clock=args.clock,
            bind=args.bind,
        )
    except (kevy.Error, ValueError) as e:
        print(f"kevy: {e}", file=sys.stderr)
        return 1
    try:
        print(f"kevy {kevy.__version__} listening on {server.url} shards={server.shards}", flush=True)
        # Short sleeps: signal handlers run in the main thread between them, and a
        # client's SHUTDOWN is noticed within a fraction of a second.
        while server.running:
            time.sleep(0.2)
    except (KeyboardInterrupt, _Terminate):
        pass
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    print("kevy stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
