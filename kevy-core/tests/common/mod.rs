//! A tiny blocking RESP client for integration tests: sends commands, reads one whole
//! reply as raw bytes (so tests can assert exact wire bytes).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub fn start(shards: usize) -> kevy_core::Server {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    kevy_core::Server::start(cfg).expect("server starts")
}

pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { stream, buf: Vec::new() }
    }

    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// The socket, for tests that read raw bytes.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends one command (words split on spaces) and returns the raw reply.
    pub fn cmd(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.send_raw(&Self::encode(&words));
        self.reply()
    }

    /// Reads one complete reply; panics on EOF.
    pub fn reply(&mut self) -> String {
        loop {
            if let Some(n) = reply_len(&self.buf, 0) {
                let r: Vec<u8> = self.buf.drain(..n).collect();
                return String::from_utf8_lossy(&r).into_owned();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True when the server closed the connection (after any pending bytes).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        matches!(self.stream.read(&mut chunk), Ok(0) | Err(_))
    }
}

/// Length of the complete reply starting at `at`, or None if incomplete.
pub fn reply_len(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&buf[at + 1..line_end]).ok()?;
    let after = line_end + 2;
    match buf[at] {
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after - at);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end - at)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = head.parse().ok()?;
            let items = if matches!(buf[at], b'%' | b'|') { 2 * n.max(0) } else { n.max(0) };
            let mut pos = after;
            for _ in 0..items {
                pos += reply_len(buf, pos)?;
            }
            Some(pos - at)
        }
        _ => Some(after - at),
    }
}

/// Keys on distinct shards of a `shards`-shard server, with a prefix.
pub fn spread(prefix: &str, shards: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for i in 0.. {
        let k = format!("{prefix}:{i}");
        let s = kevy_core::shard_of(k.as_bytes(), shards);
        if !seen.contains(&s) {
            seen.push(s);
            keys.push(k);
        }
        if keys.len() == shards {
            return keys;
        }
    }
    unreachable!()
}

/// Sends one command without waiting for its reply.
pub fn send(c: &mut Client, words: &[&str]) {
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    c.send_raw(&Client::encode(&args));
}

/// Gives other connections' commands time to reach the server (a client to block).
pub fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

/// An empty scratch directory for this test process (`kevy-<name>-<pid>` in the
/// temporary directory), emptied first if a former run left it behind.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kevy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
