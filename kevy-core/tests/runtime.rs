//! The sharded runtime seen from outside: lifecycle, pipelining across shards,
//! protocol errors, idle CPU.

mod common;

use common::{start, Client};

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// Held by the tests that count this process's threads or CPU, so the server churn of
/// one is not counted by the other.
static PROCESS_WIDE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The number of entries in `path` once it stops changing: a joined thread may stay
/// listed while the kernel finishes its exit (closing an io_uring takes a moment).
fn settled_count(path: &str, want: usize) -> usize {
    for _ in 0..100 {
        if count_dir(path) == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    count_dir(path)
}

#[test]
fn start_stop_many_servers_leaks_no_threads_or_fds() {
    let _alone = PROCESS_WIDE.lock().unwrap_or_else(|e| e.into_inner());
    // Warm up once so lazily created process-wide state is not counted as a leak.
    start(2).stop();
    let (fds, threads) = (count_dir("/proc/self/fd"), count_dir("/proc/self/task"));
    for i in 0..50 {
        let server = start(1 + i % 4);
        let mut c = Client::connect(server.port());
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
        drop(c);
        server.stop();
    }
    assert_eq!(settled_count("/proc/self/task", threads), threads, "threads leaked");
    assert_eq!(count_dir("/proc/self/fd"), fds, "fds leaked");
}

#[test]
fn port_zero_is_shared_by_every_shard() {
    let server = start(4);
    assert_ne!(server.port(), 0);
    // Many connections land on different shards (SO_REUSEPORT); all must answer.
    let mut clients: Vec<Client> = (0..32).map(|_| Client::connect(server.port())).collect();
    for c in &mut clients {
        assert_eq!(c.cmd("PING"), "+PONG\r\n");
    }
}

#[test]
fn pipeline_replies_stay_in_order_across_shards() {
    let server = start(4);
    let mut c = Client::connect(server.port());
    let mut batch = Vec::new();
    for i in 0..500 {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        batch.extend(Client::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        batch.extend(Client::encode(&[b"GET", k.as_bytes()]));
        batch.extend(Client::encode(&[b"PING"]));
    }
    c.send_raw(&batch);
    for i in 0..500 {
        assert_eq!(c.reply(), "+OK\r\n");
        let v = format!("value:{i}");
        assert_eq!(c.reply(), format!("${}\r\n{v}\r\n", v.len()));
        assert_eq!(c.reply(), "+PONG\r\n");
    }
    // A multi-shard command after remote ones sees their effects.
    let mut del = vec![b"DEL".to_vec()];
    del.extend((0..500).map(|i| format!("key:{i}").into_bytes()));
    let del: Vec<&[u8]> = del.iter().map(|v| v.as_slice()).collect();
    c.send_raw(&Client::encode(&del));
    assert_eq!(c.reply(), ":500\r\n");
}

#[test]
fn protocol_error_closes_only_that_connection() {
    let server = start(2);
    let mut good = Client::connect(server.port());
    let mut bad = Client::connect(server.port());
    bad.send_raw(b"*1\r\n$600000000\r\n");
    assert_eq!(bad.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(bad.is_closed());
    assert_eq!(good.cmd("PING"), "+PONG\r\n");
}

#[test]
fn inline_and_partial_commands() {
    let server = start(2);
    let mut c = Client::connect(server.port());
    c.send_raw(b"SET \"a b\" 'x y'\r\nGET \"a b\"\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "$3\r\nx y\r\n");
    let cmd = Client::encode(&[b"SET", b"big", &vec![b'z'; 300_000]]);
    for chunk in cmd.chunks(7777) {
        c.send_raw(chunk);
    }
    assert_eq!(c.reply(), "+OK\r\n");
    assert!(c.cmd("GET big").starts_with("$300000\r\nzzz"));
}

fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn idle_server_parks() {
    let _alone = PROCESS_WIDE.lock().unwrap_or_else(|e| e.into_inner());
    let server = start(4);
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let before = cpu_ticks();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    // Clock ticks are 10 ms: a spinning shard would burn ~100 per second.
    assert!(cpu_ticks() - before < 10, "idle shards should not burn CPU");
}
