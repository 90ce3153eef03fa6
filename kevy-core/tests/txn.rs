//! Transactions with several clients: WATCH broken by another client's write, by an
//! expiry, by FLUSHALL; blocked clients served after EXEC; and MULTI/EXEC atomic across
//! shards under load (transfers between counters on different shards never show a
//! changed total to readers).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{start, Client};

const NIL_ARRAY: &str = "*-1\r\n";

/// `n` keys that land on distinct shards of a server of `shards` shards.
fn spread_keys(prefix: &str, n: usize, shards: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for i in 0.. {
        let k = format!("{prefix}:{i}");
        let s = kevy_core::shard_of(k.as_bytes(), shards);
        if !seen.contains(&s) || seen.len() >= shards {
            seen.push(s);
            keys.push(k);
        }
        if keys.len() == n {
            return keys;
        }
    }
    unreachable!()
}

/// Sends a whole pipeline at once and reads one reply per command.
fn pipeline(c: &mut Client, lines: &[&str]) -> Vec<String> {
    let mut bytes = Vec::new();
    for line in lines {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        bytes.extend(Client::encode(&words));
    }
    c.send_raw(&bytes);
    lines.iter().map(|_| c.reply()).collect()
}

#[test]
fn another_clients_write_breaks_the_watch() {
    let server = start(4);
    let (mut a, mut b) = (Client::connect(server.port()), Client::connect(server.port()));
    for key in spread_keys("w", 4, 4) {
        assert_eq!(a.cmd(&format!("SET {key} 1")), "+OK\r\n");
        assert_eq!(a.cmd(&format!("WATCH {key}")), "+OK\r\n");
        assert_eq!(b.cmd(&format!("SET {key} 2")), "+OK\r\n");
        assert_eq!(a.cmd("MULTI"), "+OK\r\n");
        assert_eq!(a.cmd(&format!("INCR {key}")), "+QUEUED\r\n");
        assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
        assert_eq!(a.cmd(&format!("GET {key}")), "$1\r\n2\r\n");
        // Untouched, the same transaction runs.
        assert_eq!(a.cmd(&format!("WATCH {key}")), "+OK\r\n");
        assert_eq!(b.cmd(&format!("GET {key}")), "$1\r\n2\r\n");
        assert_eq!(a.cmd("MULTI"), "+OK\r\n");
        assert_eq!(a.cmd(&format!("INCR {key}")), "+QUEUED\r\n");
        assert_eq!(a.cmd("EXEC"), "*1\r\n:3\r\n");
    }
    // A key another client deletes, and one another transaction writes.
    assert_eq!(a.cmd("WATCH w:0 w:1"), "+OK\r\n");
    assert_eq!(b.cmd("MULTI"), "+OK\r\n");
    assert_eq!(b.cmd("SET w:1 x"), "+QUEUED\r\n");
    assert_eq!(b.cmd("EXEC"), "*1\r\n+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
    assert_eq!(a.cmd("WATCH w:0"), "+OK\r\n");
    assert_eq!(b.cmd("DEL w:0"), ":1\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
}

#[test]
fn an_expiring_watched_key_breaks_the_watch() {
    let server = start(3);
    let mut a = Client::connect(server.port());
    // Nobody touches the key: EXEC itself finds it expired.
    assert_eq!(a.cmd("SET e1 v PX 100"), "+OK\r\n");
    assert_eq!(a.cmd("WATCH e1"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("PING"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
    // Removed by the active reaper long before EXEC (hz 10: a few ticks).
    assert_eq!(a.cmd("SET e2 v PX 50"), "+OK\r\n");
    assert_eq!(a.cmd("WATCH e2"), "+OK\r\n");
    let t = Instant::now();
    while a.cmd("DBSIZE") != ":0\r\n" {
        assert!(t.elapsed() < Duration::from_secs(5), "the reaper removes e2");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
    // A key that had already expired when watched does not count.
    assert_eq!(a.cmd("SET e3 v PX 1"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(a.cmd("WATCH e3"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), "*0\r\n");
}

#[test]
fn flushall_breaks_watches_of_existing_keys() {
    let server = start(4);
    let (mut a, mut b) = (Client::connect(server.port()), Client::connect(server.port()));
    assert_eq!(a.cmd("SET f1 v"), "+OK\r\n");
    assert_eq!(a.cmd("WATCH f1 missing"), "+OK\r\n");
    assert_eq!(b.cmd("FLUSHALL"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
    assert_eq!(a.cmd("WATCH missing"), "+OK\r\n");
    assert_eq!(b.cmd("FLUSHDB"), "+OK\r\n");
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("EXEC"), "*0\r\n");
}

#[test]
fn blocked_clients_are_served_after_exec() {
    let server = start(4);
    let port = server.port();
    let mut waiter = Client::connect(port);
    waiter.send_raw(&Client::encode(&[b"BLPOP", b"q", b"0"]));
    let mut a = Client::connect(port);
    let t = Instant::now();
    while !a.cmd("INFO clients").contains("blocked_clients:1") {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(5));
    }
    // Inside the transaction the pushed element is still there: the waiter is served
    // only once EXEC is done, as in Redis.
    let replies = pipeline(&mut a, &["MULTI", "RPUSH q a b", "LLEN q", "LRANGE q 0 -1", "EXEC"]);
    assert_eq!(replies[4], "*3\r\n:2\r\n:2\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(waiter.reply(), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_eq!(a.cmd("LRANGE q 0 -1"), "*1\r\n$1\r\nb\r\n");
}

#[test]
fn exec_sees_the_pipelines_earlier_writes_and_disconnects_drop_watches() {
    let server = start(4);
    let port = server.port();
    let keys = spread_keys("p", 4, 4);
    let mut a = Client::connect(port);
    let mut lines: Vec<String> = keys.iter().map(|k| format!("SET {k} 1")).collect();
    lines.push("MULTI".into());
    lines.extend(keys.iter().map(|k| format!("INCR {k}")));
    lines.push("EXEC".into());
    lines.extend(keys.iter().map(|k| format!("GET {k}")));
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let replies = pipeline(&mut a, &refs);
    assert_eq!(replies[keys.len() * 2 + 1], "*4\r\n:2\r\n:2\r\n:2\r\n:2\r\n");
    assert!(replies[keys.len() * 2 + 2..].iter().all(|r| r == "$1\r\n2\r\n"));
    // Many connections watch and leave; the server keeps serving writes to those keys.
    for _ in 0..50 {
        let mut c = Client::connect(port);
        assert_eq!(c.cmd(&format!("WATCH {} {}", keys[0], keys[1])), "+OK\r\n");
    }
    for k in &keys {
        assert_eq!(a.cmd(&format!("SET {k} 3")), "+OK\r\n");
    }
}

#[test]
fn watch_based_increments_lose_no_update() {
    let server = start(4);
    let port = server.port();
    let keys = spread_keys("cas", 2, 4);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut retries = 0u64;
                for _ in 0..200 {
                    loop {
                        assert_eq!(c.cmd(&format!("WATCH {} {}", keys[0], keys[1])), "+OK\r\n");
                        let n = |r: String| r.lines().nth(1).map_or(0, |v| v.parse::<i64>().unwrap());
                        let (x, y) = (n(c.cmd(&format!("GET {}", keys[0]))), n(c.cmd(&format!("GET {}", keys[1]))));
                        let replies = pipeline(
                            &mut c,
                            &["MULTI", &format!("SET {} {}", keys[0], x + 1), &format!("SET {} {}", keys[1], y + 2), "EXEC"],
                        );
                        if replies[3] != NIL_ARRAY {
                            assert_eq!(replies[3], "*2\r\n+OK\r\n+OK\r\n");
                            break;
                        }
                        retries += 1;
                    }
                }
                retries
            })
        })
        .collect();
    let retries: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut c = Client::connect(port);
    assert_eq!(c.cmd(&format!("MGET {} {}", keys[0], keys[1])), "*2\r\n$3\r\n800\r\n$4\r\n1600\r\n");
    eprintln!("{retries} optimistic retries");
}

/// The sum of the integers in an array reply of bulk strings.
fn sum_of(reply: &str) -> i64 {
    reply.lines().filter(|l| !l.starts_with('*') && !l.starts_with('$')).map(|l| l.parse::<i64>().unwrap()).sum()
}

#[test]
fn transfers_across_shards_never_show_a_changed_total() {
    const START: i64 = 1000;
    let server = start(4);
    let port = server.port();
    let keys = spread_keys("acct", 8, 4);
    let mut setup = Client::connect(port);
    for k in &keys {
        assert_eq!(setup.cmd(&format!("SET {k} {START}")), "+OK\r\n");
    }
    let total = START * keys.len() as i64;
    let stop = Arc::new(AtomicBool::new(false));
    let transfers = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (keys, stop, transfers) = (keys.clone(), Arc::clone(&stop), Arc::clone(&transfers));
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let (from, to) = (&keys[i % keys.len()], &keys[(i * 7 + 3) % keys.len()]);
                    let x = (i % 13 + 1).to_string();
                    let replies = pipeline(&mut c, &["MULTI", &format!("DECRBY {from} {x}"), &format!("INCRBY {to} {x}"), "EXEC"]);
                    assert!(replies[3].starts_with("*2\r\n:"), "{replies:?}");
                    transfers.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (keys, stop) = (keys.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut lines = vec!["MULTI".to_string()];
                lines.extend(keys.iter().map(|k| format!("GET {k}")));
                lines.push("EXEC".into());
                let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
                let mget = format!("MGET {}", keys.join(" "));
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let replies = pipeline(&mut c, &refs);
                    assert_eq!(sum_of(replies.last().unwrap()), total, "a transaction saw a partial transfer");
                    if r == 0 {
                        assert_eq!(sum_of(&c.cmd(&mget)), total, "MGET saw a partial transfer");
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    writers.into_iter().for_each(|t| t.join().unwrap());
    let reads: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(transfers.load(Ordering::Relaxed) > 100 && reads > 100, "the load ran");
    let values = setup.cmd(&format!("MGET {}", keys.join(" ")));
    assert_eq!(sum_of(&values), total);
}

#[test]
fn client_list_shows_transactions_and_broken_watches() {
    let server = start(2);
    let (mut a, mut b) = (Client::connect(server.port()), Client::connect(server.port()));
    assert!(a.cmd("CLIENT INFO").contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "));
    assert_eq!(a.cmd("WATCH k"), "+OK\r\n");
    assert!(a.cmd("CLIENT INFO").contains(" flags=N "));
    assert_eq!(b.cmd("SET k 1"), "+OK\r\n");
    assert!(a.cmd("CLIENT INFO").contains(" flags=d "));
    let id = a.cmd("CLIENT ID").trim_start_matches(':').trim().to_string();
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("SET k 2"), "+QUEUED\r\n");
    let list = b.cmd("CLIENT LIST");
    let line = list.lines().find(|l| l.contains(&format!("id={id} "))).expect("a is listed");
    assert!(line.contains(" flags=xd ") && line.contains(" multi=1 "), "{line}");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
    assert!(a.cmd("CLIENT INFO").contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "));
}

#[test]
fn a_setbit_or_bitfield_that_changes_nothing_leaves_the_watch_and_dirty_alone() {
    let server = start(2);
    let (mut a, mut b) = (Client::connect(server.port()), Client::connect(server.port()));
    assert_eq!(a.cmd("SETBIT bits 3 1"), ":0\r\n");
    assert_eq!(a.cmd("BITFIELD bits SET u8 #1 7"), "*1\r\n:0\r\n");
    let dirty = |c: &mut Client| {
        let info = c.cmd("INFO persistence");
        let line = info.lines().find(|l| l.starts_with("rdb_changes_since_last_save:")).unwrap().to_string();
        line.split(':').nth(1).unwrap().parse::<u64>().unwrap()
    };
    let before = dirty(&mut a);
    assert_eq!(a.cmd("WATCH bits"), "+OK\r\n");
    // The same bits again: no change, as in Redis 7.0.
    assert_eq!(b.cmd("SETBIT bits 3 1"), ":1\r\n");
    assert_eq!(b.cmd("BITFIELD bits SET u8 #1 7 GET u8 0"), "*2\r\n:7\r\n:16\r\n");
    assert_eq!(dirty(&mut a), before);
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("GETBIT bits 3"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), "*1\r\n:1\r\n");
    // A real change breaks the watch and counts.
    assert_eq!(a.cmd("WATCH bits"), "+OK\r\n");
    assert_eq!(b.cmd("BITFIELD bits INCRBY u8 #1 1"), "*1\r\n:8\r\n");
    assert_eq!(dirty(&mut a), before + 1);
    assert_eq!(a.cmd("MULTI"), "+OK\r\n");
    assert_eq!(a.cmd("GETBIT bits 3"), "+QUEUED\r\n");
    assert_eq!(a.cmd("EXEC"), NIL_ARRAY);
}
