//! requirepass and AUTH as Redis 7.0: NOAUTH before AUTH (but AUTH, HELLO, QUIT,
//! RESET), WRONGPASS, both AUTH forms and HELLO AUTH, RESET drops authentication, and
//! CONFIG SET requirepass keeps existing connections authenticated.

mod common;

use common::Client;

const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";

fn start_with_password(shards: usize, password: &str) -> kevy_core::Server {
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", &shards.to_string()).unwrap();
    cfg.set("requirepass", password).unwrap();
    kevy_core::Server::start(cfg).expect("server starts")
}

#[test]
fn commands_need_auth_until_the_password_is_given() {
    let server = start_with_password(2, "s3cret");
    let mut c = Client::connect(server.port());
    for line in ["PING", "GET k", "SET k v", "MULTI", "CONFIG GET requirepass", "CLIENT LIST", "NOSUCH"] {
        let reply = c.cmd(line);
        assert!(reply == NOAUTH || reply.starts_with("-ERR unknown command"), "{line}: {reply}");
    }
    assert_eq!(c.cmd("AUTH wrong"), WRONGPASS);
    assert_eq!(c.cmd("AUTH nobody s3cret"), WRONGPASS);
    assert_eq!(c.cmd("AUTH a b c"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd("PING"), NOAUTH);
    assert!(c.cmd("HELLO 3").starts_with("-NOAUTH HELLO must be called with the client already authenticated"));
    assert_eq!(c.cmd("AUTH s3cret"), "+OK\r\n");
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    // RESET goes back to the unauthenticated default user.
    assert_eq!(c.cmd("RESET"), "+RESET\r\n");
    assert_eq!(c.cmd("GET k"), NOAUTH);
    assert_eq!(c.cmd("AUTH default s3cret"), "+OK\r\n");
    assert_eq!(c.cmd("GET k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd("QUIT"), "+OK\r\n");
}

#[test]
fn hello_auth_authenticates_and_switches_protocol() {
    let server = start_with_password(1, "pw");
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("HELLO 3 AUTH default bad"), WRONGPASS);
    assert_eq!(c.cmd("PING"), NOAUTH, "a failed HELLO changes nothing");
    assert!(c.cmd("HELLO 3 AUTH default pw SETNAME app").starts_with("%7\r\n"));
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    assert_eq!(c.cmd("CLIENT GETNAME"), "$3\r\napp\r\n");
}

#[test]
fn without_a_password_auth_is_refused_as_redis() {
    let server = common::start(1);
    let mut c = Client::connect(server.port());
    assert!(c.cmd("AUTH x").starts_with("-ERR AUTH <password> called without any password configured"));
    assert_eq!(c.cmd("AUTH default anything"), "+OK\r\n");
    assert_eq!(c.cmd("AUTH nobody x"), WRONGPASS);
    assert!(c.cmd("HELLO 3 AUTH default zz").starts_with("%7\r\n"));
}

#[test]
fn config_set_requirepass_keeps_existing_connections_authenticated() {
    let server = common::start(2);
    let mut old = Client::connect(server.port());
    assert_eq!(old.cmd("CONFIG SET requirepass newpw"), "+OK\r\n");
    assert_eq!(old.cmd("PING"), "+PONG\r\n");
    let mut fresh = Client::connect(server.port());
    assert_eq!(fresh.cmd("PING"), NOAUTH);
    assert_eq!(fresh.cmd("AUTH newpw"), "+OK\r\n");
    assert_eq!(fresh.cmd("PING"), "+PONG\r\n");
    let mut waiting = Client::connect(server.port());
    assert_eq!(waiting.cmd("PING"), NOAUTH);
    // With the password removed nobody needs AUTH any more.
    old.send_raw(&Client::encode(&[b"CONFIG", b"SET", b"requirepass", b""]));
    assert_eq!(old.reply(), "+OK\r\n");
    assert_eq!(waiting.cmd("PING"), "+PONG\r\n");
    // The host keeps full control: in-process calls never need AUTH.
    assert_eq!(old.cmd("CONFIG SET requirepass again"), "+OK\r\n");
    assert_eq!(server.call(&["SET", "h", "1"]), kevy_core::Reply::Status(b"OK".to_vec()));
    assert_eq!(old.cmd("CONFIG SET masterauth x"), "+OK\r\n");
}

/// This machine's address outside loopback (the one a route out would use), if any.
fn outside_address() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("192.0.2.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Connects to `ip:port` and sends PING: what comes back before the server closes
/// (or the first reply).
fn ping_from(ip: std::net::IpAddr, port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect((ip, port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"PING\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(b"\r\n") && !got.starts_with(b"-DENIED") {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn protected_mode_denies_outside_clients_without_a_password() {
    let Some(outside) = outside_address() else {
        eprintln!("no address outside loopback here: skipped");
        return;
    };
    let mut cfg = kevy_core::Config::new();
    cfg.set("port", "0").unwrap().set("shards", "2").unwrap().set("bind", "0.0.0.0").unwrap();
    let server = kevy_core::Server::start(cfg).expect("server starts");
    let port = server.port();
    let denied = ping_from(outside, port);
    assert!(denied.starts_with("-DENIED Redis is running in protected mode"), "{denied}");
    assert!(denied.ends_with("accepting connections from the outside.\r\n"), "closed after the message: {denied}");
    let mut local = Client::connect(port);
    assert_eq!(local.cmd("PING"), "+PONG\r\n");
    // A password lifts protected mode (clients must AUTH instead)...
    assert_eq!(local.cmd("CONFIG SET requirepass pw"), "+OK\r\n");
    assert_eq!(ping_from(outside, port), NOAUTH);
    // ...and so does protected-mode no.
    local.send_raw(&Client::encode(&[b"CONFIG", b"SET", b"requirepass", b""]));
    assert_eq!(local.reply(), "+OK\r\n");
    assert!(ping_from(outside, port).starts_with("-DENIED"));
    assert_eq!(local.cmd("CONFIG SET protected-mode no"), "+OK\r\n");
    assert_eq!(ping_from(outside, port), "+PONG\r\n");
    assert_eq!(local.cmd("CONFIG GET protected-mode"), "*2\r\n$14\r\nprotected-mode\r\n$2\r\nno\r\n");
}

#[test]
fn protected_configs_are_refused_to_clients_but_not_to_the_host() {
    let server = common::start(1);
    let mut c = Client::connect(server.port());
    for name in ["dir", "dbfilename"] {
        assert_eq!(
            c.cmd(&format!("CONFIG SET {name} /tmp/x")),
            format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config\r\n")
        );
    }
    assert!(c.cmd("CONFIG SET enable-protected-configs yes").contains("can't set immutable config"));
    assert_eq!(c.cmd("CONFIG GET enable-protected-configs"), "*2\r\n$24\r\nenable-protected-configs\r\n$2\r\nno\r\n");
    // The embedding host keeps full control.
    assert_eq!(server.call(&["CONFIG", "SET", "dbfilename", "host.rdb"]), kevy_core::Reply::Status(b"OK".to_vec()));
    assert_eq!(c.cmd("CONFIG GET dbfilename"), "*2\r\n$10\r\ndbfilename\r\n$8\r\nhost.rdb\r\n");
    // `local` lets loopback clients (this one) change them; `yes` anyone.
    for level in ["local", "yes"] {
        let mut cfg = kevy_core::Config::new();
        cfg.set("port", "0").unwrap().set("shards", "1").unwrap().set("enable-protected-configs", level).unwrap();
        let server = kevy_core::Server::start(cfg).expect("server starts");
        let mut c = Client::connect(server.port());
        assert_eq!(c.cmd("CONFIG SET dbfilename mine.rdb"), "+OK\r\n", "{level}");
    }
}

#[test]
fn unauthenticated_clients_may_send_only_small_commands() {
    let server = start_with_password(1, "pw");
    let mut many = Client::connect(server.port());
    many.send_raw(b"*100\r\n");
    assert_eq!(many.reply(), "-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(many.is_closed());
    let mut big = Client::connect(server.port());
    big.send_raw(b"*1\r\n$100000000\r\n");
    assert_eq!(big.reply(), "-ERR Protocol error: unauthenticated bulk length\r\n");
    assert!(big.is_closed());
    // Once authenticated the usual limits apply.
    let mut c = Client::connect(server.port());
    assert_eq!(c.cmd("AUTH pw"), "+OK\r\n");
    let value = "x".repeat(20000);
    assert_eq!(c.cmd(&format!("SET k {value}")), "+OK\r\n");
}
