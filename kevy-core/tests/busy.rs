//! A shard busy with a long script still answers its own connections (issue 12, item
//! 4): `-BUSY` past `busy-reply-threshold`, SCRIPT KILL / FUNCTION KILL / SHUTDOWN
//! NOSAVE run, new connections are accepted, and stopping the server (Server::stop,
//! SIGTERM) aborts the script. Raw RESP over sockets; replies compared with
//! redis-server 7.0.15's bytes.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{send, start, Client};

const BUSY_EVAL: &str = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const BUSY_FUNCTION: &str = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
const SPIN: &str = "while true do end";
/// SHA-1 of SPIN, as in Redis's killed-script error.
const SPIN_SHA: &str = "694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7";
/// Hang guard: far beyond any expected wait, even on a loaded machine.
const HANG: Duration = Duration::from_secs(20);

/// A server with `busy-reply-threshold` 100 ms and a connection running SPIN.
fn busy_server(shards: usize) -> (kevy_core::Server, Client) {
    let server = start(shards);
    let mut looping = Client::connect(server.port());
    assert_eq!(looping.cmd("CONFIG SET busy-reply-threshold 100"), "+OK\r\n");
    send(&mut looping, &["EVAL", SPIN, "0"]);
    (server, looping)
}

/// Runs `f` on another thread; panics if it has not returned within HANG.
fn within_hang_guard<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG).unwrap_or_else(|_| panic!("{what} hung"))
}

#[test]
fn connections_of_the_busy_shard_get_busy_and_script_kill_stops_it() {
    let (server, mut looping) = busy_server(1);
    let port = server.port();
    // Opened before and during the script: both are served from the script's hook.
    let mut other = Client::connect(port);
    assert_eq!(other.cmd("GET k"), BUSY_EVAL);
    let mut accepted = Client::connect(port);
    assert_eq!(accepted.cmd("PING"), BUSY_EVAL);
    // Replies stay in pipeline order.
    accepted.send_raw(b"PING\r\nHELLO 2\r\nGET k\r\n");
    assert_eq!(accepted.reply(), BUSY_EVAL);
    assert!(accepted.reply().starts_with("*14\r\n$6\r\nserver\r\n"), "HELLO runs while busy");
    assert_eq!(accepted.reply(), BUSY_EVAL);
    // A transaction is refused as a whole, as Redis does.
    assert_eq!(other.cmd("MULTI"), "+OK\r\n");
    assert_eq!(other.cmd("INCR k"), BUSY_EVAL);
    assert_eq!(
        other.cmd("EXEC"),
        format!("-EXECABORT Transaction discarded because of: {}", &BUSY_EVAL[1..])
    );
    // RESET is not queued inside MULTI, busy or not: it ends the transaction (as Redis).
    assert_eq!(other.cmd("MULTI"), "+OK\r\n");
    assert_eq!(other.cmd("RESET"), "+RESET\r\n");
    assert_eq!(other.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(other.cmd("FUNCTION KILL"), BUSY_EVAL);
    assert_eq!(other.cmd("FUNCTION STATS"), BUSY_EVAL);
    assert_eq!(other.cmd("SHUTDOWN"), BUSY_EVAL);
    assert_eq!(other.cmd("SCRIPT KILL"), "+OK\r\n");
    assert_eq!(
        looping.reply(),
        format!("-ERR Script killed by user with SCRIPT KILL... script: {SPIN_SHA}, on @user_script:1.\r\n")
    );
    assert_eq!(other.cmd("PING"), "+PONG\r\n");
    assert_eq!(looping.cmd("SCRIPT KILL"), "-NOTBUSY No scripts in execution right now.\r\n");
}

#[test]
fn with_two_shards_every_connection_answers_and_a_same_shard_kill_works() {
    let server = start(2);
    let port = server.port();
    let keys = common::spread("k", 2);
    let mut others: Vec<Client> = (0..10).map(|_| Client::connect(port)).collect();
    let mut looping = Client::connect(port);
    assert_eq!(looping.cmd("CONFIG SET busy-reply-threshold 100"), "+OK\r\n");
    send(&mut looping, &["EVAL", SPIN, "0"]);
    std::thread::sleep(Duration::from_millis(150));
    // No connection is frozen. A keyless command is refused on every shard (the
    // server is busy, as in Redis); a key of the shard the script does not hold is
    // served, except to connections of the busy shard, which get -BUSY for both.
    let mut on_busy_shard = Vec::new();
    for (i, c) in others.iter_mut().enumerate() {
        assert_eq!(c.cmd("PING"), BUSY_EVAL);
        let replies: Vec<String> = keys.iter().map(|k| c.cmd(&format!("GET {k}"))).collect();
        assert!(replies.iter().all(|r| r == BUSY_EVAL || r == "$-1\r\n"), "{replies:?}");
        assert!(replies.iter().any(|r| r == BUSY_EVAL), "one of the keys is on the busy shard");
        if replies.iter().all(|r| r == BUSY_EVAL) {
            on_busy_shard.push(i);
        }
    }
    // The kernel spreads connections: kill from one on the busy shard when there is
    // one (the case this test is about), else from any.
    let killer = on_busy_shard.first().copied().unwrap_or(0);
    assert_eq!(others[killer].cmd("SCRIPT KILL"), "+OK\r\n");
    assert!(looping.reply().starts_with("-ERR Script killed by user with SCRIPT KILL..."));
    for c in &mut others {
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
    }
}

#[test]
fn function_kill_stops_a_busy_fcall() {
    let server = start(1);
    let port = server.port();
    let mut looping = Client::connect(port);
    assert_eq!(looping.cmd("CONFIG SET busy-reply-threshold 100"), "+OK\r\n");
    let code = "#!lua name=spinlib\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(send_reply(&mut looping, &["FUNCTION", "LOAD", code]), "$7\r\nspinlib\r\n");
    send(&mut looping, &["FCALL", "spin", "0"]);
    let mut other = Client::connect(port);
    assert_eq!(other.cmd("GET k"), BUSY_FUNCTION);
    assert_eq!(other.cmd("SCRIPT KILL"), BUSY_FUNCTION);
    let stats = other.cmd("FUNCTION STATS");
    assert!(
        stats.starts_with("*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"),
        "{stats}"
    );
    assert_eq!(other.cmd("FUNCTION KILL"), "+OK\r\n");
    assert_eq!(looping.reply(), "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n");
    assert_eq!(other.cmd("FUNCTION KILL"), "-NOTBUSY No scripts in execution right now.\r\n");
}

fn send_reply(c: &mut Client, words: &[&str]) -> String {
    send(c, words);
    c.reply()
}

#[test]
fn shutdown_nosave_stops_a_busy_server() {
    let (server, _looping) = busy_server(1);
    let mut other = Client::connect(server.port());
    assert_eq!(other.cmd("SHUTDOWN SAVE"), BUSY_EVAL);
    other.send_raw(b"SHUTDOWN NOSAVE\r\n");
    assert!(other.is_closed(), "SHUTDOWN NOSAVE closes the connection without a reply");
    within_hang_guard("Server::stop after SHUTDOWN NOSAVE", move || {
        while !server.is_stopping() {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.stop();
    });
}

#[test]
fn server_stop_aborts_a_busy_script() {
    // Default threshold (5 s): the stop flag is honoured before the shard turns busy.
    for shards in [1, 2] {
        let server = start(shards);
        let mut looping = Client::connect(server.port());
        send(&mut looping, &["EVAL", SPIN, "0"]);
        std::thread::sleep(Duration::from_millis(200));
        within_hang_guard("Server::stop on a busy server", move || server.stop());
        let reply = looping.reply();
        assert!(reply.starts_with("-ERR Script killed by the server shutting down"), "{reply}");
    }
}

#[test]
fn sigterm_stops_a_busy_kevy_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kevy-server"))
        .args(["--port", "0", "--shards", "1", "--save", ""])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kevy-server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a ready line").unwrap();
    let port: u16 = ready.split("port ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    let mut looping = Client::connect(port);
    send(&mut looping, &["EVAL", SPIN, "0"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = std::time::Instant::now() + HANG;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("kevy-server ignored SIGTERM while a script was busy");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn stopping_during_a_script_that_wrote_does_not_save_it_half_done() {
    for (body, saved) in [(SPIN, true), ("redis.call('set', 'half', '1') while true do end", false)] {
        let dir = common::scratch_dir(if saved { "busy-stop-clean" } else { "busy-stop-half" });
        let mut cfg = kevy_core::Config::new();
        cfg.set("port", "0").unwrap().set("shards", "1").unwrap();
        cfg.set("dir", dir.to_str().unwrap()).unwrap().set("save", "3600 1").unwrap();
        let server = kevy_core::Server::start(cfg).expect("server starts");
        let mut looping = Client::connect(server.port());
        assert_eq!(looping.cmd("SET before 1"), "+OK\r\n");
        send(&mut looping, &["EVAL", body, "0"]);
        std::thread::sleep(Duration::from_millis(200));
        within_hang_guard("Server::stop on a busy server", move || server.stop());
        // A read-only script changed nothing: the shutdown save runs as usual.
        assert_eq!(dir.join("dump-0.rdb").exists(), saved, "{body}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_killed_script_cannot_catch_the_kill_with_pcall() {
    // Nearly all its time is inside pcall: the kill must still end it (Redis's test
    // "Timedout read-only scripts can be killed by SCRIPT KILL even when use pcall").
    let server = start(1);
    let mut looping = Client::connect(server.port());
    assert_eq!(looping.cmd("CONFIG SET busy-reply-threshold 100"), "+OK\r\n");
    let body = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
    send(&mut looping, &["EVAL", body, "0"]);
    let mut other = Client::connect(server.port());
    assert_eq!(other.cmd("PING"), BUSY_EVAL);
    assert_eq!(other.cmd("SCRIPT KILL"), "+OK\r\n");
    let reply = within_hang_guard("a killed pcall loop", move || looping.reply());
    assert!(reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{reply}");
    assert_eq!(other.cmd("PING"), "+PONG\r\n");
}

#[test]
fn requests_queued_for_the_busy_shard_are_answered_after_the_kill() {
    let server = start(2);
    let port = server.port();
    let key = common::spread("q", 2).remove(0);
    let mut looping = Client::connect(port);
    assert_eq!(looping.cmd("CONFIG SET busy-reply-threshold 1000"), "+OK\r\n");
    send(&mut looping, &["EVAL", SPIN, "1", &key]);
    std::thread::sleep(Duration::from_millis(100));
    // Below the threshold: from the other shard this request waits in the busy
    // shard's ring; from the busy shard itself it is read past the threshold (-BUSY).
    let mut waiting: Vec<Client> = (0..4).map(|_| Client::connect(port)).collect();
    for c in &mut waiting {
        send(c, &["GET", &key]);
    }
    std::thread::sleep(Duration::from_millis(1100));
    let mut killer = Client::connect(port);
    assert_eq!(killer.cmd("SCRIPT KILL"), "+OK\r\n");
    assert!(looping.reply().starts_with("-ERR Script killed by user with SCRIPT KILL..."));
    for c in &mut waiting {
        let reply = c.reply();
        assert!(reply == "$-1\r\n" || reply == BUSY_EVAL, "{reply}");
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
    }
}
