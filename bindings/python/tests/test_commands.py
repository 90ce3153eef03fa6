"""Custom commands written in Python: arguments, reply mapping, the context,
exceptions, threading rules, and concurrency with in-process calls."""

from __future__ import annotations

import _thread
import gc
import logging
import threading
import time
import weakref

import pytest

import kevy

redis = pytest.importorskip("redis")
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402


@pytest.fixture
def server():
    with kevy.Server(shards=3) as s:
        yield s


def test_arguments_arrive_as_bytes_without_the_name(server):
    seen = []

    def record(ctx, *args):
        seen.append((ctx.name, args))
        return len(args)

    server.register_command("t.rec", record, keys=(0, 0, 0))
    assert server.call("t.rec", "a", b"b", 3) == 3
    assert seen == [("t.rec", (b"a", b"b", b"3"))]


def test_return_values_become_replies(server):
    values = {
        "none": None,
        "int": 42,
        "float": 2.5,
        "str": "text",
        "bytes": b"raw",
        "true": True,
        "false": False,
        "list": [1, b"x", None],
        "tuple": (1, 2),
        "dict": {"a": 1},
        "set": {b"m"},
        "status": kevy.Status("QUEUED"),
        "nested": [[1, [2, {"k": [3]}]]],
    }
    server.register_command("t.value", lambda ctx, which: values[which.decode()], arity=2, keys=(0, 0, 0))
    call = lambda w: server.call("t.value", w)  # noqa: E731
    assert call("none") is None
    assert call("int") == 42
    assert call("float") == 2.5
    assert call("str") == b"text"
    assert call("bytes") == b"raw"
    assert call("true") is True and call("false") is False
    assert call("list") == [1, b"x", None]
    assert call("tuple") == [1, 2]
    assert call("dict") == {b"a": 1}
    assert call("set") == {b"m"}
    st = call("status")
    assert st == "QUEUED" and isinstance(st, kevy.Status)
    assert call("nested") == [[1, [2, {b"k": [3]}]]]


def test_replies_reach_redis_py_clients(server):
    server.register_command("t.hello", lambda ctx, name: b"hello " + name, arity=2)
    r = redis.Redis(host=server.host, port=server.port)
    assert r.execute_command("T.HELLO", "ada") == b"hello ada"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("T.HELLO")
    r.close()


def test_returned_error_is_an_error_reply(server):
    server.register_command("t.err", lambda ctx: kevy.ResponseError("NOTFOUND no such player"), keys=(0, 0, 0))
    server.register_command("t.err2", lambda ctx: kevy.Error("plain"), keys=(0, 0, 0))
    with pytest.raises(kevy.ResponseError, match="^NOTFOUND no such player$"):
        server.call("t.err")
    with pytest.raises(kevy.ResponseError, match="^ERR plain$"):
        server.call("t.err2")


def test_exceptions_become_error_replies_and_the_server_stays_up(server):
    def boom(ctx, *args):
        raise ValueError("bad input\nsecond line")

    def raises_response(ctx, *args):
        raise kevy.ResponseError("BUSY try later")

    server.register_command("t.boom", boom, keys=(0, 0, 0))
    server.register_command("t.busy", raises_response, keys=(0, 0, 0))
    server.register_command("t.badtype", lambda ctx: object(), keys=(0, 0, 0))
    server.register_command("t.overflow", lambda ctx: 2**70, keys=(0, 0, 0))
    with pytest.raises(kevy.ResponseError, match="^ERR ValueError: bad input second line$"):
        server.call("t.boom")
    with pytest.raises(kevy.ResponseError, match="^BUSY try later$"):
        server.call("t.busy")
    with pytest.raises(kevy.ResponseError, match="TypeError"):
        server.call("t.badtype")
    with pytest.raises(kevy.ResponseError, match="OverflowError"):
        server.call("t.overflow")
    r = redis.Redis(host=server.host, port=server.port)
    for _ in range(3):
        with pytest.raises(redis.ResponseError, match="ValueError"):
            r.execute_command("t.boom")
    assert r.ping()
    r.close()


def test_a_list_holding_itself_is_refused(server):
    loop = []
    loop.append(loop)
    server.register_command("t.loop", lambda ctx: loop, keys=(0, 0, 0))
    with pytest.raises(kevy.ResponseError, match="nested deeper"):
        server.call("t.loop")


def test_ctx_call_runs_builtins_on_held_keys(server):
    def incr_twice(ctx, key):
        ctx.call("INCR", key)
        return ctx.call("INCR", key)

    server.register_command("t.incr2", incr_twice, arity=2, flags="write fast")
    r = redis.Redis(host=server.host, port=server.port)
    for i in range(20):
        key = f"counter{i}"
        assert r.execute_command("t.incr2", key) == 2
        assert server.call("t.incr2", key) == 4
    r.close()


def test_ctx_call_errors_raise_inside_the_callback(server):
    caught = []

    def cmd(ctx, key):
        try:
            ctx.call("LPUSH", key, "x")
        except kevy.ResponseError as e:
            caught.append(str(e))
        return ctx.call("LPUSH", key, "y")  # uncaught: becomes the reply

    server.register_command("t.wrong", cmd, arity=2)
    server.call("SET", "str", "v")
    with pytest.raises(kevy.ResponseError, match="^WRONGTYPE"):
        server.call("t.wrong", "str")
    assert caught and caught[0].startswith("WRONGTYPE")


def test_ctx_call_on_a_key_of_another_shard_is_refused(server):
    def copy(ctx, src, dst):
        return ctx.call("SET", dst, ctx.call("GET", src) or b"")

    # Only the first key is declared: a dst on another shard is refused, no deadlock.
    server.register_command("t.copy1", copy, arity=3, keys=(1, 1, 1))
    server.register_command("t.copy2", copy, arity=3, keys=(1, 2, 1))
    server.call("SET", "src", "v")
    refused = 0
    for i in range(20):
        try:
            server.call("t.copy1", "src", f"dst{i}")
        except kevy.ResponseError as e:
            assert "does not hold" in str(e)
            refused += 1
        assert server.call("t.copy2", "src", f"dst{i}") == "OK"
        assert server.call("GET", f"dst{i}") == b"v"
    assert refused > 0


def test_context_attributes_and_expiry(server):
    kept = []

    def cmd(ctx, *args):
        kept.append(ctx)
        assert ctx.valid
        return [ctx.name, ctx.shard, ctx.now_ms > 0]

    server.register_command("T.Ctx", cmd, keys=(0, 0, 0))
    name, shard, now_ok = server.call("T.Ctx")
    assert name == b"T.Ctx" and shard in range(3) and now_ok is True
    ctx = kept[0]
    assert not ctx.valid
    assert "expired" in repr(ctx)
    with pytest.raises(kevy.ClosedError):
        ctx.call("PING")


def test_context_from_another_thread_is_refused(server):
    errors = []

    def cmd(ctx):
        def use():
            try:
                ctx.call("PING")
            except kevy.UsageError as e:
                errors.append(e)

        t = threading.Thread(target=use)
        t.start()
        t.join()
        return 1

    server.register_command("t.thread", cmd, keys=(0, 0, 0))
    assert server.call("t.thread") == 1
    assert len(errors) == 1


def test_server_methods_inside_a_callback_are_refused(server):
    def cmd(ctx, what):
        if what == b"call":
            server.call("PING")
        elif what == b"stop":
            server.stop()
        elif what == b"snapshot":
            server.snapshot()
        return 0

    server.register_command("t.inside", cmd, arity=2, keys=(0, 0, 0))
    for what in ("call", "stop", "snapshot"):
        with pytest.raises(kevy.ResponseError, match="UsageError"):
            server.call("t.inside", what)
    assert server.running


def test_nested_custom_commands(server):
    server.register_command("t.inner", lambda ctx, k: ctx.call("INCR", k), arity=2)
    server.register_command("t.outer", lambda ctx, k: ctx.call("t.inner", k) * 10, arity=2)
    assert server.call("t.outer", "n") == 10


def test_registration_errors(server):
    with pytest.raises(kevy.ConfigError, match="built-in"):
        server.register_command("get", lambda ctx: None)
    with pytest.raises(kevy.ConfigError):
        server.register_command("t.x", lambda ctx: None, arity=0)
    with pytest.raises(kevy.ConfigError):
        server.register_command("bad name", lambda ctx: None)
    with pytest.raises(kevy.ConfigError, match="bogus"):
        server.register_command("t.x", lambda ctx: None, flags="write bogus")
    with pytest.raises(TypeError):
        server.register_command("t.x", "not callable")
    server.register_command("t.flags", lambda ctx: 1, flags=["readonly", "fast"], keys=(0, 0, 0))
    info = server.call("COMMAND", "INFO", "t.flags")[0]
    assert b"readonly" in info[2] or kevy.Status("readonly") in info[2]


def test_replacing_a_command(server):
    server.register_command("t.v", lambda ctx: 1, keys=(0, 0, 0))
    server.register_command("t.v", lambda ctx: 2, keys=(0, 0, 0))
    assert server.call("t.v") == 2


def test_callbacks_and_host_calls_run_concurrently(server):
    """A Python thread calls the server in a loop while redis-py clients (each in its
    own thread) hit a Python custom command: callbacks on shard threads take the GIL,
    host calls release it, and nothing deadlocks."""

    def add(ctx, key, n):
        return ctx.call("INCRBY", key, int(n))

    server.register_command("t.add", add, arity=3, flags="write")
    stop = threading.Event()
    host_calls = [0]
    failures = []

    def host_loop():
        while not stop.is_set():
            server.call("t.add", "host", 1)
            server.call("INCR", "plain")
            host_calls[0] += 1

    def client_loop(i):
        try:
            r = redis.Redis(host=server.host, port=server.port)
            for _ in range(300):
                r.execute_command("t.add", f"c{i % 3}", 1)
            r.close()
        except Exception as e:  # pragma: no cover - reported below
            failures.append(e)

    host = threading.Thread(target=host_loop)
    host.start()
    clients = [threading.Thread(target=client_loop, args=(i,)) for i in range(6)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(timeout=60)
    stop.set()
    host.join(timeout=60)
    assert not failures
    assert not host.is_alive() and not any(t.is_alive() for t in clients)
    total = sum(int(server.call("GET", f"c{i}")) for i in range(3))
    assert total == 6 * 300
    assert int(server.call("GET", "host")) == host_calls[0]


def test_callback_exceptions_are_logged_at_debug(server, caplog):
    def boom(ctx):
        raise RuntimeError("logged")

    server.register_command("t.logged", boom, keys=(0, 0, 0))
    caplog.set_level(logging.DEBUG, logger="kevy")
    with pytest.raises(kevy.ResponseError):
        server.call("t.logged")
    records = [r for r in caplog.records if r.name == "kevy" and "t.logged" in r.getMessage()]
    assert records and records[0].exc_info is not None


def test_ctrl_c_inside_a_callback_run_by_call_raises_keyboard_interrupt(server):
    def spin(ctx):
        _thread.interrupt_main()  # as if Ctrl-C arrived while the command runs
        for _ in range(10_000_000):
            pass
        return 1

    server.register_command("t.spin", spin, keys=(0, 0, 0))
    with pytest.raises(KeyboardInterrupt):
        server.call("t.spin")
    assert server.call("PING") == "PONG"  # and the server is fine


def test_client_commands_run_callbacks_on_shard_threads(server):
    seen = []

    def where(ctx, key):
        seen.append((threading.get_ident(), ctx.shard))
        return 1

    server.register_command("t.where", where, arity=2)
    r = redis.Redis(host=server.host, port=server.port)
    for i in range(10):
        r.execute_command("t.where", f"k{i}")
    r.close()
    assert all(ident != threading.main_thread().ident for ident, _ in seen)
    assert {shard for _, shard in seen} <= {0, 1, 2}
    # In-process calls run the callback on the calling thread.
    seen.clear()
    server.call("t.where", "k")
    assert seen[0][0] == threading.get_ident()


def test_a_custom_command_wakes_a_blocked_client(server):
    server.register_command("t.enqueue", lambda ctx, q, job: ctx.call("RPUSH", q, job), arity=3, flags="write")
    waiter = redis.Redis(host=server.host, port=server.port)
    result = []
    t = threading.Thread(target=lambda: result.append(waiter.blpop(["jobs"], timeout=10)))
    t.start()
    r = redis.Redis(host=server.host, port=server.port)
    deadline = time.monotonic() + 5
    while not r.client_list() or len(r.client_list()) < 2:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    time.sleep(0.1)
    r.execute_command("t.enqueue", "jobs", "j1")
    t.join(timeout=10)
    assert result == [(b"jobs", b"j1")]
    waiter.close()
    r.close()


def test_stop_while_clients_hammer_python_commands():
    """stop() releases the GIL while it joins the shards, so callbacks that are
    waiting for the GIL finish and nothing deadlocks."""
    server = kevy.Server(shards=2)
    server.register_command("t.slow", lambda ctx, k: sum(range(2000)), arity=2)
    stop = threading.Event()

    def hammer(i):
        try:
            # No retries: redis-py's default backs off for seconds once the server is gone.
            r = redis.Redis(host=server.host, port=server.port, socket_timeout=10, retry=Retry(NoBackoff(), 0))
            while not stop.is_set():
                r.execute_command("t.slow", f"k{i}")
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    server.stop()
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    assert not server.running


def test_stop_releases_registered_functions():
    server = kevy.Server()

    class Handler:
        def __call__(self, ctx, *args):
            return server.port  # refers to the server: a cycle until stop

    handler = Handler()
    ref = weakref.ref(handler)
    server.register_command("t.cycle", handler, keys=(0, 0, 0))
    assert server.call("t.cycle") == server.port
    del handler
    assert ref() is not None  # the server holds it
    server.stop()
    server.running  # any call into kevy applies pending releases
    gc.collect()
    assert ref() is None
