//! Lua scripting end to end: SCRIPT KILL from another connection, scripts atomic across
//! shards, errors that leave the server serving, undeclared keys, in-process EVAL.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{start, Client};
use kevy_core::shard_of;

/// `count` keys named `prefix:i` on distinct shards of an `shards`-shard server.
fn keys_on_distinct_shards(prefix: &str, count: usize, shards: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut seen = Vec::new();
    for i in 0.. {
        let k = format!("{prefix}:{i}");
        let s = shard_of(k.as_bytes(), shards);
        if !seen.contains(&s) {
            seen.push(s);
            keys.push(k);
        }
        if keys.len() == count {
            return keys;
        }
    }
    unreachable!()
}

fn send(c: &mut Client, args: &[&str]) -> String {
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send_raw(&Client::encode(&words));
    c.reply()
}

/// Sends `request` on fresh connections until one answers within 300 ms with a reply
/// that `accept` takes; returns that connection and reply (None after 20 s). A
/// connection landing on the shard busy with a script gets no answer before
/// `busy-reply-threshold` (then `-BUSY` from the script's hook) and is dropped:
/// connections are spread over shards by the kernel, so another one is tried.
fn probe_until(port: u16, request: &[u8], accept: impl Fn(&str) -> bool) -> Option<(TcpStream, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        s.write_all(request).unwrap();
        let mut buf = [0u8; 512];
        if let Ok(n) = s.read(&mut buf) {
            let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
            if accept(&reply) {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                return Some((s, reply));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    None
}

/// SCRIPT KILL from a shard that is not busy, once the script runs: the reply.
fn kill_from_another_shard(port: u16) -> Option<String> {
    probe_until(port, b"SCRIPT KILL\r\n", |r| !r.starts_with("-NOTBUSY")).map(|(_, r)| r)
}

#[test]
fn script_kill_stops_a_busy_read_only_script() {
    let server = start(4);
    let port = server.port();
    let key = keys_on_distinct_shards("busy", 1, 4).remove(0);
    let mut looping = Client::connect(port);
    // Reads a key, then spins forever, even catching errors with pcall.
    let body = "redis.call('get', KEYS[1]) while true do pcall(function() end) end";
    looping.send_raw(&Client::encode(&[b"EVAL", body.as_bytes(), b"1", key.as_bytes()]));

    assert_eq!(kill_from_another_shard(port).as_deref(), Some("+OK\r\n"));
    let reply = looping.reply();
    assert!(reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{reply}");
    assert!(reply.ends_with(", on @user_script:1.\r\n"), "{reply}");
    // The shard serves again, and nothing is left running.
    assert_eq!(looping.cmd("PING"), "+PONG\r\n");
    assert_eq!(looping.cmd("SCRIPT KILL"), "-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn script_kill_refuses_a_script_that_wrote() {
    let server = start(2);
    let port = server.port();
    let key = keys_on_distinct_shards("wrote", 1, 2).remove(0);
    let mut looping = Client::connect(port);
    // Writes, then spins for a while (long enough for the kill attempt), then returns.
    let body = "redis.call('set', KEYS[1], 'x') local i = 0 while i < 100000000 do i = i + 1 end return i";
    looping.send_raw(&Client::encode(&[b"EVAL", body.as_bytes(), b"1", key.as_bytes()]));
    let Some(reply) = kill_from_another_shard(port) else {
        return; // The script finished before a kill reached it: nothing to check.
    };
    assert!(reply.starts_with("-UNKILLABLE Sorry the script already executed write commands"), "{reply}");
    assert_eq!(looping.reply(), ":100000000\r\n");
}

#[test]
fn a_script_moving_value_across_shards_is_atomic() {
    let server = start(4);
    let port = server.port();
    let keys = keys_on_distinct_shards("acct", 4, 4);
    let mut setup = Client::connect(port);
    for k in &keys {
        assert_eq!(send(&mut setup, &["SET", k, "1000"]), "+OK\r\n");
    }
    let transfer = "local n = tonumber(ARGV[1]) \
        if tonumber(redis.call('get', KEYS[1])) < n then return 0 end \
        redis.call('decrby', KEYS[1], n) redis.call('incrby', KEYS[2], n) return 1";
    let sha = send(&mut setup, &["SCRIPT", "LOAD", transfer]);
    let sha = sha.lines().nth(1).unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let movers: Vec<_> = (0..3)
        .map(|w| {
            let (keys, stop, sha) = (keys.clone(), Arc::clone(&stop), sha.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let (from, to) = (&keys[i % 4], &keys[(i + 1 + w) % 4]);
                    let amount = (i % 37 + 1).to_string();
                    let r = send(&mut c, &["EVALSHA", &sha, "2", from, to, &amount]);
                    assert!(r == ":1\r\n" || r == ":0\r\n", "{r}");
                    i += 1;
                }
            })
        })
        .collect();
    let mut reader = Client::connect(port);
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    for _ in 0..2000 {
        let reply = send(&mut reader, &mget);
        let total: i64 = reply.lines().filter(|l| !l.starts_with('*') && !l.starts_with('$')).map(|l| l.parse::<i64>().unwrap()).sum();
        assert_eq!(total, 4000, "a reader saw a transfer half done: {reply}");
    }
    stop.store(true, Ordering::Relaxed);
    movers.into_iter().for_each(|m| m.join().unwrap());
}

#[test]
fn script_errors_leave_the_server_serving() {
    let server = start(2);
    let mut c = Client::connect(server.port());
    let cases: &[(&str, &str)] = &[
        ("error('boom')", "-ERR user_script:1: boom script: "),
        ("return 1 +", "-ERR Error compiling script (new function): user_script:1:"),
        ("local function f() return f() + 1 end return f()", "-ERR user_script:1: stack overflow"),
        ("return redis.call('nosuch')", "-ERR Unknown Redis command called from script script: "),
        ("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x", "-ERR "),
        ("return string.rep('x', -1)", "$0\r\n"),
    ];
    for (body, want) in cases {
        let reply = send(&mut c, &["EVAL", body, "0"]);
        assert!(reply.starts_with(want), "{body}: {reply}");
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
    }
    // A table that contains itself is cut, not followed forever.
    let reply = send(&mut c, &["EVAL", "local t = {} t[1] = t return t", "0"]);
    assert!(reply.contains("-ERR reached lua stack limit"), "{}", &reply[..40]);
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
}

#[test]
fn undeclared_keys_on_other_shards_are_reached() {
    let server = start(4);
    let mut c = Client::connect(server.port());
    let keys = keys_on_distinct_shards("k", 2, 4);
    let body = "return redis.pcall('get', ARGV[1])";
    // As standalone Redis: the script reaches the undeclared key (scripting::reach).
    assert_eq!(send(&mut c, &["EVAL", body, "1", &keys[0], &keys[1]]), "$-1\r\n");
    // Declared, the same access works.
    assert_eq!(send(&mut c, &["SET", &keys[1], "v"]), "+OK\r\n");
    let body = "return redis.call('get', KEYS[2])";
    assert_eq!(send(&mut c, &["EVAL", body, "2", &keys[0], &keys[1]]), "$1\r\nv\r\n");
}

#[test]
fn eval_runs_in_process_and_the_cache_is_shared_by_shards() {
    let server = start(3);
    let reply = server.call(&["EVAL", "return redis.call('incrby', KEYS[1], ARGV[1])", "1", "n", "5"]);
    assert_eq!(reply, kevy_core::Reply::Int(5));
    let sha = match server.call(&["SCRIPT", "LOAD", "return KEYS[1]"]) {
        kevy_core::Reply::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    // Any connection, whatever its shard, finds the script.
    for _ in 0..6 {
        let mut c = Client::connect(server.port());
        let key = "some-key";
        assert_eq!(send(&mut c, &["EVALSHA", &sha, "1", key]), "$8\r\nsome-key\r\n");
    }
    assert_eq!(server.call(&["SCRIPT", "FLUSH"]), kevy_core::Reply::Status(b"OK".to_vec()));
    let mut c = Client::connect(server.port());
    assert_eq!(send(&mut c, &["EVALSHA", &sha, "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

#[test]
fn commands_for_a_shard_busy_with_a_script_get_busy_replies() {
    let server = start(4);
    let port = server.port();
    let keys = keys_on_distinct_shards("b", 4, 4);
    let mut looping = Client::connect(port);
    assert_eq!(looping.cmd("CONFIG SET lua-time-limit 100"), "+OK\r\n");
    assert_eq!(looping.cmd("CONFIG GET busy-reply-threshold"), "*2\r\n$20\r\nbusy-reply-threshold\r\n$3\r\n100\r\n");
    let body = "while true do end";
    looping.send_raw(&Client::encode(&[b"EVAL", body.as_bytes(), b"1", keys[0].as_bytes()]));
    // Once past the threshold, a command for the busy shard from another shard's
    // connection gets -BUSY; keys of other shards are served as usual.
    let get_busy = Client::encode(&[b"GET", keys[0].as_bytes()]);
    let busy = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    let get_free = Client::encode(&[b"GET", keys[1].as_bytes()]);
    let mut other = loop {
        let (mut c, reply) = probe_until(port, &get_busy, |r| r.starts_with("-BUSY")).expect("a -BUSY reply");
        assert_eq!(reply, busy);
        // The busy shard's own connections get -BUSY for every key (from the script's
        // hook): this test wants one of another shard.
        c.write_all(&get_free).unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).unwrap();
        if &buf[..n] == b"$-1\r\n" {
            break c;
        }
    };
    for key in &keys[1..] {
        other.write_all(&Client::encode(&[b"GET", key.as_bytes()])).unwrap();
        let mut buf = [0u8; 256];
        let n = other.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"$-1\r\n");
    }
    other.write_all(b"SCRIPT KILL\r\n").unwrap();
    let mut buf = [0u8; 256];
    let n = other.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+OK\r\n");
    assert!(looping.reply().starts_with("-ERR Script killed"));
    assert_eq!(send(&mut looping, &["GET", &keys[0]]), "$-1\r\n");
}

#[test]
fn a_script_push_wakes_a_blocked_client() {
    let server = start(3);
    let port = server.port();
    let mut waiter = Client::connect(port);
    waiter.send_raw(&Client::encode(&[b"BLPOP", b"jobs", b"5"]));
    std::thread::sleep(Duration::from_millis(100));
    let mut pusher = Client::connect(port);
    let body = "return redis.call('rpush', KEYS[1], ARGV[1])";
    assert_eq!(send(&mut pusher, &["EVAL", body, "1", "jobs", "job-1"]), ":1\r\n");
    assert_eq!(waiter.reply(), "*2\r\n$4\r\njobs\r\n$5\r\njob-1\r\n");
}

#[test]
fn functions_load_once_and_run_on_every_shard() {
    let server = start(4);
    let port = server.port();
    let code = "#!lua name=bank\n\
        redis.register_function('move', function(keys, args)\n\
          redis.call('decrby', keys[1], args[1]) return redis.call('incrby', keys[2], args[1]) end)\n\
        redis.register_function{function_name='total', callback=function(keys)\n\
          local s = 0 for _, k in ipairs(keys) do s = s + (tonumber(redis.call('get', k)) or 0) end return s end,\n\
          flags={'no-writes'}}";
    let mut c = Client::connect(port);
    assert_eq!(send(&mut c, &["FUNCTION", "LOAD", code]), "$4\r\nbank\r\n");
    let keys = keys_on_distinct_shards("fn", 4, 4);
    for (i, k) in keys.iter().enumerate() {
        let mut other = Client::connect(port);
        let next = &keys[(i + 1) % 4];
        // Each move returns the receiver's new balance; the last one closes the ring.
        let want = if i == 3 { ":0\r\n" } else { ":5\r\n" };
        assert_eq!(send(&mut other, &["FCALL", "move", "2", k, next, "5"]), want);
    }
    let mut total = vec!["FCALL_RO", "total", "4"];
    total.extend(keys.iter().map(String::as_str));
    assert_eq!(send(&mut c, &total), ":0\r\n");
    assert_eq!(send(&mut c, &["FCALL_RO", "move", "2", &keys[0], &keys[1], "1"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n");
    assert_eq!(send(&mut c, &["FUNCTION", "DELETE", "bank"]), "+OK\r\n");
    assert_eq!(send(&mut c, &["FCALL", "total", "0"]), "-ERR Function not found\r\n");
}
