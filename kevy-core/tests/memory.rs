//! MEMORY USAGE / STATS / HELP and INFO memory: reply shapes and errors as Redis 7.0,
//! nil for a missing key, estimates that grow with the value, keys on every shard.

mod common;

use common::{spread, start};
use kevy_core::Reply;

fn usage(s: &kevy_core::Server, args: &[&str]) -> i64 {
    let mut full = vec!["MEMORY", "USAGE"];
    full.extend_from_slice(args);
    match s.call(&full) {
        Reply::Int(n) => n,
        other => panic!("MEMORY USAGE {args:?}: {other:?}"),
    }
}

fn error(s: &kevy_core::Server, args: &[&str]) -> String {
    match s.call(args) {
        Reply::Error(e) => String::from_utf8_lossy(&e).into_owned(),
        other => panic!("{args:?} should fail: {other:?}"),
    }
}

#[test]
fn usage_shapes_and_errors() {
    let s = start(3);
    assert_eq!(s.call(&["MEMORY", "USAGE", "missing"]), Reply::Nil);
    s.call(&["SET", "k", "v"]);
    assert!(usage(&s, &["k"]) > 0);
    assert_eq!(usage(&s, &["k", "SAMPLES", "0"]), usage(&s, &["k"]));
    assert_eq!(usage(&s, &["k", "samples", "3", "SAMPLES", "9"]), usage(&s, &["k"]));
    assert_eq!(error(&s, &["MEMORY", "USAGE", "k", "SAMPLES"]), "ERR syntax error");
    assert_eq!(error(&s, &["MEMORY", "USAGE", "k", "SAMPLES", "-1"]), "ERR syntax error");
    assert_eq!(error(&s, &["MEMORY", "USAGE", "k", "BOGUS", "1"]), "ERR syntax error");
    assert_eq!(error(&s, &["MEMORY", "USAGE", "k", "SAMPLES", "x"]), "ERR value is not an integer or out of range");
    // Options are checked before the key is looked up, as Redis does.
    assert_eq!(error(&s, &["MEMORY", "USAGE", "missing", "SAMPLES", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(error(&s, &["MEMORY", "USAGE"]), "ERR wrong number of arguments for 'memory|usage' command");
    assert_eq!(error(&s, &["MEMORY"]), "ERR wrong number of arguments for 'memory' command");
    assert_eq!(error(&s, &["MEMORY", "NOPE"]), "ERR unknown subcommand 'NOPE'. Try MEMORY HELP.");
    assert_eq!(error(&s, &["MEMORY", "STATS", "x"]), "ERR wrong number of arguments for 'memory|stats' command");
    assert_eq!(s.call(&["MEMORY", "PURGE"]), Reply::Status(b"OK".to_vec()));
    match s.call(&["MEMORY", "HELP"]) {
        Reply::Array(lines) => assert_eq!(lines.len(), 14),
        other => panic!("{other:?}"),
    }
}

#[test]
fn usage_grows_with_size_for_every_type() {
    let s = start(3);
    for key in spread("str", 3) {
        s.call(&["SET", &key, "x"]);
        let small = usage(&s, &[&key]);
        s.call(&["SET", &key, &"x".repeat(10_000)]);
        let big = usage(&s, &[&key]);
        assert!(big >= 10_000 && big < 10_500 + small, "{key}: {small} -> {big}");
    }
    let members: Vec<String> = (0..1000).map(|i| format!("member:{i:06}")).collect();
    let fill = |cmd: &str, key: &str, n: usize| {
        for m in &members[..n] {
            match cmd {
                "HSET" => s.call(&["HSET", key, m, "value"]),
                "ZADD" => s.call(&["ZADD", key, "1", m]),
                _ => s.call(&[cmd, key, m]),
            };
        }
    };
    for cmd in ["RPUSH", "SADD", "HSET", "ZADD"] {
        let key = format!("{cmd}:key");
        fill(cmd, &key, 10);
        let ten = usage(&s, &[&key, "SAMPLES", "0"]);
        s.call(&["DEL", &key]);
        fill(cmd, &key, 1000);
        let thousand = usage(&s, &[&key, "SAMPLES", "0"]);
        // Each element holds at least its own 13 bytes.
        assert!(thousand > ten + 990 * 13, "{cmd}: 10 -> {ten}, 1000 -> {thousand}");
        let sampled = usage(&s, &[&key]);
        assert!((sampled - thousand).abs() * 10 < thousand, "{cmd}: sampled {sampled}, all {thousand}");
    }
    s.call(&["XADD", "stream", "*", "f", "v"]);
    assert!(usage(&s, &["stream"]) > 0);
}

#[test]
fn stats_and_info_memory_fields() {
    let s = start(3);
    s.call(&["SET", "k", "v"]);
    let keys: Vec<Reply> = match s.call(&["MEMORY", "STATS"]) {
        Reply::Map(pairs) => pairs.into_iter().map(|(k, _)| k).collect(),
        Reply::Array(flat) => flat.into_iter().step_by(2).collect(),
        other => panic!("MEMORY STATS is a map: {other:?}"),
    };
    let names: Vec<String> = keys
        .iter()
        .map(|r| match r {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names.len(), 28, "{names:?}");
    for name in ["peak.allocated", "total.allocated", "startup.allocated", "db.0", "overhead.total", "keys.count", "dataset.bytes", "fragmentation"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let Reply::Bulk(info) = s.call(&["INFO", "memory"]) else { panic!("INFO is text") };
    let info = String::from_utf8_lossy(&info).into_owned();
    for field in ["used_memory", "used_memory_rss", "used_memory_peak", "used_memory_overhead", "used_memory_startup", "used_memory_dataset", "mem_fragmentation_ratio", "mem_allocator"] {
        let line = info.lines().find(|l| l.starts_with(&format!("{field}:")));
        assert!(line.is_some(), "{field} in {info}");
    }
}

fn info_field(s: &kevy_core::Server, field: &str) -> usize {
    let Reply::Bulk(info) = s.call(&["INFO", "memory"]) else { panic!("INFO is text") };
    let info = String::from_utf8_lossy(&info).into_owned();
    let line = info.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap_or_else(|| panic!("{field} in {info}"));
    line[field.len() + 1..].parse().unwrap_or_else(|_| panic!("{line}"))
}

/// Here kevy runs inside a test process that owns the allocator: INFO's used_memory is
/// the keys' estimated cost, and follows the data both ways.
#[test]
fn used_memory_inside_a_host_follows_the_keys() {
    let s = start(3);
    let empty = info_field(&s, "used_memory");
    let value = "x".repeat(1000);
    for i in 0..2000 {
        s.call(&["SET", &format!("key:{i}"), &value]);
    }
    let full = info_field(&s, "used_memory");
    assert!(full >= empty + 2000 * 1000 && full < empty + 2000 * 1400, "{empty} -> {full}");
    assert!(info_field(&s, "used_memory_peak") >= full);
    s.call(&["FLUSHALL"]);
    assert!(info_field(&s, "used_memory") < full / 10);
}
