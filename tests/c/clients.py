"""redis-py against a C host (examples/c/server) serving the custom commands of
examples/c/game_commands.c. Run by tests/c/run.sh: python3 tests/c/clients.py PORT"""

import sys

import redis


def check_resp2(port: int) -> None:
    r = redis.Redis(port=port, decode_responses=True)
    assert r.ping()
    r.delete("py:board")
    assert r.execute_command("LEADERBOARD.ADD", "py:board", "ann", 10) == 10
    assert r.execute_command("LEADERBOARD.ADD", "py:board", "ben", 30) == 30
    assert r.execute_command("LEADERBOARD.ADD", "py:board", "ann", 25) == 35
    assert r.execute_command("LEADERBOARD.TOPN", "py:board", 5) == [["ann", 35], ["ben", 30]]
    assert r.execute_command("LEADERBOARD.RANK", "py:board", "ben") == 2
    assert r.execute_command("LEADERBOARD.RANK", "py:board", "nobody") is None
    # The custom command's data is kevy's own sorted set.
    assert r.zscore("py:board", "ann") == 35.0
    # A callback that replies with an error.
    try:
        r.execute_command("LEADERBOARD.ADD", "py:board", "ann", "many")
        raise AssertionError("expected an error reply")
    except redis.ResponseError as e:
        assert str(e) == "points must be an integer", str(e)
    try:
        r.execute_command("LEADERBOARD.TOPN", "py:board")
        raise AssertionError("expected an arity error")
    except redis.ResponseError as e:
        assert "wrong number of arguments" in str(e), str(e)
    # WRONGTYPE from the built-in command the callback ran, forwarded as is.
    r.set("py:str", "x")
    try:
        r.execute_command("LEADERBOARD.ADD", "py:str", "ann", 1)
        raise AssertionError("expected WRONGTYPE")
    except redis.ResponseError as e:
        assert "WRONGTYPE" in str(e), str(e)
    # Custom commands in a pipeline, on keys of every shard.
    p = r.pipeline(transaction=False)
    for i in range(20):
        p.execute_command("RATELIMIT.HIT", f"py:rl:{i}", 2, 60000)
        p.execute_command("RATELIMIT.HIT", f"py:rl:{i}", 2, 60000)
        p.execute_command("RATELIMIT.HIT", f"py:rl:{i}", 2, 60000)
    out = p.execute()
    for i in range(20):
        first, second, third = out[3 * i : 3 * i + 3]
        assert first[:2] == [1, 1] and second[:2] == [1, 0] and third[:2] == [0, 0], (first, second, third)
        assert 0 < third[2] <= 60000
    info = r.execute_command("COMMAND", "INFO", "leaderboard.topn")
    assert info, info


def check_resp3(port: int) -> None:
    r = redis.Redis(port=port, protocol=3, decode_responses=True)
    assert r.execute_command("LEADERBOARD.TOPN", "py:board", 1) == [["ann", 35]]


def main() -> None:
    port = int(sys.argv[1])
    check_resp2(port)
    check_resp3(port)
    print("redis-py: 2 passed, 0 failed")


if __name__ == "__main__":
    main()
