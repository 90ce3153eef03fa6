//! A script (EVAL, EVALSHA, FCALL) that writes a key it did not declare wakes the
//! clients blocked on that key, as any write does, with one shard or several.

mod common;

use common::{send, settle, start, Client};

/// Runs its arguments as one command: `redis.call(unpack(ARGV))`, with no KEYS.
const BODY: &str = "return redis.call(unpack(ARGV))";
const LIBRARY: &str =
    "#!lua name=wk\nredis.register_function('wk', function(keys, args) return redis.call(unpack(args)) end)";

#[derive(Clone, Copy, Debug)]
enum Via {
    Eval,
    EvalSha,
    Fcall,
}

/// Runs `write` from inside a script, declaring no key.
fn write_from_script(c: &mut Client, via: Via, sha: &str, write: &[&str]) -> String {
    let mut words: Vec<&str> = match via {
        Via::Eval => vec!["EVAL", BODY, "0"],
        Via::EvalSha => vec!["EVALSHA", sha, "0"],
        Via::Fcall => vec!["FCALL", "wk", "0"],
    };
    words.extend_from_slice(write);
    send(c, &words);
    c.reply()
}

/// One blocking command, what sets up its key, the write that serves it, and how its
/// reply starts.
struct Case {
    block: Vec<String>,
    setup: Option<Vec<String>>,
    write: Vec<String>,
    reply_starts: &'static str,
}

fn words(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

fn cases(k: &str) -> Vec<Case> {
    let dst = format!("{{{k}}}dst");
    let case = |block: String, write: String, reply_starts| Case {
        block: words(&block),
        setup: None,
        write: words(&write),
        reply_starts,
    };
    let mut all = vec![
        case(format!("BLPOP {k} 0"), format!("LPUSH {k} x"), "*2\r\n"),
        case(format!("BRPOP {k} 0"), format!("RPUSH {k} x"), "*2\r\n"),
        case(format!("BLMOVE {k} {dst} LEFT RIGHT 0"), format!("RPUSH {k} x"), "$1\r\nx\r\n"),
        case(format!("BLMPOP 0 1 {k} LEFT"), format!("RPUSH {k} x"), "*2\r\n"),
        case(format!("BZPOPMIN {k} 0"), format!("ZADD {k} 1 x"), "*3\r\n"),
        case(format!("BZPOPMAX {k} 0"), format!("ZADD {k} 1 x"), "*3\r\n"),
        case(format!("BZMPOP 0 1 {k} MIN"), format!("ZADD {k} 1 x"), "*2\r\n"),
        case(format!("XREAD BLOCK 0 STREAMS {k} $"), format!("XADD {k} * f v"), "*1\r\n*2\r\n"),
        case(format!("XREADGROUP GROUP g c BLOCK 0 STREAMS {k} >"), format!("XADD {k} * f v"), "*1\r\n*2\r\n"),
    ];
    all.last_mut().unwrap().setup = Some(words(&format!("XGROUP CREATE {k} g $ MKSTREAM")));
    all
}

fn wakes_blocked_clients(shards: usize, via: Via) {
    let server = start(shards);
    let mut writer = Client::connect(server.port());
    send(&mut writer, &["SCRIPT", "LOAD", BODY]);
    let sha = writer.reply();
    let sha = sha.lines().nth(1).expect("a SHA-1").to_string();
    send(&mut writer, &["FUNCTION", "LOAD", LIBRARY]);
    assert_eq!(writer.reply(), "$2\r\nwk\r\n");
    // Keys of every shard, so some are not on the writer's shard.
    for (i, key) in common::spread("sig", shards).iter().enumerate() {
        for n in 0..cases(key).len() {
            // A fresh key per case (hash-tagged to the shard of `key`).
            let k = format!("{{{key}}}{n}");
            let case = cases(&k).swap_remove(n);
            if let Some(setup) = &case.setup {
                let w: Vec<&str> = setup.iter().map(String::as_str).collect();
                send(&mut writer, &w);
                assert_eq!(writer.reply(), "+OK\r\n");
            }
            let mut waiter = Client::connect(server.port());
            let block: Vec<&str> = case.block.iter().map(String::as_str).collect();
            send(&mut waiter, &block);
            settle();
            let write: Vec<&str> = case.write.iter().map(String::as_str).collect();
            let reply = write_from_script(&mut writer, via, &sha, &write);
            assert!(!reply.starts_with('-'), "{via:?} {write:?}: {reply}");
            // Without the wake-up this read times out.
            let got = waiter.reply();
            assert!(got.starts_with(case.reply_starts), "{via:?} shard {i} {block:?}: {got:?}");
        }
    }
}

#[test]
fn eval_wakes_one_shard() {
    wakes_blocked_clients(1, Via::Eval);
}

#[test]
fn eval_wakes_three_shards() {
    wakes_blocked_clients(3, Via::Eval);
}

#[test]
fn evalsha_wakes_one_shard() {
    wakes_blocked_clients(1, Via::EvalSha);
}

#[test]
fn evalsha_wakes_three_shards() {
    wakes_blocked_clients(3, Via::EvalSha);
}

#[test]
fn fcall_wakes_one_shard() {
    wakes_blocked_clients(1, Via::Fcall);
}

#[test]
fn fcall_wakes_three_shards() {
    wakes_blocked_clients(3, Via::Fcall);
}
