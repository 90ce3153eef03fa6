//! The fuzz targets, shared by the bounded random run (tests/fuzz_inputs.rs) and the
//! coverage-guided libFuzzer crate (fuzz/, which includes this file by path). Each
//! target takes raw bytes, runs one kevy entry point and panics when an invariant
//! breaks; crashes, hangs and allocation are watched by the caller.
//!
//! Only kevy_core and std are used here, so both harnesses compile it unchanged.

#![allow(dead_code)]

use std::path::Path;

use kevy_core::persist::rdb;
use kevy_core::persist::rdb_write::RdbWriter;
use kevy_core::resp::{parse, ArgSpans, Limits, Parsed};
use kevy_core::{Config, Reply, Server};

/// The targets, by the name their corpus folder has (fuzz/corpus/<name>/).
pub const TARGETS: [&str; 5] = ["resp_multibulk", "resp_inline", "rdb_load", "aof_load", "dispatch"];

/// Parses `input` as a pipeline, one command after another, checking what each step
/// reports: a command or an empty line consumes something and stays inside the input,
/// its argument spans lie inside what it consumed, an incomplete command's hint asks
/// for more than is there, and cutting a complete command short never completes it.
pub fn parse_pipeline(input: &[u8], limits: &Limits) {
    let (mut spans, mut scratch) = (ArgSpans::default(), Vec::new());
    let mut pos = 0;
    // Each step consumes at least one byte, so this bounds the loop by the input size.
    for _ in 0..=input.len() {
        let rest = &input[pos..];
        match parse(rest, limits, &mut spans, &mut scratch) {
            Parsed::Command { consumed, inline } => {
                assert!(consumed > 0 && consumed <= rest.len(), "consumed {consumed} of {}", rest.len());
                let base = if inline { scratch.len() } else { consumed };
                for (start, len) in spans.iter() {
                    assert!(start + len <= base, "span {start}+{len} outside {base}");
                }
                if inline {
                    let nl = rest.iter().position(|&b| b == b'\n');
                    assert_eq!(nl.map(|i| i + 1), Some(consumed), "an inline command is one line");
                    assert!(scratch.len() < consumed, "inline arguments longer than their line");
                } else {
                    check_prefixes(&rest[..consumed], limits);
                }
                pos += consumed;
            }
            Parsed::Empty { consumed } => {
                assert!(consumed > 0 && consumed <= rest.len(), "empty consumed {consumed} of {}", rest.len());
                pos += consumed;
            }
            Parsed::Incomplete { hint } => {
                assert!(hint == 0 || hint > rest.len(), "hint {hint} for {} bytes", rest.len());
                return;
            }
            Parsed::Error(text) => {
                assert!(text.starts_with("ERR Protocol error"), "{text}");
                return;
            }
        }
        if pos == input.len() {
            return;
        }
    }
    panic!("the parser did not progress through {} bytes", input.len());
}

/// A complete multibulk command cut anywhere is incomplete, never another command.
fn check_prefixes(command: &[u8], limits: &Limits) {
    let (mut spans, mut scratch) = (ArgSpans::default(), Vec::new());
    let n = command.len();
    for cut in [1, n / 3, n / 2, n - 1] {
        if cut == 0 || cut >= n {
            continue;
        }
        let got = parse(&command[..cut], limits, &mut spans, &mut scratch);
        assert!(matches!(got, Parsed::Incomplete { .. }), "prefix {cut} of a command: {got:?}");
    }
}

/// Limits as a connection has them by default, and tight ones.
pub fn parser_limits() -> [Limits; 2] {
    [Limits::default(), Limits { max_bulk_len: 1024 * 1024, max_multibulk_len: 1024 }]
}

/// RESP multibulk: the input is taken as a pipeline starting with `*`.
pub fn resp_multibulk(data: &[u8]) {
    let mut input = Vec::with_capacity(data.len() + 1);
    if data.first() != Some(&b'*') {
        input.push(b'*');
    }
    input.extend_from_slice(data);
    for limits in parser_limits() {
        parse_pipeline(&input, &limits);
    }
}

/// Inline commands: the input as a pipeline whose first byte is not `*`.
pub fn resp_inline(data: &[u8]) {
    let input: Vec<u8> = match data.first() {
        Some(b'*') => std::iter::once(b'P').chain(data[1..].iter().copied()).collect(),
        _ => data.to_vec(),
    };
    parse_pipeline(&input, &Limits::default());
}

/// The RDB reader: a file is refused with an offset inside it or read whole; what it
/// read is written again by kevy's writer and reads back to the same keys. True when
/// the file was read (worth loading into a server: [`rdb_server`]).
pub fn rdb_load(data: &[u8]) -> bool {
    let mut keys = Vec::new();
    let Ok(summary) = rdb::read(data, |k, v, at| keys.push((k, v, at))) else { return false };
    assert!(summary.end <= data.len() && summary.end >= 9, "end {} of {}", summary.end, data.len());
    assert_eq!(summary.keys as usize, keys.len());
    let mut w = RdbWriter::new(Vec::new(), 0).expect("writer");
    w.begin_db(keys.len() as u64, 0).expect("writer");
    for (k, v, at) in &keys {
        w.entry(k, v.as_ref(), *at).expect("writer");
    }
    let file = w.finish().expect("writer");
    let mut again = 0usize;
    let reread = rdb::read(&file, |_, _, _| again += 1);
    assert!(reread.is_ok(), "kevy cannot read what it wrote: {reread:?}");
    assert_eq!(again, keys.len(), "keys lost in a write/read round trip");
    true
}

/// Drops kevy's log lines: every refused file logs why, thousands of times a run.
pub fn quiet_logs() {
    kevy_core::log::set_hook(Some(std::sync::Arc::new(|_, _| {})));
}

/// A server on `shards` shards loading `dir` (AOF on or off), or the error it refused
/// with. No port of its own is needed beyond the kernel's pick.
pub fn start_in(dir: &Path, shards: usize, appendonly: bool) -> Result<Server, kevy_core::Error> {
    quiet_logs();
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().expect("utf-8 dir")).unwrap().set("save", "").unwrap();
    cfg.set("appendonly", if appendonly { "yes" } else { "no" }).unwrap();
    Server::start(cfg)
}

/// A server for the dispatch target: no snapshots, its files in `dir`, and
/// proto-max-bulk-len 1mb so no command may legitimately build a huge string.
pub fn dispatch_server(dir: &Path, shards: usize) -> Server {
    quiet_logs();
    std::fs::create_dir_all(dir).expect("scratch dir");
    let mut cfg = Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("dir", dir.to_str().expect("utf-8 dir")).unwrap().set("save", "").unwrap();
    cfg.set("proto-max-bulk-len", "1mb").unwrap();
    Server::start(cfg).expect("server")
}

/// Reads every key a loaded server holds with its type's read commands, so values
/// decoded from a file are used, not only stored. Panics if the server errs oddly.
pub fn read_back_everything(server: &Server) {
    let mut cursor = b"0".to_vec();
    for _ in 0..1000 {
        let Reply::Array(parts) = server.call(&[&b"SCAN"[..], &cursor[..], b"COUNT", b"100"]) else { panic!("SCAN failed") };
        let (Some(Reply::Bulk(next)), Some(Reply::Array(keys))) = (parts.first(), parts.get(1)) else { panic!("SCAN reply") };
        for key in keys {
            if let Reply::Bulk(k) = key {
                read_key(server, k);
            }
        }
        if next == b"0" {
            return;
        }
        cursor = next.clone();
    }
}

fn read_key(server: &Server, key: &[u8]) {
    let Reply::Status(ty) = server.call(&[&b"TYPE"[..], key]) else { panic!("TYPE failed") };
    // Read commands per type, `K` standing for the key.
    let reads: &[&str] = match &ty[..] {
        b"string" => &["GET K", "STRLEN K", "GETRANGE K 0 -1"],
        b"list" => &["LRANGE K 0 -1", "LLEN K", "LINDEX K -1", "LPOS K x"],
        b"set" => &["SMEMBERS K", "SCARD K", "SRANDMEMBER K -5", "SISMEMBER K 1", "SPOP K"],
        b"zset" => &[
            "ZRANGE K 0 -1 WITHSCORES",
            "ZRANGEBYSCORE K -inf +inf",
            "ZRANGEBYLEX K - +",
            "ZREVRANGE K 0 2",
            "ZRANK K a",
            "ZCOUNT K (0 +inf",
            "ZPOPMIN K",
        ],
        b"hash" => &["HGETALL K", "HLEN K", "HRANDFIELD K -3 WITHVALUES", "HSCAN K 0"],
        b"stream" => &[
            "XRANGE K - +",
            "XREVRANGE K + - COUNT 3",
            "XLEN K",
            "XINFO STREAM K FULL",
            "XINFO GROUPS K",
            "XADD K * f v",
            "XTRIM K MAXLEN 1",
        ],
        _ => &[],
    };
    for read in reads {
        let argv: Vec<&[u8]> = read.split(' ').map(|w| if w == "K" { key } else { w.as_bytes() }).collect();
        assert_no_internal_error(&argv, &server.call(&argv));
    }
    assert_no_internal_error(&[b"DEL", key], &server.call(&[&b"DEL"[..], key]));
}

/// A handler that panicked answers this (the panic was caught): a bug all the same.
pub const INTERNAL_ERROR: &[u8] = b"ERR internal error while running the command";

pub fn assert_no_internal_error<A: AsRef<[u8]>>(argv: &[A], reply: &Reply) {
    if let Reply::Error(e) = reply {
        assert!(e != INTERNAL_ERROR, "a handler panicked on {:?}", show_argv(argv));
    }
}

/// A command line for a report: arguments escaped, one space apart.
pub fn show_argv<A: AsRef<[u8]>>(argv: &[A]) -> String {
    argv.iter().map(|a| a.as_ref().escape_ascii().to_string()).collect::<Vec<_>>().join(" ")
}

/// The AOF loader: `data` as shard 0's append-only file of a 1-shard directory. The
/// server either refuses to start or starts, serves PING and every key it loaded.
pub fn aof_load(dir: &Path, data: &[u8]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch dir");
    std::fs::write(dir.join("appendonly-0.aof"), data).expect("write aof");
    if let Ok(server) = start_in(dir, 1, true) {
        assert_eq!(server.call(&["PING"]), Reply::Status(b"PONG".to_vec()));
        read_back_everything(&server);
        server.stop();
    }
}


/// The RDB loader as a server uses it: `data` as the dump.rdb of a data directory,
/// loaded on 1 shard; then every key is read back with its type's commands.
pub fn rdb_server(dir: &Path, data: &[u8]) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch dir");
    std::fs::write(dir.join("dump.rdb"), data).expect("write rdb");
    if let Ok(server) = start_in(dir, 1, false) {
        assert_eq!(server.call(&["PING"]), Reply::Status(b"PONG".to_vec()));
        read_back_everything(&server);
        server.stop();
    }
}

/// Commands the dispatch target never sends: they stop the server, change its
/// configuration or files for the inputs after them, or wait by design.
pub const EXCLUDED_COMMANDS: [&str; 12] = [
    "shutdown", "debug", "config", "monitor", "sync", "psync", "replicaof", "slaveof", "failover", "save",
    "bgsave", "bgrewriteaof",
];

/// Subcommands left out for the same reason (CLIENT PAUSE would stop every client).
pub fn excluded(argv: &[Vec<u8>]) -> bool {
    let name = argv[0].to_ascii_lowercase();
    let name = String::from_utf8_lossy(&name);
    if EXCLUDED_COMMANDS.contains(&name.as_ref()) {
        return true;
    }
    let sub = argv.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    matches!((name.as_ref(), &sub[..]), ("client", b"pause") | ("client", b"kill") | ("client", b"no-evict"))
}

/// The dispatch input format: one command per line, arguments one space apart, any
/// byte written `%HH` (so spaces, newlines and `%` travel inside arguments).
pub fn decode_commands(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    data.split(|&b| b == b'\n')
        .take(64)
        .map(|line| line.split(|&b| b == b' ').take(64).map(unescape).collect::<Vec<_>>())
        .filter(|argv: &Vec<Vec<u8>>| !argv.is_empty() && !argv[0].is_empty())
        .collect()
}

fn unescape(word: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        let hex = word.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (word[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The inverse of [`decode_commands`] for one command.
pub fn encode_command(argv: &[Vec<u8>], out: &mut Vec<u8>) {
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        for &b in arg {
            if b == b' ' || b == b'\n' || b == b'%' || b == b'\r' {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            } else {
                out.push(b);
            }
        }
    }
    out.push(b'\n');
}

/// Runs one command through `Server::call`; panics if a handler panicked.
pub fn dispatch_one(server: &Server, argv: &[Vec<u8>]) {
    if excluded(argv) {
        return;
    }
    let reply = server.call(argv);
    assert_no_internal_error(argv, &reply);
}

/// Starts from an empty dataset, runs the commands, then checks the server answers.
pub fn dispatch(server: &Server, commands: &[Vec<Vec<u8>>]) {
    server.call(&["FLUSHALL"]);
    for argv in commands {
        dispatch_one(server, argv);
    }
    assert_eq!(server.call(&["PING"]), Reply::Status(b"PONG".to_vec()), "PING after the input");
}
