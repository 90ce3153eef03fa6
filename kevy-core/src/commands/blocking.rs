//! What a blocking command's handler asks for when it finds nothing to serve, and its
//! timeout argument. `shard::blocking` queues the request and serves it later.

pub use crate::store::blocked::FOREVER;

use super::errors;

/// What a handler asks for when it has to block.
#[derive(Debug, Default)]
pub struct BlockRequest {
    /// Unix ms, or [`FOREVER`].
    pub deadline_ms: u64,
    /// Keys whose new data can serve the command (BLPOP's lists, BLMOVE's source).
    pub watch: Vec<Vec<u8>>,
    /// Other keys serving touches (BLMOVE's destination).
    pub extra: Vec<Vec<u8>>,
    /// The arguments to re-run the command with when serving it, if not the ones it
    /// came with (XREAD's `$` resolved to the stream's last ID at block time).
    pub args: Option<Vec<Vec<u8>>>,
}

/// Parses a blocking timeout in seconds (fractions allowed) into a deadline, as Redis:
/// `ERR timeout is not a float or out of range`, `ERR timeout is negative`; 0 blocks
/// forever.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<u64, &'static str> {
    let secs: f64 = std::str::from_utf8(arg)
        .ok()
        .map(str::trim_start)
        .filter(|s| !s.is_empty() && !s.ends_with(char::is_whitespace))
        .and_then(|s| s.parse().ok())
        .filter(|v: &f64| !v.is_nan())
        .ok_or(errors::TIMEOUT_NOT_FLOAT)?;
    let ms = (secs * 1000.0).ceil();
    if !(0.0..=i64::MAX as f64).contains(&ms) {
        return Err(errors::TIMEOUT_NEGATIVE);
    }
    Ok(if ms == 0.0 { FOREVER } else { now_ms.saturating_add(ms as u64) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_like_redis() {
        assert_eq!(parse_timeout(b"0", 1000), Ok(FOREVER));
        assert_eq!(parse_timeout(b"1.5", 1000), Ok(2500));
        assert_eq!(parse_timeout(b"0.0000001", 1000), Ok(1001));
        assert_eq!(parse_timeout(b"-1", 0), Err("ERR timeout is negative"));
        assert_eq!(parse_timeout(b"1e100", 0), Err("ERR timeout is negative"));
        assert_eq!(parse_timeout(b"abc", 0), Err("ERR timeout is not a float or out of range"));
    }
}
