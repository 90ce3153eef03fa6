//! Authentication with `requirepass`: kevy's one user is Redis's `default`, whose
//! password is `requirepass` (none when empty).

use crate::config::LiveConfig;

/// Does the default user have a password now?
pub fn password_required(config: &LiveConfig) -> bool {
    config.requirepass_set.load(std::sync::atomic::Ordering::Relaxed)
}

/// Does protected mode refuse a client from `peer`? It does while `protected-mode` is
/// on and the default user has no password, for any address but loopback (as Redis
/// 7.0, whatever `bind` says: a loopback-only bind never sees other peers).
pub fn protected_mode_denies(config: &LiveConfig, peer: &std::net::SocketAddr) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    if !config.protected_mode.load(Relaxed) || password_required(config) {
        return false;
    }
    !is_loopback(peer.ip())
}

/// A loopback address (IPv4-mapped ones too).
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Are `user` and `password` the default user's credentials? Without a password any
/// one is accepted for `default`, as Redis's `nopass` user.
pub fn credentials_match(config: &LiveConfig, user: &[u8], password: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    if !password_required(config) {
        return true;
    }
    same_secret(config.value("requirepass").as_bytes(), password)
}

/// Compares in time that does not depend on where the bytes first differ (as Redis's
/// time_independent_strcmp), so a client cannot find the password byte by byte.
fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = expected.len() ^ given.len();
    for (i, &e) in expected.iter().enumerate() {
        diff |= (e ^ given.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"pw", b"pw"));
        assert!(!same_secret(b"pw", b"pwx"));
        assert!(!same_secret(b"pw", b"p"));
        assert!(!same_secret(b"pw", b""));
        assert!(!same_secret(b"pw\0", b"pw"));
        assert!(same_secret(b"", b""));
    }
}
