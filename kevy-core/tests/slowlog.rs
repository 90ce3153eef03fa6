//! SLOWLOG over a sharded server: one log fed by every shard, ids increasing, Redis's
//! argument trimming, RESET, slowlog-max-len, and nothing logged while it is off.

mod common;

use common::{spread, start, Client};

/// A decoded reply: enough RESP2 for SLOWLOG GET.
#[derive(Debug, PartialEq)]
enum Resp {
    Int(i64),
    Bulk(Vec<u8>),
    Array(Vec<Resp>),
    Other(String),
}

fn parse(bytes: &[u8], at: &mut usize) -> Resp {
    let end = *at + bytes[*at..].windows(2).position(|w| w == b"\r\n").expect("a line");
    let head = std::str::from_utf8(&bytes[*at + 1..end]).unwrap().to_string();
    let kind = bytes[*at];
    *at = end + 2;
    match kind {
        b':' => Resp::Int(head.parse().unwrap()),
        b'$' => {
            let n: usize = head.parse().unwrap();
            let data = bytes[*at..*at + n].to_vec();
            *at += n + 2;
            Resp::Bulk(data)
        }
        b'*' => Resp::Array((0..head.parse::<usize>().unwrap()).map(|_| parse(bytes, at)).collect()),
        _ => Resp::Other(head),
    }
}

/// One SLOWLOG GET entry.
struct Entry {
    id: i64,
    args: Vec<String>,
    addr: String,
    name: String,
}

fn slowlog_get(c: &mut Client, count: &str) -> Vec<Entry> {
    let raw = c.cmd(&format!("SLOWLOG GET {count}"));
    let Resp::Array(entries) = parse(raw.as_bytes(), &mut 0) else { panic!("{raw}") };
    let text = |r: &Resp| match r {
        Resp::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("{other:?}"),
    };
    entries
        .iter()
        .map(|e| {
            let Resp::Array(f) = e else { panic!("{e:?}") };
            assert_eq!(f.len(), 6, "{raw}");
            assert!(matches!(f[1], Resp::Int(t) if t > 1_600_000_000), "unix time: {raw}");
            assert!(matches!(f[2], Resp::Int(us) if us >= 0), "duration: {raw}");
            let (Resp::Int(id), Resp::Array(args)) = (&f[0], &f[3]) else { panic!("{raw}") };
            Entry { id: *id, args: args.iter().map(text).collect(), addr: text(&f[4]), name: text(&f[5]) }
        })
        .collect()
}

fn log_everything(c: &mut Client) {
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 0"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG RESET"), "+OK\r\n");
}

#[test]
fn commands_from_every_shard_land_in_one_log_with_increasing_ids() {
    let server = start(3);
    let keys = spread("slow", 3);
    let mut clients: Vec<Client> = (0..6).map(|_| Client::connect(server.port())).collect();
    log_everything(&mut clients[0]);
    for (i, c) in clients.iter_mut().enumerate() {
        for k in &keys {
            assert_eq!(c.cmd(&format!("SET {k} v{i}")), "+OK\r\n");
        }
    }
    let mut probe = Client::connect(server.port());
    let entries = slowlog_get(&mut probe, "-1");
    // Newest first, ids strictly decreasing: one counter for every shard.
    assert!(entries.windows(2).all(|w| w[0].id > w[1].id), "ids: {:?}", entries.iter().map(|e| e.id).collect::<Vec<_>>());
    for (i, _) in clients.iter().enumerate() {
        for k in &keys {
            let want = ["set".to_string(), k.clone(), format!("v{i}")];
            let found = entries.iter().filter(|e| e.args.iter().map(|a| a.to_lowercase()).eq(want.iter().cloned())).count();
            assert_eq!(found, 1, "SET {k} v{i} logged once");
        }
    }
    assert!(entries.iter().all(|e| e.addr.is_empty() || e.addr.starts_with("127.0.0.1:")));
    assert_eq!(entries.last().unwrap().args, ["SLOWLOG", "RESET"]);
}

#[test]
fn entries_name_the_client_and_keep_its_address() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    log_everything(&mut c);
    assert_eq!(c.cmd("CLIENT SETNAME reporter"), "+OK\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    let newest = slowlog_get(&mut c, "1").remove(0);
    assert_eq!(newest.args, ["PING"]);
    assert_eq!(newest.name, "reporter");
    let me = c.stream().local_addr().unwrap();
    assert_eq!(newest.addr, me.to_string());
}

#[test]
fn long_commands_are_trimmed_as_redis_trims_them() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    log_everything(&mut c);
    let members: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    c.cmd(&format!("SADD many {}", members.join(" ")));
    let long = "A".repeat(200);
    c.cmd(&format!("SADD big foo {long}"));
    let entries = slowlog_get(&mut c, "3");
    let (big, many) = (&entries[0], &entries[1]);
    assert_eq!(big.args, ["SADD", "big", "foo", &format!("{}... (72 more bytes)", "A".repeat(128))]);
    assert_eq!(many.args.len(), 32);
    assert_eq!(many.args[30], "28");
    assert_eq!(many.args[31], "... (11 more arguments)");
}

#[test]
fn reset_max_len_and_off() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    log_everything(&mut c);
    // SLOWLOG RESET itself ends after the reset: it is the one entry left, as in Redis.
    assert_eq!(c.cmd("SLOWLOG LEN"), ":1\r\n");
    assert_eq!(c.cmd("CONFIG SET slowlog-max-len 5"), "+OK\r\n");
    for _ in 0..20 {
        c.cmd("PING");
    }
    assert_eq!(c.cmd("SLOWLOG LEN"), ":5\r\n");
    let ids: Vec<i64> = slowlog_get(&mut c, "-1").iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "{ids:?}");
    assert_eq!(c.cmd("SLOWLOG GET 0"), "*0\r\n");
    assert_eq!(c.cmd("SLOWLOG GET -2"), "-ERR count should be greater than or equal to -1\r\n");
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than -1"), "+OK\r\n");
    assert_eq!(c.cmd("SLOWLOG RESET"), "+OK\r\n");
    for _ in 0..5 {
        c.cmd("PING");
    }
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
    // Over the threshold only: a high one logs none of these quick commands.
    assert_eq!(c.cmd("CONFIG SET slowlog-log-slower-than 10000000"), "+OK\r\n");
    c.cmd("PING");
    assert_eq!(c.cmd("SLOWLOG LEN"), ":0\r\n");
}

#[test]
fn latency_monitor_records_slow_commands_as_events() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("LATENCY LATEST"), "*0\r\n");
    assert_eq!(c.cmd("CONFIG SET latency-monitor-threshold 1"), "+OK\r\n");
    // A script that runs well over a millisecond on any machine.
    let script = "local n = 0 for i = 1, 300000 do n = n + redis.call('incr', KEYS[1]) end return 1";
    c.send_raw(&Client::encode(&[b"EVAL", script.as_bytes(), b"1", b"counter"]));
    assert_eq!(c.reply(), ":1\r\n");
    // (A loaded machine may also see a quick command take a millisecond: other
    // events may show up beside it.)
    let latest = c.cmd("LATENCY LATEST");
    assert!(latest.contains("*4\r\n$7\r\ncommand\r\n:"), "{latest}");
    assert!(c.cmd("LATENCY HISTORY command").starts_with("*1\r\n*2\r\n:"));
    assert_eq!(c.cmd("LATENCY HISTORY blabla"), "*0\r\n");
    assert_eq!(c.cmd("LATENCY RESET blabla"), ":0\r\n");
    // Off first, so that nothing after it is an event.
    assert_eq!(c.cmd("CONFIG SET latency-monitor-threshold 0"), "+OK\r\n");
    assert_ne!(c.cmd("LATENCY RESET"), ":0\r\n");
    assert_eq!(c.cmd("LATENCY LATEST"), "*0\r\n");
    assert_eq!(c.cmd("LATENCY GRAPH command"), "-ERR No samples available for event 'command'\r\n");
}
