//! Snapshots: SAVE and BGSAVE round trips of every type, restarts with another shard
//! count, the save at stop, and a corrupt file refusing to start.

mod common;

use std::path::{Path, PathBuf};

use kevy_core::{Config, Reply, Server};

fn scratch(name: &str) -> PathBuf {
    common::scratch_dir(&format!("persist-{name}"))
}

fn start_in(dir: &Path, shards: usize, extra: &[(&str, &str)]) -> Result<Server, kevy_core::Error> {
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().unwrap()).unwrap();
    for (k, v) in extra {
        cfg.set(k, v).unwrap();
    }
    Server::start(cfg)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn fill(s: &Server) {
    s.call(&["SET", "str", "hello"]);
    s.call(&["SET", "big", &"x".repeat(5000)]);
    s.call(&["SET", "ttl", "soon", "EX", "1000"]);
    s.call(&["RPUSH", "list", "a", "b", "c"]);
    s.call(&["HSET", "hash", "f1", "v1", "f2", "v2"]);
    s.call(&["SADD", "ints", "1", "2", "3"]);
    s.call(&["SADD", "strs", "x", "y"]);
    s.call(&["ZADD", "z", "1.5", "a", "-inf", "b", "3", "c"]);
    // A bitmap is a string grown with zero bytes.
    s.call(&["SETBIT", "bitmap", "1000", "1"]);
    s.call(&["BITFIELD", "bitmap", "SET", "i16", "#2", "-300"]);
    for i in 0..500 {
        s.call(&["SET", &format!("k{i}"), &i.to_string()]);
    }
}

fn check(s: &Server) {
    assert_eq!(s.call(&["DBSIZE"]), Reply::Int(509));
    assert_eq!(s.call(&["GET", "str"]), bulk("hello"));
    assert_eq!(s.call(&["STRLEN", "big"]), Reply::Int(5000));
    assert!(matches!(s.call(&["TTL", "ttl"]), Reply::Int(t) if t > 990 && t <= 1000));
    assert_eq!(s.call(&["LRANGE", "list", "0", "-1"]), Reply::Array(vec![bulk("a"), bulk("b"), bulk("c")]));
    assert_eq!(s.call(&["HGET", "hash", "f2"]), bulk("v2"));
    assert_eq!(s.call(&["SCARD", "ints"]), Reply::Int(3));
    assert_eq!(s.call(&["SISMEMBER", "strs", "y"]), Reply::Int(1));
    assert_eq!(s.call(&["ZSCORE", "z", "b"]), Reply::Double(f64::NEG_INFINITY));
    assert_eq!(s.call(&["ZRANGE", "z", "0", "-1"]), Reply::Array(vec![bulk("b"), bulk("a"), bulk("c")]));
    for i in (0..500).step_by(37) {
        assert_eq!(s.call(&["GET", &format!("k{i}")]), bulk(&i.to_string()));
    }
    assert_eq!(s.call(&["STRLEN", "bitmap"]), Reply::Int(126));
    assert_eq!(s.call(&["GETBIT", "bitmap", "1000"]), Reply::Int(1));
    assert_eq!(s.call(&["BITCOUNT", "bitmap"]), Reply::Int(12));
    let field = s.call(&["BITFIELD_RO", "bitmap", "GET", "i16", "#2"]);
    assert_eq!(field, Reply::Array(vec![Reply::Int(-300)]));
}

#[test]
fn save_round_trips_every_type_and_reshards_on_restart() {
    let dir = scratch("reshard");
    let s = start_in(&dir, 1, &[]).unwrap();
    fill(&s);
    assert_eq!(s.call(&["SAVE"]), Reply::Status(b"OK".to_vec()));
    assert!(matches!(s.call(&["LASTSAVE"]), Reply::Int(t) if t > 1_600_000_000));
    s.stop();
    for shards in [3, 2, 1, 4] {
        let s = start_in(&dir, shards, &[]).unwrap();
        check(&s);
        s.stop();
        // Loading in another layout rewrote the files in this one.
        let files = std::fs::read_dir(&dir).unwrap().filter(|e| {
            e.as_ref().unwrap().file_name().to_string_lossy().starts_with("dump-")
        });
        assert_eq!(files.count(), shards);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn wait_bgsave(s: &Server) {
    for _ in 0..500 {
        let Reply::Bulk(info) = s.call(&["INFO", "persistence"]) else { panic!("INFO") };
        let info = String::from_utf8(info).unwrap();
        assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
        if info.contains("rdb_bgsave_in_progress:0") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("BGSAVE did not finish");
}

#[test]
fn bgsave_writes_while_serving_and_stop_saves_with_rules() {
    let dir = scratch("bgsave");
    let s = start_in(&dir, 2, &[]).unwrap();
    fill(&s);
    assert_eq!(s.call(&["BGSAVE"]), Reply::Status(b"Background saving started".to_vec()));
    // Writes after the cut are served at once and are not in that snapshot.
    s.call(&["SET", "after", "1"]);
    wait_bgsave(&s);
    // No save rules: stopping writes nothing more. With rules, it saves.
    s.call(&["SET", "unsaved", "1"]);
    s.stop();
    let s = start_in(&dir, 2, &[("save", "3600 1")]).unwrap();
    check(&s);
    assert_eq!(s.call(&["EXISTS", "unsaved"]), Reply::Int(0));
    s.call(&["SET", "saved-at-stop", "1"]);
    s.stop();
    let s = start_in(&dir, 2, &[]).unwrap();
    assert_eq!(s.call(&["GET", "saved-at-stop"]), bulk("1"));
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_rules_fire_on_their_own() {
    let dir = scratch("rules");
    let s = start_in(&dir, 2, &[("save", "0 3")]).unwrap();
    let before = s.call(&["LASTSAVE"]);
    for i in 0..3 {
        s.call(&["SET", &format!("r{i}"), "v"]);
    }
    let mut saved = false;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if dir.join("dump-0.rdb").exists() && dir.join("kevy-layout").exists() {
            saved = true;
            break;
        }
    }
    assert!(saved, "a save rule of 3 changes fired (LASTSAVE was {before:?})");
    s.call(&["SHUTDOWN", "NOSAVE"]);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_snapshot_refuses_to_start_and_names_the_file() {
    let dir = scratch("corrupt");
    let s = start_in(&dir, 1, &[]).unwrap();
    fill(&s);
    s.call(&["SAVE"]);
    s.stop();
    let path = dir.join("dump-0.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = start_in(&dir, 1, &[]).err().expect("start refused").to_string();
    assert!(err.contains("dump-0.rdb") && err.contains("offset"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_never_writes_through_a_link_planted_at_a_temporary_name() {
    let dir = scratch("links");
    let outside = scratch("links-victims");
    let pid = std::process::id();
    let names = [format!("dump-0.rdb.tmp-{pid}"), format!("dump-1.rdb.tmp-{pid}"), "kevy-layout.tmp".to_string()];
    let s = start_in(&dir, 2, &[]).unwrap();
    fill(&s);
    for round in ["SAVE", "BGSAVE"] {
        let victims: Vec<PathBuf> = names.iter().map(|n| outside.join(format!("{round}-{n}"))).collect();
        for (name, victim) in names.iter().zip(&victims) {
            std::fs::write(victim, b"precious").unwrap();
            std::os::unix::fs::symlink(victim, dir.join(name)).unwrap();
        }
        // A dangling link must not create its target either.
        let dangling = outside.join(format!("{round}-never-created"));
        let _ = std::fs::remove_file(dir.join(&names[0]));
        std::os::unix::fs::symlink(&dangling, dir.join(&names[0])).unwrap();
        let reply = s.call(&[round]);
        assert!(matches!(reply, Reply::Status(_)), "{round}: {reply:?}");
        if round == "BGSAVE" {
            wait_bgsave(&s);
        }
        for victim in &victims[1..] {
            assert_eq!(std::fs::read(victim).unwrap(), b"precious", "{round}: {}", victim.display());
        }
        assert!(!dangling.exists(), "{round}");
        for name in &names {
            assert!(!dir.join(name).exists() && std::fs::symlink_metadata(dir.join(name)).is_err(), "{round}: {name} left");
        }
    }
    s.stop();
    let s = start_in(&dir, 2, &[]).unwrap();
    check(&s);
    s.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
}
