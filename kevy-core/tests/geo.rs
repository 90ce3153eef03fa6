//! Geo commands through the append-only file: GEOADD and the STORE forms replay to the
//! same sets, with sources and destinations on different shards and after resharding;
//! a GEORADIUS that only reads
//! leaves no trace in the log.

mod common;

use std::path::Path;

use kevy_core::{Config, Reply, Server};

fn start_in(dir: &Path, shards: usize) -> Server {
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().unwrap()).unwrap().set("appendonly", "yes").unwrap();
    Server::start(cfg).expect("server starts")
}

/// Every key's sorted set, as ZRANGE WITHSCORES shows it.
fn contents(s: &Server, keys: &[&str]) -> Vec<Reply> {
    keys.iter().map(|k| s.call(&["ZRANGE", k, "0", "-1", "WITHSCORES"])).collect()
}

fn logs(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("appendonly-") {
            all.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[test]
fn geo_stores_replay_across_shards_and_resharding() {
    let dir = common::scratch_dir("geo-aof");
    let keys = ["src", "d1", "d2", "d3", "d4", "d5"];
    let s = start_in(&dir, 3);
    let add = ["GEOADD", "src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania", "12.758489", "38.788135", "edge1"];
    assert_eq!(s.call(&add), Reply::Int(3));
    assert_eq!(s.call(&["GEOADD", "src", "XX", "CH", "13.5", "38.0", "Palermo"]), Reply::Int(1));
    assert_eq!(s.call(&["GEOSEARCHSTORE", "d1", "src", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"]), Reply::Int(2));
    assert_eq!(s.call(&["GEORADIUS", "src", "15", "37", "300", "km", "STORE", "d2"]), Reply::Int(3));
    assert_eq!(s.call(&["GEORADIUSBYMEMBER", "src", "Catania", "500", "km", "STOREDIST", "d3", "DESC", "COUNT", "2"]), Reply::Int(2));
    // Stores of nothing delete their destination.
    s.call(&["SET", "d4", "old"]);
    s.call(&["ZADD", "d5", "1", "old"]);
    assert_eq!(s.call(&["GEORADIUS", "src", "0", "0", "1", "km", "STORE", "d4"]), Reply::Int(0));
    assert_eq!(s.call(&["GEOSEARCHSTORE", "d5", "nosuch", "FROMMEMBER", "x", "BYRADIUS", "1", "km"]), Reply::Int(0));
    assert_eq!(s.call(&["EXISTS", "d4", "d5"]), Reply::Int(0));
    assert!(matches!(s.call(&["GEORADIUS", "src", "15", "37", "300", "km", "WITHDIST"]), Reply::Array(a) if a.len() == 3));
    assert_eq!(s.call(&["GEORADIUS", "nosuch", "15", "37", "300", "km"]), Reply::Array(vec![]));
    let expected = contents(&s, &keys);
    s.stop();
    // Reads are not logged, stores are logged as their result (DEL, ZADD).
    let log = logs(&dir);
    assert!(!contains(&log, b"GEORADIUS") && contains(&log, b"GEOSEARCHSTORE"));
    for shards in [3, 2, 1] {
        let s = start_in(&dir, shards);
        assert_eq!(contents(&s, &keys), expected, "{shards} shards");
        assert_eq!(s.call(&["EXISTS", "d4", "d5"]), Reply::Int(0));
        s.stop();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
