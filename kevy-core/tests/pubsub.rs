//! Pub/sub across shards: fan-out to subscribers on every shard, exactly once and in
//! publish order; patterns and shard channels; RESP3 push frames; a subscriber that
//! never reads is disconnected at the output buffer limit and memory stays bounded.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{Client, start, send};

/// Subscribes until the connection has landed on every shard at least once.
fn subscribers(port: u16, n: usize, channel: &str) -> Vec<Client> {
    (0..n)
        .map(|_| {
            let mut c = Client::connect(port);
            assert!(c.cmd(&format!("SUBSCRIBE {channel}")).starts_with("*3\r\n$9\r\nsubscribe"));
            c
        })
        .collect()
}

#[test]
fn one_publisher_fifty_subscribers_across_shards_every_message_once_in_order() {
    let server = start(4);
    let mut subs = subscribers(server.port(), 50, "feed");
    // The kernel spread the connections over the shards' listeners.
    let mut probe = Client::connect(server.port());
    let list = probe.cmd("CLIENT LIST");
    assert!(list.matches("sub=1").count() == 50, "{list}");
    assert_eq!(probe.cmd("PUBSUB NUMSUB feed"), "*2\r\n$4\r\nfeed\r\n:50\r\n");
    let mut publisher = Client::connect(server.port());
    const N: usize = 300;
    for i in 0..N {
        send(&mut publisher, &["PUBLISH", "feed", &format!("m{i}")]);
    }
    for i in 0..N {
        assert_eq!(publisher.reply(), ":50\r\n", "message {i}");
    }
    for (s, sub) in subs.iter_mut().enumerate() {
        for i in 0..N {
            let m = format!("m{i}");
            let want = format!("*3\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n${}\r\n{m}\r\n", m.len());
            assert_eq!(sub.reply(), want, "subscriber {s}, message {i}");
        }
    }
}

#[test]
fn patterns_shard_channels_and_resp3_push_frames() {
    let server = start(3);
    let mut a = Client::connect(server.port());
    assert_eq!(a.cmd("HELLO 3").chars().next(), Some('%'));
    assert_eq!(a.cmd("PSUBSCRIBE user:*"), ">3\r\n$10\r\npsubscribe\r\n$6\r\nuser:*\r\n:1\r\n");
    let mut b = Client::connect(server.port());
    assert_eq!(b.cmd("SSUBSCRIBE zone"), "*3\r\n$10\r\nssubscribe\r\n$4\r\nzone\r\n:1\r\n");
    let mut p = Client::connect(server.port());
    assert_eq!(p.cmd("PUBLISH user:7 hi"), ":1\r\n");
    assert_eq!(a.reply(), ">4\r\n$8\r\npmessage\r\n$6\r\nuser:*\r\n$6\r\nuser:7\r\n$2\r\nhi\r\n");
    // A RESP3 subscriber can still run commands.
    assert_eq!(a.cmd("PING"), "+PONG\r\n");
    assert_eq!(p.cmd("PUBLISH zone x"), ":0\r\n");
    assert_eq!(p.cmd("SPUBLISH zone x"), ":1\r\n");
    assert_eq!(b.reply(), "*3\r\n$8\r\nsmessage\r\n$4\r\nzone\r\n$1\r\nx\r\n");
    assert!(b.cmd("GET k").starts_with("-ERR Can't execute 'get'"));
    assert_eq!(p.cmd("PUBSUB NUMPAT"), ":1\r\n");
    // Disconnecting drops the subscriptions everywhere.
    drop(a);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.cmd("PUBSUB NUMPAT") != ":0\r\n" || p.cmd("PUBSUB SHARDNUMSUB zone") != "*2\r\n$4\r\nzone\r\n:0\r\n" {
        assert!(Instant::now() < deadline, "subscriptions outlived their connections");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(p.cmd("PUBLISH user:7 hi"), ":0\r\n");
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_subscriber_that_never_reads_is_cut_off_and_memory_stays_bounded() {
    let server = start(2);
    let mut admin = Client::connect(server.port());
    send(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 256kb 1"]);
    assert_eq!(admin.reply(), "+OK\r\n");
    let mut lazy = Client::connect(server.port());
    lazy.cmd("SUBSCRIBE firehose");
    let before = rss_kb();
    let payload = "x".repeat(16 * 1024);
    let mut publisher = Client::connect(server.port());
    let mut cut_at = None;
    // 200 MB offered to a subscriber that reads nothing.
    for i in 0..12_800 {
        send(&mut publisher, &["PUBLISH", "firehose", &payload]);
        let r = publisher.reply();
        if r == ":0\r\n" {
            cut_at = Some(i);
            break;
        }
    }
    let cut_at = cut_at.expect("the subscriber was disconnected");
    assert!(cut_at < 2_000, "cut after {cut_at} messages (limit 1mb + socket buffers)");
    let grown_mb = rss_kb().saturating_sub(before) / 1024;
    assert!(grown_mb < 64, "RSS grew by {grown_mb} MB");
    // The lazy client finds its connection closed (after whatever had reached its
    // socket: with replies sent at the end of a turn, as io_uring does, the cut may come
    // before the first of them left, so the count of bytes read may be 0).
    lazy.stream_set_timeout();
    let mut sink = vec![0u8; 1 << 20];
    let closed = loop {
        match lazy.raw_read(&mut sink) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e) => break !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    };
    assert!(closed, "the subscriber's connection is closed, not merely quiet");
    assert_eq!(admin.cmd("PING"), "+PONG\r\n");
}

trait RawRead {
    fn stream_set_timeout(&mut self);
    fn raw_read(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl RawRead for Client {
    fn stream_set_timeout(&mut self) {
        self.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    fn raw_read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream().read(buf)
    }
}

/// The effect consumers are read once per turn: a CONFIG SET that switches
/// notifications on counts for the next command of the same pipelined batch.
#[test]
fn notifications_switched_on_mid_pipeline_signal_the_next_write() {
    let server = start(1);
    let mut sub = Client::connect(server.port());
    sub.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(sub.cmd("SUBSCRIBE __keyevent@0__:set").starts_with("*3\r\n$9\r\nsubscribe"));
    let mut c = Client::connect(server.port());
    let mut batch = Client::encode(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"E$"]);
    batch.extend(Client::encode(&[b"SET", b"pipelined", b"1"]));
    c.send_raw(&batch);
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(sub.reply(), "*3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$9\r\npipelined\r\n");
}
