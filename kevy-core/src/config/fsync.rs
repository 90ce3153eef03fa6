//! `appendfsync`: the parameter's values.

use std::sync::atomic::Ordering;

/// `appendfsync`: when appended bytes are fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl Fsync {
    pub fn from_u8(v: u8) -> Fsync {
        match v {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }
    /// The policy `appendfsync` sets now.
    #[inline]
    pub fn current(config: &crate::config::LiveConfig) -> Fsync {
        Fsync::from_u8(config.appendfsync.load(Ordering::Relaxed))
    }
    pub fn parse(s: &str) -> Option<Fsync> {
        match s {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }
}
