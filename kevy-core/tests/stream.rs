//! Streams across shards: blocked XREAD and XREADGROUP woken by XADD from another
//! connection, `$` resolved at block time, BLOCK timeouts, each new entry delivered to
//! exactly one blocked consumer of a group, idle times on a manual clock, and a stream
//! with groups surviving SAVE and a restart with another shard count, in a file
//! redis-check-rdb accepts and redis-server loads as it was.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Client, start, send, settle, spread};

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// `*1 [key, [[id, [f, v]]]]`: one stream with one single-field entry (RESP2).
fn one_entry(key: &str, id: &str, f: &str, v: &str) -> String {
    format!("*1\r\n*2\r\n{}*1\r\n*2\r\n{}*2\r\n{}{}", bulk(key), bulk(id), bulk(f), bulk(v))
}

#[test]
fn blocked_xread_wakes_on_xadd_to_a_stream_of_another_shard() {
    let server = start(4);
    let keys = spread("xr", 4);
    let mut p = Client::connect(server.port());
    for k in &keys {
        assert_eq!(p.cmd(&format!("XADD {k} 5-0 old 1")), bulk("5-0"));
    }
    // Connections land on any shard: with one stream per shard, all but one are remote.
    let mut readers: Vec<Client> = (0..4).map(|_| Client::connect(server.port())).collect();
    for r in &mut readers {
        let mut words = vec!["XREAD", "BLOCK", "0", "STREAMS"];
        words.extend(keys.iter().map(String::as_str));
        words.extend(["$"; 4]);
        send(r, &words);
    }
    settle();
    // Entries older than the block are not returned: `$` was resolved when blocking.
    assert_eq!(p.cmd(&format!("XADD {} 6-0 new 2", keys[2])), bulk("6-0"));
    for r in &mut readers {
        assert_eq!(r.reply(), one_entry(&keys[2], "6-0", "new", "2"));
    }
    // Every reader is served again by the next entry, whatever stream gets it.
    for r in &mut readers {
        send(r, &["XREAD", "BLOCK", "0", "STREAMS", &keys[1], &keys[3], "$", "$"]);
    }
    settle();
    assert_eq!(p.cmd(&format!("XADD {} 7-0 next 3", keys[3])), bulk("7-0"));
    for r in &mut readers {
        assert_eq!(r.reply(), one_entry(&keys[3], "7-0", "next", "3"));
    }
}

#[test]
fn dollar_is_the_last_id_at_block_time_and_ids_read_at_once() {
    let server = start(4);
    let key = spread("dollar", 4)[1].clone();
    let mut r = Client::connect(server.port());
    let mut p = Client::connect(server.port());
    // `$` on a missing stream: anything added later.
    send(&mut r, &["XREAD", "BLOCK", "0", "STREAMS", &key, "$"]);
    settle();
    p.cmd(&format!("XADD {key} 1-0 a 1"));
    assert_eq!(r.reply(), one_entry(&key, "1-0", "a", "1"));
    // An explicit ID below the top returns at once, without blocking.
    assert_eq!(r.cmd(&format!("XREAD BLOCK 0 STREAMS {key} 0")), one_entry(&key, "1-0", "a", "1"));
    // Several entries added in one transaction are all returned to the waiter.
    send(&mut r, &["XREAD", "BLOCK", "0", "STREAMS", &key, "$"]);
    settle();
    p.cmd("MULTI");
    p.cmd(&format!("XADD {key} 2-0 b 2"));
    p.cmd(&format!("XADD {key} 3-0 c 3"));
    p.cmd("EXEC");
    let got = r.reply();
    assert!(got.contains("2-0") && got.contains("3-0") && !got.contains("1-0"), "{got:?}");
    // A write that adds nothing new (XDEL) does not wake the waiter.
    send(&mut r, &["XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", &key, "$"]);
    settle();
    assert_eq!(p.cmd(&format!("XDEL {key} 1-0")), ":1\r\n");
    settle();
    assert_eq!(p.cmd(&format!("XADD {key} 4-0 d 4")), bulk("4-0"));
    assert_eq!(r.reply(), one_entry(&key, "4-0", "d", "4"));
}

#[test]
fn block_timeout_replies_nil() {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", "4").unwrap().set("clock", "manual").unwrap();
    let server = kevy_core::Server::start(cfg).expect("server starts");
    let keys = spread("to", 4);
    let mut r = Client::connect(server.port());
    let mut p = Client::connect(server.port());
    p.cmd(&format!("XGROUP CREATE {} g $ MKSTREAM", keys[3]));
    send(&mut r, &["XREAD", "BLOCK", "1000", "STREAMS", &keys[0], "$"]);
    settle();
    server.advance(1500);
    assert_eq!(r.reply(), "*-1\r\n");
    send(&mut r, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "500", "STREAMS", &keys[3], ">"]);
    settle();
    server.advance(400);
    settle();
    server.advance(200);
    assert_eq!(r.reply(), "*-1\r\n");
    // RESP3: the null.
    assert!(r.cmd("HELLO 3").starts_with('%'));
    send(&mut r, &["XREAD", "BLOCK", "10", "STREAMS", &keys[0], "$"]);
    settle();
    server.advance(20);
    assert_eq!(r.reply(), "_\r\n");
}

#[test]
fn blocked_group_consumers_each_get_an_entry_exactly_once() {
    let server = start(4);
    let key = spread("grp", 4)[3].clone();
    let mut p = Client::connect(server.port());
    assert_eq!(p.cmd(&format!("XGROUP CREATE {key} g $ MKSTREAM")), "+OK\r\n");
    let names = ["c0", "c1", "c2", "c3", "c4"];
    let mut consumers: Vec<Client> = (0..names.len()).map(|_| Client::connect(server.port())).collect();
    for (c, name) in consumers.iter_mut().zip(names) {
        send(c, &["XREADGROUP", "GROUP", "g", name, "COUNT", "10", "BLOCK", "0", "STREAMS", &key, ">"]);
        settle();
    }
    // One pipeline of five XADDs: each waiter takes what is new when it is served.
    let pipeline: Vec<u8> = (1..=5).flat_map(|i| Client::encode(&[b"XADD", key.as_bytes(), format!("{i}-0").as_bytes(), b"n", format!("{i}").as_bytes()])).collect();
    p.send_raw(&pipeline);
    for i in 1..=5 {
        assert_eq!(p.reply(), bulk(&format!("{i}-0")));
    }
    let mut seen = Vec::new();
    for (i, c) in consumers.iter_mut().enumerate() {
        let got = c.reply();
        assert_eq!(got, one_entry(&key, &format!("{}-0", i + 1), "n", &format!("{}", i + 1)), "FIFO order of the waiters");
        seen.push(got);
    }
    seen.dedup();
    assert_eq!(seen.len(), 5, "no entry delivered twice");
    let pending = p.cmd(&format!("XPENDING {key} g"));
    assert!(pending.starts_with("*4\r\n:5\r\n$3\r\n1-0\r\n$3\r\n5-0\r\n*5\r\n"), "{pending:?}");
    // A consumer blocked on a group that is destroyed gets NOGROUP at the next write.
    send(&mut consumers[0], &["XREADGROUP", "GROUP", "g", "c0", "BLOCK", "0", "STREAMS", &key, ">"]);
    settle();
    assert_eq!(p.cmd(&format!("XGROUP DESTROY {key} g")), ":1\r\n");
    assert_eq!(consumers[0].reply(), "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
}

#[test]
fn xreadgroup_blocked_on_streams_of_several_shards() {
    let server = start(4);
    let keys = spread("mg", 4);
    let mut p = Client::connect(server.port());
    for k in &keys[..3] {
        assert_eq!(p.cmd(&format!("XGROUP CREATE {k} g $ MKSTREAM")), "+OK\r\n");
    }
    let mut c = Client::connect(server.port());
    send(&mut c, &["XREADGROUP", "GROUP", "g", "me", "BLOCK", "0", "STREAMS", &keys[0], &keys[1], &keys[2], ">", ">", ">"]);
    settle();
    // A stream of the group's keys that is not watched (another group) does not serve it.
    assert_eq!(p.cmd(&format!("XADD {} 1-0 x 0", keys[3])), bulk("1-0"));
    assert_eq!(p.cmd(&format!("XADD {} 1-0 a 1", keys[1])), bulk("1-0"));
    assert_eq!(c.reply(), one_entry(&keys[1], "1-0", "a", "1"));
    // The consumer exists in every group it read (created when it blocked).
    for k in &keys[..3] {
        let consumers = p.cmd(&format!("XINFO CONSUMERS {k} g"));
        assert!(consumers.starts_with("*1\r\n*6\r\n$4\r\nname\r\n$2\r\nme\r\n"), "{consumers:?}");
    }
    assert_eq!(p.cmd(&format!("XPENDING {} g - + 10 me", keys[1])).matches("1-0").count(), 1);
}

#[test]
fn idle_times_follow_the_clock() {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", "2").unwrap().set("clock", "manual").unwrap();
    let server = kevy_core::Server::start(cfg).expect("server starts");
    let mut c = Client::connect(server.port());
    c.cmd("XADD s 1-0 a 1");
    c.cmd("XADD s 2-0 b 2");
    c.cmd("XGROUP CREATE s g 0");
    c.cmd("XREADGROUP GROUP g alice STREAMS s >");
    server.advance(5000);
    let rows = c.cmd("XPENDING s g - + 10");
    assert_eq!(rows, "*2\r\n*4\r\n$3\r\n1-0\r\n$5\r\nalice\r\n:5000\r\n:1\r\n*4\r\n$3\r\n2-0\r\n$5\r\nalice\r\n:5000\r\n:1\r\n");
    assert_eq!(c.cmd("XPENDING s g IDLE 6000 - + 10"), "*0\r\n");
    // XCLAIM with a minimum idle time takes only entries idle that long.
    assert_eq!(c.cmd("XCLAIM s g bob 6000 1-0 JUSTID"), "*0\r\n");
    assert_eq!(c.cmd("XCLAIM s g bob 4000 1-0 JUSTID"), "*1\r\n$3\r\n1-0\r\n");
    server.advance(100);
    assert_eq!(
        c.cmd("XPENDING s g - + 10"),
        "*2\r\n*4\r\n$3\r\n1-0\r\n$3\r\nbob\r\n:100\r\n:1\r\n*4\r\n$3\r\n2-0\r\n$5\r\nalice\r\n:5100\r\n:1\r\n"
    );
    let auto = c.cmd("XAUTOCLAIM s g carol 1000 0");
    assert_eq!(auto, "*3\r\n$3\r\n0-0\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*0\r\n");
    assert_eq!(
        c.cmd("XINFO CONSUMERS s g"),
        "*3\r\n*6\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:5100\r\n\
         *6\r\n$4\r\nname\r\n$3\r\nbob\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:100\r\n\
         *6\r\n$4\r\nname\r\n$5\r\ncarol\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:0\r\n"
    );
    // The delivery count: 1 on delivery, +1 per XCLAIM/XAUTOCLAIM (2 for 2-0 now).
    assert!(c.cmd("XPENDING s g - + 10 carol").ends_with(":0\r\n:2\r\n"));
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kevy-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start_in(dir: &std::path::Path, shards: usize) -> kevy_core::Server {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().unwrap()).unwrap();
    kevy_core::Server::start(cfg).expect("server starts")
}

#[test]
fn streams_with_groups_survive_save_and_a_restart() {
    let dir = scratch("save");
    let full = |c: &mut Client| (c.cmd("XINFO STREAM s FULL COUNT 0"), c.cmd("XINFO STREAM e FULL"), c.cmd("XRANGE s - +"));
    let before = {
        let server = start_in(&dir, 3);
        let mut c = Client::connect(server.port());
        for i in 1..=250 {
            c.cmd(&format!("XADD s {i}-{} f{} v{i}", i % 3, i % 4));
        }
        c.cmd("XDEL s 7-1 8-2 150-0");
        c.cmd("XGROUP CREATE s g 0");
        c.cmd("XGROUP CREATE s g2 $ ENTRIESREAD 250");
        c.cmd("XREADGROUP GROUP g alice COUNT 5 STREAMS s >");
        c.cmd("XREADGROUP GROUP g bob COUNT 3 STREAMS s >");
        c.cmd("XGROUP CREATECONSUMER s g carol");
        c.cmd("XADD e 1-0 a b");
        c.cmd("XDEL e 1-0");
        assert_eq!(c.cmd("SAVE"), "+OK\r\n");
        let b = full(&mut c);
        server.stop();
        b
    };
    let server = start_in(&dir, 2);
    let mut c = Client::connect(server.port());
    assert_eq!(full(&mut c), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a program; None when it is not installed.
fn run(program: &str, args: &[&str]) -> Option<std::process::Output> {
    std::process::Command::new(program).args(args).output().ok()
}

#[test]
fn redis_server_loads_kevy_stream_snapshots_as_they_were() {
    if run("redis-server", &["--version"]).is_none() || run("redis-check-rdb", &["--version"]).is_none() {
        eprintln!("redis-server or redis-check-rdb missing: skipped");
        return;
    }
    let dir = scratch("redis");
    let server = start_in(&dir, 1);
    let port = server.port().to_string();
    let mut c = Client::connect(server.port());
    for i in 1..=230 {
        c.cmd(&format!("XADD s {i}-{} f{} {} g x{i}", i % 3, i % 7, i * 977));
    }
    c.cmd("XDEL s 5-2 6-0 200-2");
    c.cmd("XGROUP CREATE s g 0");
    c.cmd("XREADGROUP GROUP g alice COUNT 4 STREAMS s >");
    c.cmd("XREADGROUP GROUP g bob COUNT 2 STREAMS s >");
    c.cmd("XGROUP CREATECONSUMER s g carol");
    c.cmd("XGROUP CREATE s g2 $ ENTRIESREAD 7");
    c.cmd("XGROUP CREATE empty g 0 MKSTREAM");
    assert_eq!(c.cmd("SAVE"), "+OK\r\n");
    let info = |args: &[&str]| run("redis-cli", args).map(|o| o.stdout).unwrap_or_default();
    let kevy_s = info(&["-p", &port, "XINFO", "STREAM", "s", "FULL", "COUNT", "0"]);
    let kevy_e = info(&["-p", &port, "XINFO", "STREAM", "empty", "FULL"]);
    server.stop();
    let rdb = dir.join("dump-0.rdb");
    let check = run("redis-check-rdb", &[rdb.to_str().unwrap()]).unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let sock = dir.join("redis.sock");
    let mut redis = std::process::Command::new("redis-server")
        .args(["--port", "0", "--unixsocket", sock.to_str().unwrap(), "--dir", dir.to_str().unwrap()])
        .args(["--dbfilename", "dump-0.rdb", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sock = sock.to_str().unwrap();
    for _ in 0..100 {
        if info(&["-s", sock, "PING"]).starts_with(b"PONG") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let redis_s = info(&["-s", sock, "XINFO", "STREAM", "s", "FULL", "COUNT", "0"]);
    let redis_e = info(&["-s", sock, "XINFO", "STREAM", "empty", "FULL"]);
    let _ = redis.kill();
    let _ = redis.wait();
    assert!(redis_s.len() > 1000);
    assert_eq!(String::from_utf8_lossy(&redis_s), String::from_utf8_lossy(&kevy_s));
    assert_eq!(String::from_utf8_lossy(&redis_e), String::from_utf8_lossy(&kevy_e));
    let _ = std::fs::remove_dir_all(&dir);
}
