//! Scripts that touch keys outside KEYS, or run KEYS, as on one redis-server: with one
//! shard or several, atomic against concurrent writers.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{send, start, Client};

/// rq's `Queue.empty()`: pops every job id of the queue (KEYS[1]) and deletes the job
/// keys built from them (on any shard). Returns {popped, deleted}.
const EMPTY_QUEUE: &str = "local popped, deleted = 0, 0
while true do
  local id = redis.call('lpop', KEYS[1])
  if id == false then break end
  popped = popped + 1
  deleted = deleted + redis.call('del', 'rq:job:' .. id)
  redis.call('del', 'rq:job:' .. id .. ':dependents')
end
return {popped, deleted}";

/// python-redis-lock's `reset_all()`: lists keys from Lua and deletes them.
const RESET_ALL: &str = "local ks = redis.call('keys', ARGV[1])
for _, k in ipairs(ks) do redis.call('del', k) end
return #ks";

fn eval(c: &mut Client, body: &str, keys: &[&str], argv: &[&str]) -> String {
    let n = keys.len().to_string();
    let mut words = vec!["EVAL", body, &n];
    words.extend_from_slice(keys);
    words.extend_from_slice(argv);
    send(c, &words);
    c.reply()
}

/// Adds job `id` to the queue atomically (queue and job key on different shards).
fn push_job(c: &mut Client, id: usize) {
    let job = format!("rq:job:j{id}");
    let jid = format!("j{id}");
    c.send_raw(
        &[
            Client::encode(&[b"MULTI"]),
            Client::encode(&[b"SET", job.as_bytes(), b"data"]),
            Client::encode(&[b"RPUSH", b"rq:queue:default", jid.as_bytes()]),
            Client::encode(&[b"EXEC"]),
        ]
        .concat(),
    );
    for _ in 0..4 {
        c.reply();
    }
}

fn parse_pair(reply: &str) -> (i64, i64) {
    let nums: Vec<i64> = reply.lines().filter_map(|l| l.strip_prefix(':')).map(|n| n.parse().unwrap()).collect();
    assert_eq!(nums.len(), 2, "{reply:?}");
    (nums[0], nums[1])
}

fn empty_queue_against_writers(shards: usize) {
    let server = start(shards);
    let port = server.port();
    let mut c = Client::connect(port);
    // First on an empty queue: the script stays on its KEYS' shard this time.
    assert_eq!(eval(&mut c, EMPTY_QUEUE, &["rq:queue:default"], &[]), "*2\r\n:0\r\n:0\r\n");
    for id in 0..20 {
        push_job(&mut c, id);
    }
    assert_eq!(eval(&mut c, EMPTY_QUEUE, &["rq:queue:default"], &[]), "*2\r\n:20\r\n:20\r\n");
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut id = 1000 * (w + 1);
                while !stop.load(Ordering::Relaxed) {
                    push_job(&mut c, id);
                    id += 1;
                }
            })
        })
        .collect();
    let mut popped = 0;
    for _ in 0..50 {
        let (p, d) = parse_pair(&eval(&mut c, EMPTY_QUEUE, &["rq:queue:default"], &[]));
        // Atomic: every job id it popped had its job key (pushed together in EXEC).
        assert_eq!(p, d);
        popped += p;
    }
    stop.store(true, Ordering::Relaxed);
    writers.into_iter().for_each(|w| w.join().unwrap());
    let (p, d) = parse_pair(&eval(&mut c, EMPTY_QUEUE, &["rq:queue:default"], &[]));
    assert_eq!(p, d);
    assert!(popped + p > 0);
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
}

#[test]
fn rq_empty_queue_one_shard() {
    empty_queue_against_writers(1);
}

#[test]
fn rq_empty_queue_three_shards() {
    empty_queue_against_writers(3);
}

fn keys_inside_lua_against_writers(shards: usize) {
    let server = start(shards);
    let port = server.port();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    // Two keys on (likely) different shards, set together.
                    let reply = c.cmd(&format!("MSET lock:{w}a{i} 1 lock:{w}b{i} 1"));
                    assert_eq!(reply, "+OK\r\n");
                    i += 1;
                }
            })
        })
        .collect();
    let mut c = Client::connect(port);
    let mut seen = 0;
    for _ in 0..50 {
        let reply = eval(&mut c, RESET_ALL, &[], &["lock:*"]);
        let n: i64 = reply.trim().trim_start_matches(':').parse().unwrap_or_else(|_| panic!("{reply:?}"));
        // Atomic: never half of an MSET.
        assert_eq!(n % 2, 0, "saw half an MSET: {n}");
        seen += n;
    }
    stop.store(true, Ordering::Relaxed);
    writers.into_iter().for_each(|w| w.join().unwrap());
    eval(&mut c, RESET_ALL, &[], &["lock:*"]);
    assert!(seen > 0);
    assert_eq!(c.cmd("DBSIZE"), ":0\r\n");
}

#[test]
fn keys_inside_lua_one_shard() {
    keys_inside_lua_against_writers(1);
}

#[test]
fn keys_inside_lua_three_shards() {
    keys_inside_lua_against_writers(3);
}

/// A script known to stay on its KEYS' shard that reaches another before writing is
/// run again holding every shard: the client sees the right reply.
#[test]
fn a_local_script_that_reaches_out_is_rerun() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    let keys = common::spread("far", 3);
    let body = "if ARGV[1] ~= '' then redis.call('set', ARGV[1], 'v') end return redis.call('incr', KEYS[1])";
    for k in &keys {
        assert_eq!(eval(&mut c, body, &[k], &[""]), ":1\r\n");
    }
    // The same script (now known as local) writes keys of every other shard.
    for (i, k) in keys.iter().enumerate() {
        let other = &keys[(i + 1) % 3];
        assert_eq!(eval(&mut c, body, &[k], &[&format!("{other}:x")]), ":2\r\n");
        assert_eq!(c.cmd(&format!("GET {other}:x")), "$1\r\nv\r\n");
    }
}

/// The same for FCALL, and for scripts inside MULTI/EXEC.
#[test]
fn fcall_and_exec_reach_any_shard() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    let lib = format!(
        "#!lua name=locks\nredis.register_function('reset_all', function(keys, args) {} end)",
        RESET_ALL.replace("ARGV", "args")
    );
    send(&mut c, &["FUNCTION", "LOAD", &lib]);
    assert_eq!(c.reply(), "$5\r\nlocks\r\n");
    for k in common::spread("lock", 3) {
        assert_eq!(c.cmd(&format!("SET {k} 1")), "+OK\r\n");
    }
    assert_eq!(c.cmd("FCALL reset_all 0 lock:*"), ":3\r\n");
    for k in common::spread("lock", 3) {
        assert_eq!(c.cmd(&format!("SET {k} 1")), "+OK\r\n");
    }
    assert_eq!(c.cmd("MULTI"), "+OK\r\n");
    send(&mut c, &["EVAL", RESET_ALL, "0", "lock:*"]);
    assert_eq!(c.reply(), "+QUEUED\r\n");
    assert_eq!(c.cmd("FCALL reset_all 0 lock:*"), "+QUEUED\r\n");
    assert_eq!(c.cmd("EXEC"), "*2\r\n:3\r\n:0\r\n");
}
