//! SORT across shards: BY and GET patterns name keys on other shards than the sorted
//! key, read atomically with it; STORE's destination on yet another shard; the
//! `sortstore` and `del` events; clients blocked on the destination; the append-only
//! file replaying what STORE stored, also with another shard count.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{spread, start, Client};
use kevy_core::{Config, Reply, Server};

fn shard_of(key: &str, shards: usize) -> usize {
    kevy_core::shard_of(key.as_bytes(), shards)
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| Reply::Bulk(s.as_bytes().to_vec())).collect())
}

/// Elements 1..=4 in a list, weights and names keyed so that they cover every shard.
fn fill(s: &Server, list: &str) {
    s.call(&["RPUSH", list, "1", "2", "3", "4"]);
    s.call(&["MSET", "w_1", "40", "w_2", "10", "w_3", "30", "w_4", "20"]);
    s.call(&["MSET", "n_1", "one", "n_2", "two", "n_3", "three", "n_4", "four"]);
    s.call(&["HSET", "o_1", "f", "b"]);
    s.call(&["HSET", "o_3", "f", "a"]);
}

#[test]
fn patterns_read_keys_of_every_shard() {
    let shards = 4;
    let s = start(shards);
    let weights: Vec<usize> = (1..=4).map(|i| shard_of(&format!("w_{i}"), shards)).collect();
    let list = spread("list", shards).into_iter().find(|k| !weights.contains(&shard_of(k, shards))).unwrap_or_else(|| "list".into());
    let mut owners = weights.clone();
    owners.sort_unstable();
    owners.dedup();
    assert!(owners.len() > 1, "the weights spread over shards: {weights:?}");
    fill(&s, &list);
    assert_eq!(s.call(&["SORT", &list, "BY", "w_*"]), bulks(&["2", "4", "3", "1"]));
    assert_eq!(s.call(&["SORT", &list, "BY", "w_*", "DESC", "GET", "n_*", "GET", "#"]), bulks(&["one", "1", "three", "3", "four", "4", "two", "2"]));
    assert_eq!(s.call(&["SORT_RO", &list, "BY", "o_*->f", "ALPHA", "LIMIT", "0", "3"]), bulks(&["2", "4", "3"]));
    // STORE to a destination on each shard, from a connection on any shard.
    for dest in spread("dest", shards) {
        let mut c = Client::connect(s.port());
        let line = format!("SORT {list} BY w_* GET n_* STORE {dest}");
        assert_eq!(c.cmd(&line), ":4\r\n", "{dest}");
        assert_eq!(s.call(&["LRANGE", &dest, "0", "-1"]), bulks(&["two", "four", "three", "one"]));
    }
}

/// Writers swap two weights (and the name next to each) with one MSET across shards;
/// a SORT that read the weights and names unlocked in between would see a mixed state.
#[test]
fn a_sort_by_patterns_sees_other_shards_atomically() {
    let s = start(4);
    let port = s.port();
    s.call(&["RPUSH", "l", "1", "2"]);
    s.call(&["MSET", "w_1", "1", "w_2", "2", "n_1", "a", "n_2", "b"]);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut flip = false;
            while !stop.load(Ordering::Relaxed) {
                let line = if flip { "MSET w_1 1 w_2 2 n_1 a n_2 b" } else { "MSET w_1 2 w_2 1 n_1 b n_2 a" };
                assert_eq!(c.cmd(line), "+OK\r\n");
                flip = !flip;
            }
        })
    };
    let mut reader = Client::connect(port);
    for _ in 0..2000 {
        let reply = reader.cmd("SORT l BY w_* GET n_*");
        // Whichever state it saw, names follow their weights: always "a" then "b".
        assert_eq!(reply, "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn store_signals_sortstore_new_and_del() {
    let s = start(3);
    let mut sub = Client::connect(s.port());
    sub.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(sub.cmd("PSUBSCRIBE __keyevent@0__:*").starts_with("*3\r\n"));
    let mut c = Client::connect(s.port());
    assert_eq!(c.cmd("RPUSH src 2 1"), ":2\r\n");
    assert_eq!(c.cmd("CONFIG SET notify-keyspace-events KEAn"), "+OK\r\n");
    assert_eq!(c.cmd("SORT src STORE dst"), ":2\r\n");
    let event = |sub: &mut Client, name: &str, key: &str| {
        let channel = format!("__keyevent@0__:{name}");
        let expected = format!(
            "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n${}\r\n{channel}\r\n${}\r\n{key}\r\n",
            channel.len(),
            key.len()
        );
        assert_eq!(sub.reply(), expected);
    };
    event(&mut sub, "new", "dst");
    event(&mut sub, "sortstore", "dst");
    // An empty result deletes the destination; a read-only SORT signals nothing.
    assert_eq!(c.cmd("SORT src LIMIT 0 0 STORE dst"), ":0\r\n");
    assert_eq!(c.cmd("SORT src LIMIT 0 0 STORE dst"), ":0\r\n");
    assert_eq!(c.cmd("SORT src"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd("SET marker 1"), "+OK\r\n");
    event(&mut sub, "del", "dst");
    event(&mut sub, "new", "marker");
    event(&mut sub, "set", "marker");
}

fn start_aof(dir: &std::path::Path, shards: usize) -> Server {
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().unwrap()).unwrap().set("appendonly", "yes").unwrap();
    Server::start(cfg).expect("server starts")
}

/// STORE is logged as what it stored (DEL and RPUSH in the destination's log), so a
/// replay does not depend on the order the shards' logs replay in, nor on the weights
/// keeping their values.
#[test]
fn stored_results_replay_from_the_aof_with_any_shard_count() {
    let dir = common::scratch_dir("sort-aof");
    let s = start_aof(&dir, 3);
    fill(&s, "l");
    assert_eq!(s.call(&["SORT", "l", "BY", "w_*", "GET", "n_*", "STORE", "dst"]), Reply::Int(4));
    assert_eq!(s.call(&["SORT", "l", "STORE", "gone"]), Reply::Int(4));
    assert_eq!(s.call(&["SORT", "l", "LIMIT", "0", "0", "STORE", "gone"]), Reply::Int(0));
    // Changing the weights afterwards must not change what the replay stores.
    s.call(&["MSET", "w_1", "1", "w_2", "2", "w_3", "3", "w_4", "4"]);
    s.call(&["DEL", "n_2"]);
    s.stop();
    for shards in [3, 1, 4] {
        let s = start_aof(&dir, shards);
        assert_eq!(s.call(&["LRANGE", "dst", "0", "-1"]), bulks(&["two", "four", "three", "one"]), "{shards} shards");
        assert_eq!(s.call(&["EXISTS", "gone"]), Reply::Int(0));
        s.stop();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A client blocked on STORE's destination is served by the stored list, as in Redis
/// (whose setKey signals the key ready), wherever the destination lives.
#[test]
fn store_serves_a_client_blocked_on_the_destination() {
    let shards = 3;
    let s = start(shards);
    for dest in spread("dest", shards) {
        let mut waiter = Client::connect(s.port());
        common::send(&mut waiter, &["BLPOP", &dest, "0"]);
        common::settle();
        let mut c = Client::connect(s.port());
        c.cmd("DEL src");
        assert_eq!(c.cmd("RPUSH src 2 1"), ":2\r\n");
        assert_eq!(c.cmd(&format!("SORT src BY w_* STORE {dest}")), ":2\r\n");
        let expected = format!("*2\r\n${}\r\n{dest}\r\n$1\r\n1\r\n", dest.len());
        assert_eq!(waiter.reply(), expected);
        assert_eq!(c.cmd(&format!("LRANGE {dest} 0 -1")), "*1\r\n$1\r\n2\r\n");
    }
}
