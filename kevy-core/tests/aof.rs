//! The append-only file: every type round-trips through replay, relative TTLs come
//! back as absolute deadlines, blocking pops and random pops replay as what happened,
//! multi-shard writes and resharding, truncated and corrupt files, live rewrites.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Client;
use kevy_core::{Config, Reply, Server};

fn scratch(name: &str) -> PathBuf {
    common::scratch_dir(&format!("aof-{name}"))
}

fn start_in(dir: &Path, shards: usize, extra: &[(&str, &str)]) -> Result<Server, kevy_core::Error> {
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().unwrap()).unwrap().set("appendonly", "yes").unwrap();
    for (k, v) in extra {
        cfg.set(k, v).unwrap();
    }
    Server::start(cfg)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn ok() -> Reply {
    Reply::Status(b"OK".to_vec())
}

fn fill(s: &Server) {
    s.call(&["SET", "str", "hello"]);
    s.call(&["APPEND", "str", " world"]);
    s.call(&["SET", "ttl", "soon", "EX", "1000"]);
    s.call(&["SET", "gone", "x", "PX", "1"]);
    s.call(&["INCRBY", "n", "41"]);
    s.call(&["INCR", "n"]);
    s.call(&["RPUSH", "list", "a", "b", "c", "d"]);
    s.call(&["LPOP", "list"]);
    s.call(&["HSET", "hash", "f1", "v1", "f2", "v2"]);
    s.call(&["HDEL", "hash", "f1"]);
    s.call(&["SADD", "set", "1", "2", "3", "x"]);
    s.call(&["ZADD", "z", "1.5", "a", "-inf", "b", "3", "c"]);
    s.call(&["ZINCRBY", "z", "0.25", "a"]);
    s.call(&["SET", "tmp", "1"]);
    s.call(&["EXPIRE", "tmp", "500"]);
    s.call(&["LPUSH", "str", "wrongtype"]); // an error: not logged
    // Bitmaps: writes into a string that grow it; BITOP's keys may sit on both shards.
    s.call(&["SETBIT", "bm1", "9", "1"]);
    s.call(&["BITFIELD", "bm2", "SET", "u8", "#1", "255", "INCRBY", "u4", "0", "3"]);
    s.call(&["BITOP", "OR", "bmor", "bm1", "bm2"]);
    s.call(&["BITOP", "AND", "bmgone", "nobits"]); // an empty result: nothing stored
    std::thread::sleep(Duration::from_millis(5)); // "gone" expires
}

fn check(s: &Server) {
    assert_eq!(s.call(&["GET", "str"]), bulk("hello world"));
    assert!(matches!(s.call(&["TTL", "ttl"]), Reply::Int(t) if t > 990 && t <= 1000));
    assert_eq!(s.call(&["EXISTS", "gone"]), Reply::Int(0));
    assert_eq!(s.call(&["GET", "n"]), bulk("42"));
    assert_eq!(s.call(&["LRANGE", "list", "0", "-1"]), Reply::Array(vec![bulk("b"), bulk("c"), bulk("d")]));
    assert_eq!(s.call(&["HGETALL", "hash"]), Reply::Map(vec![(bulk("f2"), bulk("v2"))]));
    assert_eq!(s.call(&["SCARD", "set"]), Reply::Int(4));
    assert_eq!(s.call(&["ZSCORE", "z", "a"]), Reply::Double(1.75));
    assert_eq!(s.call(&["ZSCORE", "z", "b"]), Reply::Double(f64::NEG_INFINITY));
    assert!(matches!(s.call(&["TTL", "tmp"]), Reply::Int(t) if t > 490 && t <= 500));
    assert_eq!(s.call(&["GET", "bm1"]), Reply::Bulk(vec![0x00, 0x40]));
    assert_eq!(s.call(&["GET", "bm2"]), Reply::Bulk(vec![0x30, 0xff]));
    assert_eq!(s.call(&["GET", "bmor"]), Reply::Bulk(vec![0x30, 0xff]));
    assert_eq!(s.call(&["EXISTS", "bmgone"]), Reply::Int(0));
}

#[test]
fn every_type_round_trips_under_each_fsync_policy() {
    for policy in ["always", "everysec", "no"] {
        let dir = scratch(&format!("types-{policy}"));
        let s = start_in(&dir, 2, &[("appendfsync", policy)]).unwrap();
        fill(&s);
        check(&s);
        s.stop();
        let s = start_in(&dir, 2, &[]).unwrap();
        check(&s);
        s.stop();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_key_that_expired_before_the_restart_stays_gone() {
    let dir = scratch("expired");
    let s = start_in(&dir, 1, &[]).unwrap();
    s.call(&["SET", "k", "5", "PX", "150"]);
    s.call(&["INCR", "k"]);
    std::thread::sleep(Duration::from_millis(250));
    s.stop();
    let s = start_in(&dir, 1, &[]).unwrap();
    assert_eq!(s.call(&["GET", "k"]), Reply::Nil);
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn blocking_and_random_pops_replay_as_what_happened() {
    let dir = scratch("pops");
    let s = start_in(&dir, 3, &[]).unwrap();
    let mut c = Client::connect(s.port());
    c.send_raw(&Client::encode(&[b"BLPOP", b"other", b"q", b"0"]));
    std::thread::sleep(Duration::from_millis(100));
    s.call(&["RPUSH", "q", "job1", "job2"]);
    assert!(c.reply().contains("job1"));
    // The popped element is gone after replay even though BLPOP named another key first.
    s.call(&["RPUSH", "other", "o"]);
    s.call(&["SADD", "bag", "a", "b", "c", "d", "e"]);
    let popped = s.call(&["SPOP", "bag", "2"]);
    let (Reply::Array(popped) | Reply::Set(popped)) = popped else { panic!("{popped:?}") };
    s.stop();
    let s = start_in(&dir, 3, &[]).unwrap();
    assert_eq!(s.call(&["LRANGE", "q", "0", "-1"]), Reply::Array(vec![bulk("job2")]));
    assert_eq!(s.call(&["LRANGE", "other", "0", "-1"]), Reply::Array(vec![bulk("o")]));
    assert_eq!(s.call(&["SCARD", "bag"]), Reply::Int(3));
    for m in popped {
        let Reply::Bulk(m) = m else { panic!() };
        assert_eq!(s.call(&[b"SISMEMBER".as_slice(), b"bag", &m]), Reply::Int(0));
    }
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multi_shard_writes_and_flushall_survive_resharding() {
    let dir = scratch("multi");
    let s = start_in(&dir, 3, &[]).unwrap();
    for i in 0..200 {
        s.call(&["SET", &format!("old{i}"), "x"]);
    }
    s.call(&["FLUSHALL"]);
    let pairs: Vec<String> = (0..50).flat_map(|i| [format!("k{i}"), i.to_string()]).collect();
    let mut argv = vec!["MSET".to_string()];
    argv.extend(pairs);
    assert_eq!(s.call(&argv), ok());
    s.call(&["SET", "src", "moved", "EX", "900"]);
    s.call(&["RENAME", "src", "dst"]);
    s.call(&["DEL", "k0", "k1", "k2"]);
    s.stop();
    for shards in [2, 1, 4] {
        let s = start_in(&dir, shards, &[]).unwrap();
        assert_eq!(s.call(&["DBSIZE"]), Reply::Int(48), "{shards} shards");
        assert_eq!(s.call(&["GET", "k49"]), bulk("49"));
        assert_eq!(s.call(&["GET", "dst"]), bulk("moved"));
        assert!(matches!(s.call(&["TTL", "dst"]), Reply::Int(t) if t > 890));
        s.call(&["SET", &format!("after{shards}"), "1"]);
        s.call(&["DEL", &format!("after{shards}")]);
        s.stop();
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.starts_with("appendonly-"))
            .collect();
        assert_eq!(files.len(), shards, "{files:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_tail_is_cut_and_a_corrupt_record_refuses_to_start() {
    let dir = scratch("truncated");
    let s = start_in(&dir, 1, &[]).unwrap();
    s.call(&["SET", "a", "1"]);
    s.call(&["SET", "b", "2"]);
    s.stop();
    let path = dir.join("appendonly-0.aof");
    let good = std::fs::read(&path).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    std::fs::write(&path, &torn).unwrap();
    let err = start_in(&dir, 1, &[("aof-load-truncated", "no")]).err().expect("refused").to_string();
    assert!(err.contains("appendonly-0.aof") && err.contains(&format!("offset {}", good.len())), "{err}");
    let s = start_in(&dir, 1, &[]).unwrap();
    assert_eq!(s.call(&["MGET", "a", "b", "c"]), Reply::Array(vec![bulk("1"), bulk("2"), Reply::Nil]));
    s.stop();
    assert_eq!(std::fs::read(&path).unwrap().len(), good.len(), "the torn command was cut off");
    let mut corrupt = good.clone();
    corrupt.extend_from_slice(b"*1\r\nGARBAGE\r\n*1\r\n$4\r\nPING\r\n");
    std::fs::write(&path, &corrupt).unwrap();
    let err = start_in(&dir, 1, &[]).err().expect("refused").to_string();
    assert!(err.contains("appendonly-0.aof") && err.contains("offset"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rewrites_keep_every_write_made_while_they_run() {
    let dir = scratch("rewrite");
    let s = std::sync::Arc::new(start_in(&dir, 2, &[("appendfsync", "always")]).unwrap());
    for i in 0..2000 {
        s.call(&["SET", &format!("k{i}"), "old"]);
        s.call(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    let writer = {
        let s = std::sync::Arc::clone(&s);
        std::thread::spawn(move || {
            for i in 0..3000 {
                s.call(&["RPUSH", "during", &i.to_string()]);
            }
        })
    };
    assert_eq!(s.call(&["BGREWRITEAOF"]), Reply::Status(b"Background append only file rewriting started".to_vec()));
    writer.join().unwrap();
    for _ in 0..500 {
        let Reply::Bulk(info) = s.call(&["INFO", "persistence"]) else { panic!() };
        if String::from_utf8_lossy(&info).contains("aof_rewrite_in_progress:0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    s.call(&["RPUSH", "during", "last"]);
    let s = std::sync::Arc::try_unwrap(s).ok().unwrap();
    s.stop();
    for id in 0..2 {
        let bytes = std::fs::read(dir.join(format!("appendonly-{id}.aof"))).unwrap();
        assert!(bytes.starts_with(b"REDIS"), "shard {id}'s file starts with its RDB preamble");
    }
    let s = start_in(&dir, 2, &[]).unwrap();
    assert_eq!(s.call(&["DBSIZE"]), Reply::Int(2001));
    assert_eq!(s.call(&["GET", "k1999"]), bulk("1999"));
    assert_eq!(s.call(&["LLEN", "during"]), Reply::Int(3001));
    assert_eq!(s.call(&["LINDEX", "during", "-1"]), bulk("last"));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn wait_for_info(s: &Server, line: &str) {
    for _ in 0..500 {
        let Reply::Bulk(info) = s.call(&["INFO", "persistence"]) else { panic!() };
        if String::from_utf8_lossy(&info).contains(line) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("INFO never showed {line}");
}

#[test]
fn config_set_switches_the_aof_on_and_off_while_serving() {
    let dir = scratch("switch");
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", "3").unwrap().set("dir", dir.to_str().unwrap()).unwrap();
    let s = Server::start(cfg).unwrap();
    for i in 0..300 {
        s.call(&["SET", &format!("before{i}"), "x"]);
    }
    assert_eq!(s.call(&["CONFIG", "SET", "appendonly", "yes"]), ok());
    wait_for_info(&s, "aof_enabled:1");
    assert_eq!(s.call(&["CONFIG", "GET", "appendonly"]), Reply::Map(vec![(bulk("appendonly"), bulk("yes"))]));
    s.call(&["RPUSH", "after", "1", "2"]);
    s.stop();
    assert!(dir.join("appendonly-2.aof").exists());
    let s = start_in(&dir, 3, &[]).unwrap();
    assert_eq!(s.call(&["DBSIZE"]), Reply::Int(301));
    assert_eq!(s.call(&["LLEN", "after"]), Reply::Int(2));
    assert_eq!(s.call(&["CONFIG", "SET", "appendonly", "no"]), ok());
    wait_for_info(&s, "aof_enabled:0");
    s.call(&["SET", "unlogged", "1"]);
    s.stop();
    let s = start_in(&dir, 3, &[]).unwrap();
    assert_eq!(s.call(&["EXISTS", "unlogged"]), Reply::Int(0));
    assert_eq!(s.call(&["DBSIZE"]), Reply::Int(301));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Log lines that mention `needle`, collected while `f` runs (the log hook is
/// process-wide: lines of other tests are filtered out by the needle).
fn logged_while<R>(needle: &str, f: impl FnOnce() -> R) -> (R, Vec<String>) {
    // One hook at a time: tests that collect lines take turns.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (sink, needle) = (std::sync::Arc::clone(&lines), needle.to_string());
    kevy_core::log::set_hook(Some(std::sync::Arc::new(move |_, msg: &str| {
        if msg.contains(&needle) {
            sink.lock().unwrap().push(msg.to_string());
        }
    })));
    let r = f();
    kevy_core::log::set_hook(None);
    let lines = lines.lock().unwrap().clone();
    (r, lines)
}

#[test]
fn a_missing_shard_file_refuses_to_start_unless_aof_load_missing() {
    let dir = scratch("missing");
    let s = start_in(&dir, 2, &[]).unwrap();
    for i in 0..100 {
        s.call(&["SET", &format!("k{i}"), "v"]);
    }
    s.stop();
    let gone = dir.join("appendonly-1.aof");
    std::fs::remove_file(&gone).unwrap();
    let err = start_in(&dir, 2, &[]).err().expect("refused").to_string();
    assert!(err.contains("appendonly-1.aof") && err.contains("missing") && err.contains("aof-load-missing"), "{err}");
    // Without the layout file the gap is seen too (appendonly-0 missing, 1 present).
    let layout = std::fs::read(dir.join("kevy-layout")).unwrap();
    std::fs::rename(dir.join("appendonly-0.aof"), &gone).unwrap();
    std::fs::remove_file(dir.join("kevy-layout")).unwrap();
    let err = start_in(&dir, 2, &[]).err().expect("refused").to_string();
    assert!(err.contains("appendonly-0.aof") && err.contains("missing"), "{err}");
    std::fs::rename(&gone, dir.join("appendonly-0.aof")).unwrap();
    std::fs::write(dir.join("kevy-layout"), layout).unwrap();
    // With the option it starts on what is there, and says loudly what is not.
    let (s, lines) = logged_while(&gone.display().to_string(), || start_in(&dir, 2, &[("aof-load-missing", "yes")]));
    let s = s.unwrap();
    assert!(lines.iter().any(|l| l.contains("MISSING")), "{lines:?}");
    let Reply::Int(kept) = s.call(&["DBSIZE"]) else { panic!() };
    assert!(kept > 0 && kept < 100, "{kept} keys");
    s.stop();
    assert!(gone.exists(), "the shard's file is back (empty) once started");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts in `dir` on another thread: a start-up that runs away fails the test instead
/// of hanging it.
fn start_within(dir: &Path, secs: u64) -> Result<Server, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || drop(tx.send(start_in(&dir, 1, &[]).map_err(|e| e.to_string()))));
    rx.recv_timeout(Duration::from_secs(secs)).expect("start-up finished")
}

/// A one-shard AOF holding an RDB preamble with keys (from a reshard) then commands.
fn preamble_and_commands(dir: &Path) -> Vec<u8> {
    let s = start_in(dir, 2, &[]).unwrap();
    for i in 0..20 {
        s.call(&["SET", &format!("pre{i}"), "before the rewrite"]);
    }
    s.stop();
    let s = start_in(dir, 1, &[]).unwrap();
    s.call(&["SET", "ten", "0123456789"]);
    s.call(&["SET", "k2", "2"]);
    s.call(&["SET", "k3", "3"]);
    s.stop();
    std::fs::read(dir.join("appendonly-0.aof")).unwrap()
}

#[test]
fn byte_flips_in_the_middle_are_refused_with_file_and_offset() {
    let dir = scratch("flips");
    let path = dir.join("appendonly-0.aof");
    let good = preamble_and_commands(&dir);
    assert!(good.starts_with(b"REDIS"));
    let find = |what: &[u8]| good.windows(what.len()).position(|w| w == what).unwrap();
    let ten = find(b"*3\r\n$3\r\nSET\r\n$3\r\nten");
    // (byte to flip, what it becomes, where the error must point)
    let flips = [
        (find(b"pre1") + 1, b'X', "RDB preamble"),         // a key in the preamble: its CRC64
        (ten + 1, b'4', &*format!("offset {ten}")),        // the argument count: 3 -> 4
        (ten + 5, b'4', &*format!("offset {ten}")),        // the name's length: 3 -> 4
        (ten + 6, b'S', &*format!("offset {ten}")),        // the CRLF after that length
        (ten + 9, b'X', &*format!("offset {ten}")),        // the command name: SET -> SXT
        (ten + 14, b'X', &*format!("offset {ten}")),       // the key's length: 3 -> X
        (ten + 20, b'x', &*format!("offset {ten}")),       // the CRLF after the key
        (find(b"$10\r\n0123") + 1, b'9', &*format!("offset {ten}")), // 10 -> 90: past the end
    ];
    for (at, byte, expect) in flips {
        let mut bad = good.clone();
        bad[at] = byte;
        std::fs::write(&path, &bad).unwrap();
        let err = start_within(&dir, 60).err().unwrap_or_else(|| panic!("flip at {at} loaded"));
        assert!(err.contains("appendonly-0.aof") && err.contains(expect), "flip at {at}: {err}");
        assert!(err.contains("offset"), "{err}");
    }
    // A torn last record still loads, cut off (aof-load-truncated yes).
    std::fs::write(&path, &good[..good.len() - 3]).unwrap();
    let s = start_within(&dir, 60).unwrap();
    assert_eq!(s.call(&["MGET", "pre19", "ten", "k2", "k3"]), Reply::Array(vec![
        bulk("before the rewrite"),
        bulk("0123456789"),
        bulk("2"),
        Reply::Nil
    ]));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nul_bytes_and_inline_lines_in_a_record_are_refused_at_start_up() {
    let dir = scratch("nul");
    let path = dir.join("appendonly-0.aof");
    let s = start_in(&dir, 1, &[]).unwrap();
    s.call(&["SET", "a", "1"]);
    s.stop();
    let good = std::fs::read(&path).unwrap();
    let crafted: [&[u8]; 5] = [b"PING\0\r\n", b"SET k \0 v\n", b"\0\n", b"SET a 2\r\n", b"*1\r\n$4\r\nPI\0G\r\n"];
    for tail in crafted {
        let mut bad = good.clone();
        bad.extend_from_slice(tail);
        bad.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n");
        std::fs::write(&path, &bad).unwrap();
        let err = start_within(&dir, 60).err().unwrap_or_else(|| panic!("{tail:?} loaded"));
        assert!(err.contains("appendonly-0.aof") && err.contains(&format!("offset {}", good.len())), "{tail:?}: {err}");
    }
    // A NUL inside a bulk argument is data, and loads.
    let mut binary = good.clone();
    binary.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$3\r\na\0b\r\n");
    std::fs::write(&path, &binary).unwrap();
    let s = start_within(&dir, 60).unwrap();
    assert_eq!(s.call(&["GET", "z"]), Reply::Bulk(b"a\0b".to_vec()));
    assert_eq!(s.call(&["GET", "a"]), bulk("1"));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rewrites_never_write_through_a_link_planted_at_a_temporary_name() {
    let dir = scratch("links");
    let outside = scratch("links-victims");
    let victim = |name: &str| {
        let p = outside.join(name);
        std::fs::write(&p, b"precious").unwrap();
        p
    };
    let plant = |name: &str, target: &Path| std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    let pid = std::process::id();
    // The start-up rewrite (an empty directory) and its layout file.
    let (v0, v1, vl) = (victim("v0"), victim("v1"), victim("vl"));
    plant(&format!("appendonly-0.aof.tmp-{pid}"), &v0);
    plant(&format!("appendonly-1.aof.tmp-{pid}"), &v1);
    plant("kevy-layout.tmp", &vl);
    let s = start_in(&dir, 2, &[]).unwrap();
    s.call(&["SET", "k", "v"]);
    // A live rewrite (BGREWRITEAOF), with a link to a file that does not exist.
    let (v2, dangling) = (victim("v2"), outside.join("never-created"));
    plant(&format!("appendonly-0.aof.tmp-{pid}"), &v2);
    plant(&format!("appendonly-1.aof.tmp-{pid}"), &dangling);
    assert_eq!(s.call(&["BGREWRITEAOF"]), Reply::Status(b"Background append only file rewriting started".to_vec()));
    wait_for_info(&s, "aof_rewrite_in_progress:0");
    s.call(&["SET", "after", "1"]);
    s.stop();
    for v in [&v0, &v1, &vl, &v2] {
        assert_eq!(std::fs::read(v).unwrap(), b"precious", "{}", v.display());
    }
    assert!(!dangling.exists());
    for id in 0..2 {
        let meta = std::fs::symlink_metadata(dir.join(format!("appendonly-{id}.aof"))).unwrap();
        assert!(meta.file_type().is_file());
    }
    let s = start_in(&dir, 2, &[]).unwrap();
    assert_eq!(s.call(&["MGET", "k", "after"]), Reply::Array(vec![bulk("v"), bulk("1")]));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}

#[test]
fn stream_and_group_records_pass_the_record_checks() {
    let dir = scratch("streams");
    let s = start_in(&dir, 1, &[]).unwrap();
    s.call(&["XADD", "st", "*", "f", "1"]);
    s.call(&["XADD", "st", "*", "f", "2"]);
    s.call(&["XGROUP", "CREATE", "st", "g", "0"]);
    s.call(&["XGROUP", "CREATECONSUMER", "st", "g", "idle"]);
    s.call(&["XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "st", ">"]);
    s.call(&["XAUTOCLAIM", "st", "g", "c2", "0", "0", "COUNT", "1"]);
    s.call(&["XGROUP", "SETID", "st", "g", "$"]);
    s.call(&["XSETID", "st", "9999999999999-0"]);
    s.stop();
    let (s, failed) = logged_while(&dir.display().to_string(), || start_in(&dir, 1, &[]));
    let s = s.unwrap();
    assert!(failed.iter().all(|l| !l.contains("failed on replay")), "{failed:?}");
    assert_eq!(s.call(&["XLEN", "st"]), Reply::Int(2));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The commands appended to a log file after its first `from` bytes.
fn logged_since(path: &Path, from: usize) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes[from..]).into_owned();
    let mut lines = text.split("\r\n");
    let mut out = Vec::new();
    while let Some(head) = lines.next().filter(|l| !l.is_empty()) {
        let n: usize = head.strip_prefix('*').expect("a multibulk").parse().unwrap();
        out.push((0..n).map(|_| lines.nth(1).unwrap().to_string()).collect());
    }
    out
}

/// What reaches the file is what each row's `propagate` declares: as sent, with
/// absolute deadlines, the effect that happened, or nothing for the command that
/// runs others (its inner commands are logged instead).
#[test]
fn records_follow_each_commands_declared_propagation() {
    let dir = scratch("declared");
    let s = start_in(&dir, 1, &[]).unwrap();
    let path = dir.join("appendonly-0.aof");
    let from = std::fs::metadata(&path).unwrap().len() as usize;
    s.call(&["RPUSH", "q", "a", "b"]);
    s.call(&["SET", "k", "v", "EX", "100"]);
    s.call(&["BLPOP", "none", "q", "0"]);
    s.call(&["SADD", "bag", "m"]);
    s.call(&["SPOP", "bag"]);
    s.call(&["SPOP", "bag"]);
    s.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    s.call(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "2"]);
    s.call(&["EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"]);
    s.call(&["GET", "k"]);
    s.stop();
    let got = logged_since(&path, from);
    let words = |line: &[&str]| line.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(got[0], words(&["RPUSH", "q", "a", "b"]));
    assert_eq!(got[1], words(&["SET", "k", "v", "EX", "100"]));
    assert_eq!(got[2][..2], words(&["PEXPIREAT", "k"])[..], "a relative TTL is logged as a deadline");
    assert_eq!(got[3], words(&["LPOP", "q"]), "a served blocking pop is the pop");
    assert_eq!(got[4], words(&["SADD", "bag", "m"]));
    assert_eq!(got[5], words(&["SREM", "bag", "m"]), "SPOP is the SREM of what it took");
    // The second SPOP found nothing: nothing to log.
    assert_eq!(got[6][0], "ZADD");
    assert_eq!(got[7], words(&["ZPOPMIN", "z", "2"]));
    assert_eq!(got[8], words(&["INCR", "n"]), "a script logs the commands it ran, not itself");
    assert_eq!(got.len(), 9, "{got:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
