"""What kevy.Server() does with no arguments, and how it refuses bad ones."""

from __future__ import annotations

import os

import pytest

import kevy


def test_no_data_dir_loads_nothing_from_the_working_directory(tmp_path, monkeypatch):
    # A SAVE left behind in the working directory (kevy's files or redis-server's
    # dump.rdb) must not come back as data in a server started without data_dir.
    with kevy.Server(data_dir=tmp_path, shards=1) as s:
        s.call("SET", "leftover", "from an old run")
        assert s.call("SAVE") == "OK"
    (tmp_path / "dump.rdb").write_bytes(kevy.Server(shards=1).snapshot().to_bytes())
    before = sorted(os.listdir(tmp_path))
    monkeypatch.chdir(tmp_path)
    with kevy.Server() as s:
        assert s.call("DBSIZE") == 0
        assert s.call("CONFIG", "GET", "save")[b"save"] == b""
        assert s.call("CONFIG", "GET", "appendonly")[b"appendonly"] == b"no"
        dir_ = s.call("CONFIG", "GET", "dir")[b"dir"].decode()
        assert os.path.realpath(dir_) != os.path.realpath(tmp_path)
        s.call("SET", "k", "v")
        assert s.call("SAVE") == "OK"
        assert os.listdir(dir_), "SAVE wrote into the private directory"
    assert sorted(os.listdir(tmp_path)) == before, "nothing written into the working directory"
    assert not os.path.exists(dir_), "the private directory goes with the server"


def test_a_dir_in_config_counts_as_given(tmp_path):
    with kevy.Server(data_dir=tmp_path) as s:
        s.call("SET", "kept", "1")
        s.call("SAVE")
    with kevy.Server(config={"dir": str(tmp_path)}) as s:
        assert s.call("GET", "kept") == b"1"
    assert any(tmp_path.iterdir()), "a given directory is never removed"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shards": -1}, "shards must be from 0 to 1024 (0: one per core), not -1"),
        ({"shards": 5000}, "shards must be from 0 to 1024 (0: one per core), not 5000"),
        ({"port": 70000}, "port must be from 0 to 65535 (0: any free port), not 70000"),
        ({"port": -1}, "port must be from 0 to 65535 (0: any free port), not -1"),
        ({"port": 2**70}, f"port must be from 0 to 65535 (0: any free port), not {2**70}"),
        ({"clock": "fast"}, "clock must be 'system' or 'manual', not \"fast\""),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, message):
    with pytest.raises(ValueError) as info:
        kevy.Server(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs, name", [({"port": "6379"}, "port"), ({"shards": True}, "shards"), ({"port": 1.5}, "port")])
def test_wrong_types_raise_type_error_naming_them(kwargs, name):
    with pytest.raises(TypeError, match=f"^{name} must be an int"):
        kevy.Server(**kwargs)


def test_subscribe_in_process_is_refused(kevy_db):
    # call() has no connection to deliver messages to: the subscribe family is
    # refused (as MULTI is), and nothing is left subscribed.
    for cmd in (["SUBSCRIBE", "c"], ["PSUBSCRIBE", "c*"], ["SSUBSCRIBE", "c"], ["UNSUBSCRIBE"]):
        with pytest.raises(kevy.ResponseError, match="needs a client connection"):
            kevy_db.call(*cmd)
    assert kevy_db.call("PUBSUB", "NUMSUB", "c") == [b"c", 0]
    assert kevy_db.call("PUBLISH", "c", "hello") == 0
