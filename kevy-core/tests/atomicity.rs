//! Commands whose keys span shards are atomic as other clients see them: a reader
//! never observes half of an MSET, and RENAME never shows the key in both or neither
//! place.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{start, Client};

/// Keys that land on distinct shards of a 4-shard server.
fn spread_keys() -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for i in 0.. {
        let k = format!("acct:{i}");
        let s = kevy_core::shard_of(k.as_bytes(), 4);
        if !seen.contains(&s) {
            seen.push(s);
            keys.push(k);
        }
        if keys.len() == 4 {
            break;
        }
    }
    keys
}

#[test]
fn mset_is_never_seen_half_done() {
    let server = start(4);
    let port = server.port();
    let keys = spread_keys();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (keys, stop) = (keys.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let v = format!("{w}-{i}");
                    let mut args: Vec<&[u8]> = vec![b"MSET"];
                    for k in &keys {
                        args.push(k.as_bytes());
                        args.push(v.as_bytes());
                    }
                    c.send_raw(&Client::encode(&args));
                    assert_eq!(c.reply(), "+OK\r\n");
                    i += 1;
                }
            })
        })
        .collect();
    let mut reader = Client::connect(port);
    let mut mget: Vec<&[u8]> = vec![b"MGET"];
    mget.extend(keys.iter().map(|k| k.as_bytes()));
    let request = Client::encode(&mget);
    for _ in 0..3000 {
        reader.send_raw(&request);
        let reply = reader.reply();
        let values: Vec<&str> = reply.split("\r\n").skip(1).step_by(2).filter(|s| !s.is_empty()).collect();
        if reply.starts_with("*4\r\n$-1") {
            continue; // before the first MSET
        }
        assert!(values.windows(2).all(|w| w[0] == w[1]), "torn MSET observed: {reply:?}");
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}

#[test]
fn rename_across_shards_moves_atomically() {
    let server = start(4);
    let port = server.port();
    let keys = spread_keys();
    let (a, b) = (keys[0].clone(), keys[1].clone());
    let mut setup = Client::connect(port);
    assert_eq!(setup.cmd(&format!("SET {a} payload")), "+OK\r\n");
    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let (a, b, stop) = (a.clone(), b.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut from_a = true;
            while !stop.load(Ordering::Relaxed) {
                let (x, y) = if from_a { (&a, &b) } else { (&b, &a) };
                assert_eq!(c.cmd(&format!("RENAME {x} {y}")), "+OK\r\n");
                from_a = !from_a;
            }
        })
    };
    let mut reader = Client::connect(port);
    for _ in 0..3000 {
        assert_eq!(reader.cmd(&format!("EXISTS {a} {b}")), ":1\r\n", "the key must be in exactly one place");
    }
    stop.store(true, Ordering::Relaxed);
    mover.join().unwrap();
}
