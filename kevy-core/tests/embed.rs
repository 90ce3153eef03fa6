//! The embedding API: in-process calls, custom commands (from sockets and from calls),
//! the manual clock, snapshots, and starting and stopping many servers in one process.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{start, Client};
use kevy_core::{CommandCtx, CustomSpec, KeySpec, Reply, Server};

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn spec(name: &str, arity: i32, flags: &str, keys: KeySpec) -> CustomSpec {
    CustomSpec { name: name.into(), arity, flags: kevy_core::parse_flags(flags).unwrap(), keys }
}

/// A key that lives on `shard` of a `shards`-shard server.
fn key_on(prefix: &str, shard: usize, shards: usize) -> String {
    (0..).map(|i| format!("{prefix}{i}")).find(|k| kevy_core::shard_of(k.as_bytes(), shards) == shard).unwrap()
}

#[test]
fn calls_run_every_kind_of_command_in_process() {
    let server = start(3);
    assert_eq!(server.call(&["SET", "k", "v"]), Reply::Status(b"OK".to_vec()));
    assert_eq!(server.call(&["GET", "k"]), bulk("v"));
    assert_eq!(server.call(&["GET", "missing"]), Reply::Nil);
    assert_eq!(server.call(&["INCRBY", "n", "5"]), Reply::Int(5));
    assert_eq!(server.call(&["ZADD", "z", "1.5", "a"]), Reply::Int(1));
    assert_eq!(server.call(&["ZSCORE", "z", "a"]), Reply::Double(1.5));
    server.call(&["HSET", "h", "f", "x"]);
    assert_eq!(server.call(&["HGETALL", "h"]), Reply::Map(vec![(bulk("f"), bulk("x"))]));
    // Keys spread over shards: one atomic multi-shard command.
    assert_eq!(server.call(&["MSET", "a", "1", "b", "2", "c", "3"]), Reply::Status(b"OK".to_vec()));
    assert_eq!(server.call(&["MGET", "a", "b", "c"]), Reply::Array(vec![bulk("1"), bulk("2"), bulk("3")]));
    assert_eq!(server.call(&["DBSIZE"]), Reply::Int(7));
    match server.call(&["LPUSH", "k", "x"]) {
        Reply::Error(e) => assert!(e.starts_with(b"WRONGTYPE")),
        other => panic!("{other:?}"),
    }
    match server.call(&["NOSUCH"]) {
        Reply::Error(e) => assert!(e.starts_with(b"ERR unknown command 'NOSUCH'")),
        other => panic!("{other:?}"),
    }
    assert!(server.call::<&str>(&[]).is_error());
    // A blocking command does not block a host thread: nil at once, as inside MULTI.
    assert_eq!(server.call(&["BLPOP", "nolist", "0"]), Reply::Nil);
    // What a call wrote, a socket client sees.
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
}

#[test]
fn a_call_serves_a_client_blocked_on_another_shard() {
    let server = start(4);
    let list = key_on("q", 3, 4);
    let mut waiter = Client::connect(server.port());
    waiter.send_raw(&Client::encode(&[b"BLPOP", list.as_bytes(), b"5"]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.call(&["RPUSH", &list, "job"]), Reply::Int(1));
    assert_eq!(waiter.reply(), format!("*2\r\n${}\r\n{list}\r\n$3\r\njob\r\n", list.len()));
    assert_eq!(server.call(&["LLEN", &list]), Reply::Int(0));
}

/// `T.INCRTWICE key`: INCR twice through the context, reply with the result.
fn incr_twice(ctx: &mut CommandCtx<'_, '_>) {
    let key = ctx.args().get(1).to_vec();
    ctx.call(&[b"INCR".as_slice(), &key]);
    let r = ctx.call(&[b"INCR".as_slice(), &key]);
    ctx.reply_value(&r).unwrap();
}

#[test]
fn custom_commands_work_from_sockets_and_calls_on_any_shard() {
    let server = start(4);
    server.register_command(&spec("T.INCRTWICE", 2, "write fast", KeySpec::ONE), Arc::new(incr_twice)).unwrap();
    let mut c = Client::connect(server.port());
    for shard in 0..4 {
        let key = key_on("ctr", shard, 4);
        assert_eq!(c.cmd(&format!("t.incrtwice {key}")), ":2\r\n");
        assert_eq!(c.cmd(&format!("GET {key}")), "$1\r\n2\r\n");
        assert_eq!(server.call(&["T.INCRTWICE", &key]), Reply::Int(4));
    }
    assert_eq!(c.cmd("T.INCRTWICE"), "-ERR wrong number of arguments for 't.incrtwice' command\r\n");
    let info = c.cmd("COMMAND INFO t.incrtwice");
    assert!(info.contains("t.incrtwice") && info.contains("write") && info.contains("fast"), "{info}");
    // Built-in names cannot be taken over.
    assert!(server.register_command(&spec("get", 2, "", KeySpec::ONE), Arc::new(incr_twice)).is_err());
}

#[test]
fn callbacks_cannot_break_the_protocol_or_the_server() {
    let server = start(2);
    let reg = |name: &str, f: fn(&mut CommandCtx<'_, '_>)| {
        server.register_command(&spec(name, -1, "", KeySpec::NONE), Arc::new(f)).unwrap();
    };
    reg("t.silent", |_| {});
    reg("t.panics", |_| panic!("callback bug"));
    reg("t.half", |ctx| ctx.reply_array(3).and_then(|_| ctx.reply_int(1)).unwrap());
    reg("t.twice", |ctx| {
        ctx.reply_int(1).unwrap();
        assert!(ctx.reply_int(2).is_err());
    });
    reg("t.error", |ctx| ctx.reply_error("no such player").unwrap());
    reg("t.nested", |ctx| {
        let r = ctx.call(&["PING"]);
        ctx.reply_value(&r).unwrap();
    });
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("t.silent"), "-ERR custom command returned no reply\r\n");
    assert_eq!(c.cmd("t.panics"), "-ERR custom command failed (its callback panicked)\r\n");
    assert_eq!(c.cmd("t.half"), "-ERR custom command left its reply incomplete\r\n");
    assert_eq!(c.cmd("t.twice"), ":1\r\n");
    assert_eq!(c.cmd("t.error"), "-ERR no such player\r\n");
    assert_eq!(c.cmd("t.nested"), "+PONG\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
}

#[test]
fn a_callback_only_touches_the_shards_it_holds() {
    let server = start(4);
    let (here, there) = (key_on("a", 0, 4), key_on("b", 1, 4));
    server
        .register_command(
            &spec("t.copy", 3, "write", KeySpec::new(1, 1, 1)),
            Arc::new(|ctx: &mut CommandCtx<'_, '_>| {
                let (from, to) = (ctx.args().get(1).to_vec(), ctx.args().get(2).to_vec());
                let v = ctx.call(&[b"GET".as_slice(), &from]);
                let Reply::Bulk(v) = v else { return ctx.reply_null().unwrap() };
                let r = ctx.call(&[b"SET".as_slice(), &to, &v]);
                ctx.reply_value(&r).unwrap();
            }),
        )
        .unwrap();
    server.call(&["SET", &here, "x"]);
    // `to` is not in the key spec and lives on another shard: refused, not a deadlock.
    match server.call(&["t.copy", &here, &there]) {
        Reply::Error(e) => assert!(String::from_utf8_lossy(&e).contains("does not hold"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    // The same command declaring both keys runs with both shards locked.
    server
        .register_command(
            &spec("t.copy", 3, "write", KeySpec::new(1, 2, 1)),
            Arc::new(|ctx: &mut CommandCtx<'_, '_>| {
                let (from, to) = (ctx.args().get(1).to_vec(), ctx.args().get(2).to_vec());
                let Reply::Bulk(v) = ctx.call(&[b"GET".as_slice(), &from]) else { return ctx.reply_null().unwrap() };
                let r = ctx.call(&[b"SET".as_slice(), &to, &v]);
                ctx.reply_value(&r).unwrap();
            }),
        )
        .unwrap();
    assert_eq!(server.call(&["t.copy", &here, &there]), Reply::Status(b"OK".to_vec()));
    assert_eq!(server.call(&["GET", &there]), bulk("x"));
}

#[test]
fn manual_clock_drives_ttls_and_blocking_timeouts() {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", "2").unwrap().set("clock", "manual").unwrap();
    let server = Server::start(cfg).unwrap();
    server.call(&["SET", "session", "s", "EX", "100"]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(server.call(&["TTL", "session"]), Reply::Int(100));
    assert!(server.advance(99_000));
    assert_eq!(server.call(&["TTL", "session"]), Reply::Int(1));
    server.advance(1_000);
    assert_eq!(server.call(&["GET", "session"]), Reply::Nil);

    let mut c = Client::connect(server.port());
    c.send_raw(&Client::encode(&[b"BLPOP", b"q", b"30"]));
    std::thread::sleep(Duration::from_millis(100));
    server.advance(30_000);
    assert_eq!(c.reply(), "*-1\r\n");
}

#[test]
fn snapshots_restore_the_dataset() {
    let server = start(3);
    for i in 0..100 {
        server.call(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    server.call(&["RPUSH", "list", "a", "b"]);
    server.call(&["SET", "ttl", "x", "EX", "1000"]);
    let snap = server.snapshot();
    assert_eq!(snap.len(), 102);
    server.call(&["FLUSHALL"]);
    server.call(&["SET", "junk", "1"]);
    server.restore(&snap);
    assert_eq!(server.call(&["DBSIZE"]), Reply::Int(102));
    assert_eq!(server.call(&["GET", "k42"]), bulk("42"));
    assert_eq!(server.call(&["LRANGE", "list", "0", "-1"]), Reply::Array(vec![bulk("a"), bulk("b")]));
    assert_eq!(server.call(&["EXISTS", "junk"]), Reply::Int(0));
    assert!(matches!(server.call(&["TTL", "ttl"]), Reply::Int(t) if t > 990));
}

#[test]
fn many_servers_start_and_stop_in_one_process() {
    let fds_before = std::fs::read_dir("/proc/self/fd").unwrap().count();
    for i in 0..50 {
        let server = start(2);
        server.register_command(&spec("t.one", 1, "", KeySpec::NONE), Arc::new(|c: &mut CommandCtx<'_, '_>| {
            c.reply_int(1).unwrap()
        })).unwrap();
        assert_eq!(server.call(&["t.one"]), Reply::Int(1));
        server.call(&["SET", "i", &i.to_string()]);
        if i % 2 == 0 {
            server.stop();
        }
    }
    let fds_after = std::fs::read_dir("/proc/self/fd").unwrap().count();
    // Other tests run in parallel threads; allow their servers' fds, not 50 leaked ones.
    assert!(fds_after < fds_before + 40, "fds grew from {fds_before} to {fds_after}");
}

#[test]
fn host_threads_call_concurrently() {
    let server = Arc::new(start(4));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = Arc::clone(&server);
            std::thread::spawn(move || {
                for i in 0..500 {
                    s.call(&["INCR", "shared"]);
                    s.call(&["SET", &format!("t{t}:{i}"), "v"]);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(server.call(&["GET", "shared"]), bulk("4000"));
    assert_eq!(server.call(&["DBSIZE"]), Reply::Int(4001));
}
