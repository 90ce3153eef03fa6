//! Blocking pops across shards: wake-ups, FIFO order, timeouts, disconnects, and a
//! producer/consumer queue that loses and duplicates nothing.

mod common;


use common::{Client, start, send, settle, spread};

#[test]
fn waiters_on_one_key_are_served_in_fifo_order_from_any_shard() {
    let server = start(4);
    let key = spread("fifo", 4)[2].clone();
    let mut waiters: Vec<Client> = (0..6).map(|_| Client::connect(server.port())).collect();
    for w in &mut waiters {
        send(w, &["BLPOP", &key, "0"]);
        settle(); // blocking order is arrival order
    }
    let mut producer = Client::connect(server.port());
    assert_eq!(producer.cmd(&format!("RPUSH {key} e0 e1 e2")), ":3\r\n");
    for (i, w) in waiters.iter_mut().take(3).enumerate() {
        assert_eq!(w.reply(), format!("*2\r\n${}\r\n{key}\r\n$2\r\ne{i}\r\n", key.len()));
    }
    assert_eq!(producer.cmd(&format!("RPUSH {key} e3 e4 e5 e6")), ":4\r\n");
    for (i, w) in waiters.iter_mut().enumerate().skip(3) {
        assert_eq!(w.reply(), format!("*2\r\n${}\r\n{key}\r\n$2\r\ne{i}\r\n", key.len()));
    }
    assert_eq!(producer.cmd(&format!("LRANGE {key} 0 -1")), "*1\r\n$2\r\ne6\r\n");
}

#[test]
fn multi_key_blpop_wakes_on_any_shard_and_is_served_once() {
    let server = start(4);
    let keys = spread("mk", 4);
    let mut w = Client::connect(server.port());
    send(&mut w, &["BLPOP", &keys[0], &keys[1], &keys[2], &keys[3], "0"]);
    settle();
    let mut p = Client::connect(server.port());
    // Data on two shards at once: only one element may be taken.
    p.send_raw(&[
        Client::encode(&[b"RPUSH", keys[3].as_bytes(), b"x"]),
        Client::encode(&[b"RPUSH", keys[1].as_bytes(), b"y"]),
    ]
    .concat());
    assert_eq!(p.reply(), ":1\r\n");
    assert_eq!(p.reply(), ":1\r\n");
    let got = w.reply();
    assert!(got.ends_with("$1\r\nx\r\n") || got.ends_with("$1\r\ny\r\n"), "{got:?}");
    settle();
    let left = p.cmd(&format!("EXISTS {} {}", keys[3], keys[1]));
    assert_eq!(left, ":1\r\n", "exactly one of the two elements was taken");
}

#[test]
fn timeouts_reply_nil_and_the_pipeline_continues() {
    let server = start(2);
    let mut c = Client::connect(server.port());
    c.send_raw(&[Client::encode(&[b"BLPOP", b"nothing", b"0.2"]), Client::encode(&[b"PING"])].concat());
    assert_eq!(c.reply(), "*-1\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.cmd("HELLO 3").chars().next(), Some('%'));
    send(&mut c, &["BRPOP", "nothing", "0.1"]);
    assert_eq!(c.reply(), "_\r\n");
    assert_eq!(c.cmd("BLPOP k -1"), "-ERR timeout is negative\r\n");
}

#[test]
fn a_client_that_disconnects_while_blocked_takes_nothing() {
    let server = start(4);
    let key = spread("gone", 4)[1].clone();
    {
        let mut w = Client::connect(server.port());
        send(&mut w, &["BLPOP", &key, "0"]);
        settle();
    }
    settle();
    let mut p = Client::connect(server.port());
    assert_eq!(p.cmd(&format!("RPUSH {key} keep")), ":1\r\n");
    settle();
    assert_eq!(p.cmd(&format!("LLEN {key}")), ":1\r\n");
}

#[test]
fn blmove_across_shards_moves_atomically_when_woken() {
    let server = start(4);
    let keys = spread("mv", 4);
    let (src, dst) = (&keys[0], &keys[3]);
    let mut w = Client::connect(server.port());
    send(&mut w, &["BLMOVE", src, dst, "LEFT", "RIGHT", "0"]);
    settle();
    let mut p = Client::connect(server.port());
    assert_eq!(p.cmd(&format!("RPUSH {src} item")), ":1\r\n");
    assert_eq!(w.reply(), "$4\r\nitem\r\n");
    assert_eq!(p.cmd(&format!("LRANGE {dst} 0 -1")), "*1\r\n$4\r\nitem\r\n");
    assert_eq!(p.cmd(&format!("EXISTS {src}")), ":0\r\n");
}

#[test]
fn queue_with_eight_consumers_loses_and_duplicates_nothing() {
    let server = start(4);
    let port = server.port();
    let queues = spread("jobs", 4);
    let total = 2000;
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            let queues = queues.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let mut got = Vec::new();
                loop {
                    let mut words = vec!["BLPOP"];
                    words.extend(queues.iter().map(String::as_str));
                    words.push("1");
                    send(&mut c, &words);
                    let r = c.reply();
                    if r == "*-1\r\n" {
                        return got; // idle for a second: the producer is done
                    }
                    assert!(r.starts_with("*2\r\n"), "unexpected reply {r:?}");
                    let item = r.rsplit("\r\n").nth(1).unwrap().to_string();
                    got.push(item);
                }
            })
        })
        .collect();
    let mut p = Client::connect(port);
    for i in 0..total {
        let q = &queues[i % queues.len()];
        send(&mut p, &["RPUSH", q, &format!("job{i}")]);
        p.reply();
    }
    let mut all: Vec<String> = consumers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort();
    let mut expected: Vec<String> = (0..total).map(|i| format!("job{i}")).collect();
    expected.sort();
    assert_eq!(all.len(), total, "every job consumed exactly once");
    assert_eq!(all, expected);
}

#[test]
fn a_served_move_onto_a_wrong_type_fails_the_waiter_and_moves_nothing() {
    let server = start(2);
    let mut w = Client::connect(server.port());
    let mut p = Client::connect(server.port());
    assert_eq!(p.cmd("SET target{t} nolist"), "+OK\r\n");
    send(&mut w, &["BRPOPLPUSH", "blist{t}", "target{t}", "0"]);
    settle();
    assert_eq!(p.cmd("RPUSH blist{t} a b c"), ":3\r\n");
    assert!(w.reply().starts_with("-WRONGTYPE"), "Redis unblocks the waiter with the error");
    assert_eq!(p.cmd("LRANGE blist{t} 0 -1"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    // A source retyped before the waiter is served leaves it waiting.
    send(&mut w, &["BLMOVE", "src{t}", "dst{t}", "LEFT", "LEFT", "0"]);
    settle();
    p.send_raw(&[Client::encode(&[b"MULTI"]), Client::encode(&[b"RPUSH", b"src{t}", b"x"]), Client::encode(&[b"DEL", b"src{t}"]), Client::encode(&[b"SET", b"src{t}", b"str"]), Client::encode(&[b"EXEC"])].concat());
    for _ in 0..4 {
        p.reply();
    }
    assert_eq!(p.reply(), "*3\r\n:1\r\n:1\r\n+OK\r\n");
    assert_eq!(p.cmd("DEL src{t}"), ":1\r\n");
    assert_eq!(p.cmd("RPUSH src{t} y"), ":1\r\n");
    assert_eq!(w.reply(), "$1\r\ny\r\n");
}
