#!/usr/bin/env python3
r"""Differential compatibility test: kevy-server against redis-server.

Usage:
    python3 tests/compat/run.py --kevy target/debug/kevy-server [--shards 2]
        [--redis redis-server] [-k SUBSTR] [-v] [cases/*.txt ...]
    python3 tests/compat/run.py --self-test [...]   # redis-server against itself

Both servers start on free loopback ports in scratch directories and are
stopped at exit, also on failure.  redis-server runs with persistence off and
`--databases 1`, since kevy has a single database (SELECT accepts only 0).
--self-test puts a second redis-server where kevy would be: the case files
must pass it, which shows they are deterministic.

Every case file runs twice, under RESP2 and then under RESP3, each time on a
fresh connection to each server that first sends FLUSHALL (and, under RESP3,
HELLO 3, whose reply is checked for its type only: the map holds the server's
name, version and connection id).  Each command goes to both servers as a RESP
multibulk array; exactly one complete reply is read from each (5 s limit) and
the raw bytes are compared.  A timeout, a closed connection, bytes that are not
RESP or bytes beyond the reply fail the step, and both connections are then
reopened for the rest of the file.  If kevy dies, the run stops there.
-k SUBSTR keeps only case files whose path contains SUBSTR; -v also prints
each passing step with redis's reply.

Output: a FAIL block per mismatch (file:line, protocol, the case line, both raw
replies), then a last line `N passed, M failed` that counts compared steps
(each protocol separately).  Exit status: 0 all passed; 1 a mismatch, timeout
or kevy crash; 2 bad usage, a bad case file or a server that did not start.

Case files (tests/compat/cases/*.txt)
-------------------------------------
One command per line.  Blank lines and lines whose first non-blank character
is `#` are skipped.  A line is split into arguments like shlex.split (POSIX):
blanks separate arguments; '...' is literal; outside quotes a backslash makes
the next character literal; "..." groups, and inside it \" and \\ stand for
" and \.  In addition, and only inside double quotes, these escapes give one
byte each:
    \n  \r  \t  \0 (NUL)  \a  \b  \xHH (any byte, two hex digits)
Any other backslash inside double quotes is kept as is (shlex's rule).  Text
is sent as UTF-8.

Directives (a line starting with @):
    @sort CMD...       sort the elements of the top-level aggregate reply (map
                       replies: its key/value pairs) before comparing; the
                       type, the count and every element's bytes must match.
    @type CMD...       compare only the reply's type byte (TIME, CLIENT ID...).
    @any CMD...        send to both, read one reply each, do not compare
                       (a timeout or a closed connection still fails).
    @sleep SECONDS     sleep (keep it at 0.3 or less).
    @raw [N] "BYTES"   send BYTES unchanged (escapes as above), then read N
                       replies (default 1; 0 sends only) from each server and
                       compare their bytes.
    @closed            both servers must have closed the connection (EOF within
                       1 s); then reconnect (with HELLO 3 under RESP3).
    @proto2 / @proto3  the rest of the file runs only under that protocol.
    @scan CMD...       SCAN/SSCAN/HSCAN/ZSCAN: follow the cursor (the argument
                       after the command name; after the key for xSCAN) from
                       0 until it returns 0, separately on each server, and
                       compare the sorted set of returned elements (HSCAN and
                       ZSCAN: of field/value pairs).  An error reply is
                       compared as is.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPLY_TIMEOUT = 5.0
CLOSE_TIMEOUT = 1.0
START_TIMEOUT = 20.0
SCAN_MAX_ROUNDS = 100_000
SHOW_BYTES = 400  # longest raw reply shown in a FAIL block


# --------------------------------------------------------------------------
# Case file tokenizer


_ESCAPES = {"n": 10, "r": 13, "t": 9, "0": 0, "a": 7, "b": 8, "\\": 92, '"': 34}
_BLANKS = " \t\r\n"
_HEX = "0123456789abcdefABCDEF"


def tokenize(line: str) -> list[bytes]:
    """Split one case line into arguments (rules in the module docstring)."""
    tokens: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _BLANKS:
            i += 1
        if i >= n:
            return tokens
        arg = bytearray()
        while i < n and line[i] not in _BLANKS:
            c = line[i]
            if c == "'":
                end = line.find("'", i + 1)
                if end < 0:
                    raise ValueError("no closing single quote")
                arg += line[i + 1:end].encode()
                i = end + 1
            elif c == '"':
                i += 1
                while True:
                    if i >= n:
                        raise ValueError("no closing double quote")
                    c = line[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "\\" and i + 1 < n:
                        e = line[i + 1]
                        if e in _ESCAPES:
                            arg.append(_ESCAPES[e])
                            i += 2
                            continue
                        hh = line[i + 2:i + 4]
                        if e == "x" and len(hh) == 2 and all(h in _HEX for h in hh):
                            arg.append(int(hh, 16))
                            i += 4
                            continue
                    arg += c.encode()
                    i += 1
            elif c == "\\":
                if i + 1 >= n:
                    raise ValueError("backslash at end of line")
                arg += line[i + 1].encode()
                i += 2
            else:
                arg += c.encode()
                i += 1
        tokens.append(bytes(arg))


def encode_command(args: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Step:
    """One non-blank, non-comment line of a case file."""

    __slots__ = ("lineno", "text", "directive", "args", "count")

    def __init__(self, lineno: int, text: str, directive: str, args: list[bytes], count: int = 1):
        self.lineno = lineno
        self.text = text
        self.directive = directive  # "" for a plain command
        self.args = args
        self.count = count  # replies to read for @raw


DIRECTIVES = ("sort", "type", "any", "sleep", "raw", "closed", "proto2", "proto3", "scan")


def load_case_file(path: str) -> list[Step]:
    steps = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            where = f"{path}:{lineno}"
            directive = ""
            rest = text
            if text.startswith("@"):
                directive, _, rest = text[1:].partition(" ")
                if directive not in DIRECTIVES:
                    raise ValueError(f"{where}: unknown directive @{directive}")
            try:
                args = tokenize(rest)
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            step = Step(lineno, text, directive, args)
            if directive in ("", "sort", "type", "any", "scan") and not args:
                raise ValueError(f"{where}: no command")
            if directive in ("closed", "proto2", "proto3") and args:
                raise ValueError(f"{where}: @{directive} takes no arguments")
            if directive == "sleep":
                if len(args) != 1:
                    raise ValueError(f"{where}: @sleep SECONDS")
                float(args[0])
            if directive == "raw":
                if len(args) == 2 and args[0].isdigit():
                    step.count = int(args[0])
                    step.args = [args[1]]
                elif len(args) != 1:
                    raise ValueError(f'{where}: @raw [N] "BYTES"')
            if directive == "scan" and len(args) < (2 if args[0].upper() == b"SCAN" else 3):
                raise ValueError(f"{where}: @scan needs a cursor argument")
            steps.append(step)
    return steps


# --------------------------------------------------------------------------
# RESP2 / RESP3 reply reader


class Incomplete(Exception):
    """The buffer ends inside the reply; read more."""


class BadReply(Exception):
    """The bytes are not valid RESP."""


class Node:
    """One parsed reply: its type byte, its raw bytes and its parts.

    `prefix` holds a leading attribute frame (`|`), which is part of `raw`;
    `header` is the first line of an aggregate; `value` the payload of a
    simple or bulk reply (None for nulls); `children` an aggregate's elements
    (maps and attributes: keys and values alternating).
    """

    __slots__ = ("kind", "raw", "prefix", "header", "value", "children")

    def __init__(self, kind, raw, prefix=b"", header=b"", value=None, children=()):
        self.kind = kind
        self.raw = raw
        self.prefix = prefix
        self.header = header
        self.value = value
        self.children = children


_LINE_TYPES = b"+-:_,#("
_BULK_TYPES = b"$!="
_ARRAY_TYPES = b"*~>"
_MAP_TYPES = b"%|"


def _line(buf: bytes, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        if len(buf) - pos > 64 * 1024 and b"\n" in buf[pos:]:
            raise BadReply("line not ended by CRLF")
        raise Incomplete
    return buf[pos:end], end + 2


def _int(text: bytes) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadReply(f"bad length {text!r}") from None


def parse_reply(buf: bytes, pos: int = 0) -> tuple[Node, int]:
    """Parse the reply starting at buf[pos]; return it and the offset after it."""
    if pos >= len(buf):
        raise Incomplete
    kind = buf[pos]
    if kind == ord("|"):
        attr, after = _parse_one(buf, pos)
        node, end = parse_reply(buf, after)
        node.raw = buf[pos:end]
        node.prefix = attr.raw + node.prefix
        return node, end
    return _parse_one(buf, pos)


def _parse_one(buf: bytes, pos: int) -> tuple[Node, int]:
    kind = buf[pos]
    line, p = _line(buf, pos + 1)
    header = buf[pos:p]
    if kind in _LINE_TYPES:
        return Node(kind, header, value=line), p
    if kind in _BULK_TYPES:
        if line == b"?" and kind == ord("$"):
            return _parse_streamed_string(buf, pos, p)
        size = _int(line)
        if size < 0:
            if size == -1 and kind == ord("$"):
                return Node(kind, header), p
            raise BadReply(f"bad length {line!r}")
        end = p + size
        if len(buf) < end + 2:
            raise Incomplete
        if buf[end:end + 2] != b"\r\n":
            raise BadReply("bulk payload not followed by CRLF")
        return Node(kind, buf[pos:end + 2], value=buf[p:end]), end + 2
    if kind in _ARRAY_TYPES or kind in _MAP_TYPES:
        per_entry = 2 if kind in _MAP_TYPES else 1
        children = []
        if line == b"?":
            while True:
                if buf.startswith(b".\r\n", p):
                    p += 3
                    break
                if len(buf) - p < 3:
                    raise Incomplete
                child, p = parse_reply(buf, p)
                children.append(child)
        else:
            count = _int(line)
            if count < 0:
                if count == -1 and kind == ord("*"):
                    return Node(kind, header, header=header), p
                raise BadReply(f"bad count {line!r}")
            for _ in range(count * per_entry):
                child, p = parse_reply(buf, p)
                children.append(child)
        return Node(kind, buf[pos:p], header=header, children=children), p
    raise BadReply(f"unknown type byte {bytes([kind])!r}")


def _parse_streamed_string(buf: bytes, pos: int, p: int) -> tuple[Node, int]:
    parts = []
    while True:
        if p >= len(buf):
            raise Incomplete
        if buf[p] != ord(";"):
            raise BadReply("streamed string chunk without ';'")
        line, q = _line(buf, p + 1)
        size = _int(line)
        if size == 0:
            p = q
            break
        if len(buf) < q + size + 2:
            raise Incomplete
        parts.append(buf[q:q + size])
        p = q + size + 2
    return Node(ord("$"), buf[pos:p], value=b"".join(parts)), p


# --------------------------------------------------------------------------
# Connections


class ReplyTimeout(Exception):
    pass


class Closed(Exception):
    pass


class Conn:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed(f"send failed: {e}") from None

    def _recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout
        self.sock.settimeout(left)
        return self.sock.recv(1 << 16)

    def read_reply(self, timeout: float = REPLY_TIMEOUT) -> Node:
        deadline = time.monotonic() + timeout
        while True:
            try:
                node, end = parse_reply(self.buf)
                self.buf = self.buf[end:]
                return node
            except Incomplete:
                pass
            try:
                data = self._recv(deadline)
            except socket.timeout:
                raise ReplyTimeout(f"no complete reply within {timeout:g} s, got {self.buf[:SHOW_BYTES]!r}") from None
            except OSError as e:
                raise Closed(f"{e} after {self.buf[:SHOW_BYTES]!r}") from None
            if not data:
                raise Closed(f"connection closed after {self.buf[:SHOW_BYTES]!r}")
            self.buf += data

    def wait_closed(self, timeout: float = CLOSE_TIMEOUT) -> tuple[bool, bytes]:
        """True once the peer closed; else False and whatever it sent instead."""
        if self.buf:
            return False, self.buf
        deadline = time.monotonic() + timeout
        try:
            while True:
                data = self._recv(deadline)
                if not data:
                    return True, b""
                self.buf += data
        except socket.timeout:
            return False, self.buf
        except OSError:
            return True, b""


# --------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, argv: list[str], port: int, workdir: str):
        self.name = name
        self.argv = argv
        self.port = port
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "server.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def exit_status(self) -> int | None:
        """The exit status once the server has exited, else None.

        The process is left unreaped (a zombie) so that its pid, which is
        also its process group id, cannot be reused before stop() runs.
        """
        if self.proc is None:
            return None
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.proc.poll()
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def alive(self) -> bool:
        return self.proc is not None and self.exit_status() is None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = "not started"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with status {self.exit_status()}{self.log_tail()}")
            try:
                conn = Conn(self.port)
                try:
                    conn.send(b"*1\r\n$4\r\nPING\r\n")
                    reply = conn.read_reply(1.0)
                finally:
                    conn.close()
                if reply.raw == b"+PONG\r\n":
                    return
                last = f"PING replied {reply.raw!r}"
            except (OSError, Closed, ReplyTimeout, BadReply) as e:
                last = str(e)
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer PING within {timeout:g} s ({last}){self.log_tail()}")

    def stop(self) -> None:
        """Stop the server and anything it started (its own process group)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            if not self.alive():
                break
        try:  # members of the group that outlived the leader
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                tail = f.read().decode(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        if not tail:
            return ""
        return "\n" + "\n".join(f"  | {t}" for t in tail)


# --------------------------------------------------------------------------
# Comparison


def clip(raw: bytes | None) -> str:
    if raw is None:
        return "(nothing)"
    text = repr(raw)
    if len(raw) > SHOW_BYTES:
        text = repr(raw[:SHOW_BYTES]) + f"... ({len(raw)} bytes)"
    return text


def type_byte(node: Node) -> bytes:
    return bytes([node.kind])


def sorted_form(node: Node) -> bytes:
    """The reply with its top-level elements (or map pairs) in sorted order."""
    if not node.children:
        return node.raw
    items = [c.raw for c in node.children]
    if node.kind in _MAP_TYPES:
        items = [items[i] + items[i + 1] for i in range(0, len(items), 2)]
    return node.prefix + node.header + b"".join(sorted(items))


class KevyCrashed(Exception):
    pass


class Outcome:
    """What one server answered to one step: its comparable bytes, or a problem."""

    __slots__ = ("data", "problem")

    def __init__(self, data: bytes | None = None, problem: str | None = None):
        self.data = data
        self.problem = problem


class Runner:
    def __init__(self, redis: Server, kevy: Server, verbose: bool):
        self.servers = (redis, kevy)
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.conns: list[Conn | None] = [None, None]
        self.proto = 2
        self.reopen = False  # a connection is out of step: reconnect before the next step

    # -- bookkeeping

    def fail(self, where: str, what: str, outcomes: list[Outcome]) -> None:
        self.failed += 1
        print(f"FAIL {where} [RESP{self.proto}] {what}")
        for server, out in zip(self.servers, outcomes):
            shown = out.problem if out.problem is not None else clip(out.data)
            print(f"  {server.name:>6}: {shown}")
        sys.stdout.flush()

    def check_kevy(self, where: str) -> None:
        kevy = self.servers[1]
        if not kevy.alive():
            raise KevyCrashed(f"{kevy.name} died (exit status {kevy.exit_status()}) at {where}{kevy.log_tail()}")
        if not self.servers[0].alive():
            raise RuntimeError(f"{self.servers[0].name} died (exit status {self.servers[0].exit_status()}) at {where}{self.servers[0].log_tail()}")

    # -- connections

    def disconnect(self) -> None:
        for i, c in enumerate(self.conns):
            if c is not None:
                c.close()
            self.conns[i] = None

    def connect(self, where: str) -> None:
        """Fresh connections to both servers; HELLO 3 under RESP3."""
        self.disconnect()
        for i, server in enumerate(self.servers):
            try:
                self.conns[i] = Conn(server.port)
            except OSError as e:
                self.check_kevy(where)
                raise RuntimeError(f"cannot connect to {server.name}: {e}") from None
        if self.proto == 3:
            outs = self.exchange(encode_command([b"HELLO", b"3"]), 1, where)
            self.judge(where, "HELLO 3 (type only)", outs, type_byte)

    def exchange(self, payload: bytes, count: int, where: str) -> list[list[Node] | Outcome]:
        """Send payload to both servers, read `count` replies from each.

        Per server: the list of replies, or an Outcome holding the problem
        (after which that connection is reopened for the next step).
        """
        results: list[list[Node] | Outcome] = []
        for conn in self.conns:
            try:
                conn.send(payload)
            except Closed:
                pass  # reported by the read below
        for i, conn in enumerate(self.conns):
            replies = []
            try:
                for _ in range(count):
                    replies.append(conn.read_reply())
                if conn.buf:
                    raise BadReply(f"unexpected bytes after the reply: {clip(conn.buf)}")
                results.append(replies)
            except (ReplyTimeout, Closed, BadReply) as e:
                kind = {ReplyTimeout: "timeout", Closed: "closed", BadReply: "bad reply"}[type(e)]
                got = b"".join(r.raw for r in replies)
                results.append(Outcome(got, f"{kind}: {e}" + (f" (after {clip(got)})" if got else "")))
        if any(isinstance(r, Outcome) for r in results):
            self.check_kevy(where)
            self.reopen = True
        return results

    def judge(self, where: str, what: str, results, form) -> None:
        """Count one compared step: pass when both sides give the same form."""
        outs = []
        for r in results:
            if isinstance(r, Outcome):
                outs.append(r)
            else:
                outs.append(Outcome(b"".join(form(n) for n in r)))
        problem = any(o.problem is not None for o in outs)
        if not problem and outs[0].data == outs[1].data:
            self.passed += 1
            if self.verbose:
                print(f"ok   {where} [RESP{self.proto}] {what}  =>  {clip(outs[0].data)}")
        else:
            self.fail(where, what, outs)

    # -- steps

    def run_file(self, path: str, steps: list[Step], proto: int) -> None:
        name = os.path.relpath(path)
        self.proto = proto
        self.reopen = False
        self.connect(f"{name}:0")
        outs = self.exchange(encode_command([b"FLUSHALL"]), 1, f"{name}:0")
        self.judge(f"{name}:0", "FLUSHALL", outs, lambda n: n.raw)
        for step in steps:
            where = f"{name}:{step.lineno}"
            if step.directive in ("proto2", "proto3"):
                if step.directive != f"proto{proto}":
                    break
                continue
            if self.reopen:
                self.reopen = False
                self.connect(where)
            self.run_step(step, where)
        self.disconnect()
        self.check_kevy(f"{name}:end")

    def run_step(self, step: Step, where: str) -> None:
        d = step.directive
        if d == "sleep":
            time.sleep(float(step.args[0]))
        elif d == "closed":
            self.expect_closed(where, step.text)
        elif d == "raw":
            outs = self.exchange(step.args[0], step.count, where)
            self.judge(where, step.text, outs, lambda n: n.raw)
        elif d == "scan":
            outs = [self.scan(conn, step.args) for conn in self.conns]
            if any(o.problem for o in outs):
                self.check_kevy(where)
                self.reopen = True
            self.judge(where, step.text, outs, None)
        else:
            outs = self.exchange(encode_command(step.args), 1, where)
            if d == "any":
                if any(isinstance(o, Outcome) for o in outs):
                    self.judge(where, step.text, outs, None)  # reports the timeout or close
                return
            form = {"": lambda n: n.raw, "sort": sorted_form, "type": type_byte}[d]
            self.judge(where, step.text, outs, form)

    def expect_closed(self, where: str, text: str) -> None:
        outs = []
        for conn in self.conns:
            closed, extra = conn.wait_closed()
            outs.append(Outcome(b"closed") if closed else Outcome(problem=f"still open, sent {clip(extra)}"))
        self.judge(where, text, outs, None)
        self.connect(where)

    def scan(self, conn: Conn, args: list[bytes]) -> Outcome:
        """Follow a SCAN-family cursor to 0; the sorted set of what it returned."""
        at = 1 if args[0].upper() == b"SCAN" else 2
        paired = args[0].upper() in (b"HSCAN", b"ZSCAN")
        args = list(args)
        cursor = b"0"
        seen: set[bytes] = set()
        for _ in range(SCAN_MAX_ROUNDS):
            args[at] = cursor
            try:
                conn.send(encode_command(args))
                node = conn.read_reply()
            except (ReplyTimeout, Closed, BadReply) as e:
                return Outcome(problem=f"{type(e).__name__}: {e}")
            if node.kind == ord("-") or node.kind == ord("!"):
                return Outcome(node.raw)
            kids = node.children
            if node.kind != ord("*") or len(kids) != 2 or kids[0].value is None or kids[1].kind not in _ARRAY_TYPES:
                return Outcome(problem=f"not a [cursor, elements] reply: {clip(node.raw)}")
            items = [k.raw for k in kids[1].children]
            if paired:
                items = [items[j] + items[j + 1] for j in range(0, len(items) - 1, 2)]
            seen.update(items)
            cursor = kids[0].value
            if cursor == b"0":
                return Outcome(b"%d elements: " % len(seen) + b"".join(sorted(seen)))
        return Outcome(problem=f"cursor not back to 0 after {SCAN_MAX_ROUNDS} calls")


# --------------------------------------------------------------------------
# Main


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="Compare kevy-server's replies with redis-server's, byte for byte.")
    ap.add_argument("--kevy", help="path to the kevy-server binary")
    ap.add_argument("--shards", type=int, default=2, help="kevy --shards (default 2)")
    ap.add_argument("--redis", default="redis-server", help="redis-server binary (default: from PATH)")
    ap.add_argument("-k", dest="select", metavar="SUBSTR", help="only case files whose path contains SUBSTR")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print each passing command and its reply")
    ap.add_argument("--self-test", action="store_true", help="compare redis-server with a second redis-server")
    ap.add_argument("cases", nargs="*", help="case files (default: tests/compat/cases/*.txt)")
    opts = ap.parse_args(argv)
    if not opts.self_test and not opts.kevy:
        ap.error("--kevy PATH is required (or --self-test)")
    redis_bin = shutil.which(opts.redis)
    if redis_bin is None:
        print(f"run.py: {opts.redis} not found", file=sys.stderr)
        return 2
    if opts.kevy and not opts.self_test and not os.path.isfile(opts.kevy):
        print(f"run.py: no kevy-server at {opts.kevy}", file=sys.stderr)
        return 2

    paths = opts.cases or sorted(glob.glob(os.path.join(HERE, "cases", "*.txt")))
    if opts.select:
        paths = [p for p in paths if opts.select in p]
    try:
        files = [(p, load_case_file(p)) for p in paths]
    except (OSError, ValueError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2
    if not files:
        print("run.py: no case files", file=sys.stderr)
        return 2

    scratch = tempfile.mkdtemp(prefix="kevy-compat-")
    servers: list[Server] = []

    def cleanup() -> None:
        for s in servers:
            try:
                s.stop()
            except Exception:
                pass
        shutil.rmtree(scratch, ignore_errors=True)

    atexit.register(cleanup)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    def redis_argv(port: int) -> list[str]:
        return [redis_bin, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
                "--databases", "1"]

    try:
        p1 = free_port()
        p2 = free_port()
        while p2 == p1:
            p2 = free_port()
        for name in ("redis", "kevy"):
            os.mkdir(os.path.join(scratch, name))
        redis = Server("redis", redis_argv(p1), p1, os.path.join(scratch, "redis"))
        if opts.self_test:
            kevy = Server("redis2", redis_argv(p2), p2, os.path.join(scratch, "kevy"))
        else:
            kevy_argv = [os.path.abspath(opts.kevy), "--port", str(p2), "--shards", str(opts.shards),
                         "--bind", "127.0.0.1"]
            kevy = Server("kevy", kevy_argv, p2, os.path.join(scratch, "kevy"))
        servers.extend([redis, kevy])
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()
    except (OSError, RuntimeError) as e:
        print(f"run.py: {e}", file=sys.stderr)
        cleanup()
        return 2

    runner = Runner(redis, kevy, opts.verbose)
    status = 0
    try:
        for path, steps in files:
            for proto in (2, 3):
                runner.run_file(path, steps, proto)
    except KevyCrashed as e:
        runner.failed += 1
        print(f"FAIL {e}")
        status = 1
    except RuntimeError as e:
        print(f"run.py: {e}", file=sys.stderr)
        status = 2
    finally:
        runner.disconnect()
        cleanup()
    print(f"{runner.passed} passed, {runner.failed} failed")
    if status:
        return status
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
