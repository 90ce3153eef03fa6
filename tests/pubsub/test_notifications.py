"""Keyspace notifications, differential: the same commands against kevy-server
(3 shards) and redis-server 7, with `notify-keyspace-events` set; a subscriber
(PSUBSCRIBE __key*__:*) on each collects the events, which must be the same.

Events of different keys may interleave differently across kevy's shards, so the
comparison is per key: for every key, the same events in the same order.
"""
import os
import socket
import subprocess
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEVY = os.environ.get("KEVY_SERVER", os.path.join(ROOT, "target", "debug", "kevy-server"))

COMMANDS = [
    "SET s 1", "SET s 2 EX 100", "SETNX s 3", "SETNX s2 3", "APPEND s x", "INCR n", "INCRBY n 5", "DECR n",
    "INCRBYFLOAT f 1.5", "SETRANGE s 0 ab", "GETDEL s2", "GETDEL missing", "MSET m1 a m2 b",
    "EXPIRE m1 100", "PERSIST m1", "PERSIST m1", "RENAME m1 m3", "DEL m2 m3 nothere", "DEL nothere",
    "LPUSH l a b c", "RPUSH l d", "LPOP l", "RPOP l", "LSET l 0 z", "LINSERT l BEFORE z y", "LREM l 0 nothere",
    "LTRIM l 0 0", "RPOPLPUSH l l2", "LMOVE l2 l3 LEFT RIGHT", "LPOP nolist",
    "HSET h a 1 b 2", "HSETNX h a 9", "HINCRBY h a 1", "HINCRBYFLOAT h b 0.5", "HDEL h a", "HDEL h b",
    "SADD st a b c", "SADD st a", "SREM st a", "SREM st zz", "SMOVE st st2 b", "SINTERSTORE st3 st st2", "SPOP st",
    "ZADD z 1 a 2 b", "ZADD z INCR 5 a", "ZINCRBY z 1 b", "ZREM z a", "ZREMRANGEBYSCORE z 0 1",
    "ZADD z 1 a 2 b 3 c", "ZREMRANGEBYRANK z 0 0", "ZPOPMIN z", "ZPOPMAX z", "ZUNIONSTORE z2 1 z",
    "XADD xs 1-1 f v", "XADD xs 2-1 f w", "XGROUP CREATE xs g 0", "XGROUP CREATECONSUMER xs g c1",
    "XGROUP CREATECONSUMER xs g c1", "XDEL xs 1-1", "XDEL xs 9-9", "XTRIM xs MAXLEN 0", "XSETID xs 5-5",
    "XGROUP SETID xs g $", "XGROUP DELCONSUMER xs g c1", "XGROUP DESTROY xs g", "XGROUP DESTROY xs g",
    "XADD nostream NOMKSTREAM * f v",
    # Events only the handler can name: expiry options, sides, the key a pop took from.
    "SET g 1", "GETEX g EX 100", "GETEX g PERSIST", "GETEX nog EX 5", "COPY g g2", "RENAMENX g g2", "RENAMENX g g3",
    "PEXPIRE g3 100000", "EXPIREAT g3 1", "RPUSH q a b c", "LMOVE q q2 RIGHT LEFT", "LMPOP 2 noq q RIGHT COUNT 5",
    "BLPOP q2 1", "RPUSH q3 x", "BRPOP noq q3 1", "BLMOVE q2 q4 LEFT LEFT 1", "RPUSH q5 a", "BLMPOP 1 2 noq q5 LEFT",
    "ZADD zz 1 a 2 b 3 c", "ZMPOP 1 zz MIN", "BZPOPMAX zz 1", "BZMPOP 1 1 zz MAX COUNT 3", "ZADD zz NX INCR 1 a",
    "SADD sm a", "SMOVE sm sm a", "SPOP sm 0", "SET ex1 v EX 100 GET", "SET ex2 v KEEPTTL",
    "SET gone v PX 30",
    # Bits: SETBIT and BITFIELD signal only a change; BITOP `set`s or deletes its destination.
    "SETBIT bm 3 1", "SETBIT bm 3 1", "SETBIT bm 3 0", "SETBIT bm 100 0", "BITFIELD bf SET u8 0 0",
    "BITFIELD bf SET u8 0 0", "BITFIELD bf INCRBY u8 0 1", "BITFIELD bf GET u8 0", "BITFIELD bfn OVERFLOW FAIL INCRBY u2 0 9",
    "BITFIELD_RO bf GET u8 0", "BITOP OR bo bm bf", "BITOP AND bo nobm", "BITOP AND bo nobm", "BITOP NOT bo2 bm",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


@pytest.fixture
def servers():
    rp, kp = free_port(), free_port()
    procs = [
        start(["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no", "--databases", "1"], rp),
        start([KEVY, "--port", str(kp), "--shards", "3"], kp),
    ]
    yield {"redis": rp, "kevy": kp}
    for p in procs:
        p.terminate()
        p.wait(10)


def events(port, flags):
    r = redis.Redis(port=port)
    assert r.config_set("notify-keyspace-events", flags)
    shown = r.config_get("notify-keyspace-events")["notify-keyspace-events"]
    sub = r.pubsub()
    sub.psubscribe("__key*__:*")
    assert sub.get_message(timeout=2)["type"] == "psubscribe"
    for line in COMMANDS:
        try:
            r.execute_command(*line.split())
        except redis.ResponseError:
            pass
    time.sleep(0.3)
    r.get("gone")  # expired by now: lazily or by the reaper
    # Every event above was published before its command replied: this marker,
    # published last, arrives last.
    r.publish("__keyspace@0__:~end", "end")
    got = []
    deadline = time.time() + 10
    while time.time() < deadline:
        m = sub.get_message(timeout=1)
        if m is None or m["type"] != "pmessage":
            continue
        pair = (m["channel"].decode(), m["data"].decode())
        if pair == ("__keyspace@0__:~end", "end"):
            break
        got.append(pair)
    else:
        raise AssertionError("the end marker never came")
    sub.close()
    return shown, got


def by_key(got):
    """(key -> [events]) from keyspace channels, (event -> sorted keys) from keyevent ones."""
    space, event = {}, {}
    for ch, data in got:
        if ch.startswith("__keyspace@0__:"):
            space.setdefault(ch.split(":", 1)[1], []).append(data)
        else:
            event.setdefault(ch.split(":", 1)[1], []).append(data)
    return space, {k: sorted(v) for k, v in event.items()}


@pytest.mark.parametrize("flags", ["KEA", "Kl", "Egx", "KEA$n"])
def test_notifications_match_redis(servers, flags):
    r_shown, r_got = events(servers["redis"], flags)
    k_shown, k_got = events(servers["kevy"], flags)
    if "n" not in flags:  # redis-server shows "AKE" for "KEAn"; kevy keeps the n
        assert k_shown == r_shown
    assert r_got, "redis signalled events"
    assert by_key(k_got) == by_key(r_got)
