//! What a command does besides its reply, as data.
//!
//! A table row declares what the command's success does: its keyspace events
//! ([`Event`]), how it reaches the append-only file ([`Propagate`]) and a few internal
//! [`traits`]. What only the handler knows at run time (which key a pop took from, the
//! members SPOP removed, whether anything changed at all, an extra `expire` event after
//! `SET ... EX`) it reports into the context's [`Effects`] record. The effect stage of
//! `shard::dispatch` reads the declaration and the record: notifications, the AOF,
//! WATCH and blocked-client wake-ups never look at a command's name or decode its reply.

/// Event classes, as the letters of `notify-keyspace-events`.
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 12; // d
    pub const NEW: u32 = 1 << 13; // n
    /// `A`: every class but m and n.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Which key a declared event names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// The argument at this position (1: the first key; 2: the destination of LMOVE,
    /// SMOVE, RENAME, or the key of XGROUP's subcommands).
    Arg(u8),
    /// Every key of the command.
    AllKeys,
}

/// When a declared event is signalled (a failed command signals nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Whenever the command succeeds.
    Always,
    /// Only when the handler reported a change (`Ctx::changed`): counters that report
    /// zero, pops that found nothing, a SETNX that did not set.
    Changed,
}

/// One keyspace event a command signals on success.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub class: u32,
    pub name: &'static str,
    pub on: On,
    pub when: When,
}

/// Declares an event (for the rows' `.events(&[...])`).
pub const fn ev(class: u32, name: &'static str, on: On, when: When) -> Event {
    Event { class, name, on, when }
}

/// Stream commands whose log lines come from what they did (generated IDs, deliveries):
/// the function gets the command's name, its arguments, its stream's keyspace, the
/// clock and its reply. None: log the command as sent.
pub type CustomPropagate =
    fn(&str, crate::resp::Args<'_>, &mut crate::store::Keyspace, u64, &[u8]) -> Option<Vec<Vec<Vec<u8>>>>;

/// How a successful write reaches the append-only file.
#[derive(Clone, Copy)]
pub enum Propagate {
    /// Not logged: reads, and commands that run other commands (EXEC, scripts, custom
    /// commands), whose inner commands are logged as they run.
    None,
    /// The command as sent.
    Verbatim,
    /// As sent, then `PEXPIREAT key <unix ms>` for each key that has a deadline after
    /// it (relative TTLs replay to the same deadline).
    AbsoluteTtl,
    /// What the handler reported with `Ctx::propagate` (SPOP as SREM, a served
    /// blocking pop as the pop); as sent when it reported nothing.
    Reported,
    /// A family function computes the lines (streams).
    Custom(CustomPropagate),
}

/// Internal traits of a command's effects.
pub mod traits {
    /// Stores a computed set at its destination (argument 1); an empty result deletes it.
    pub const STORES: u32 = 1 << 0;
    /// Takes elements out of a collection: a key it leaves empty is deleted (`del`).
    pub const REMOVES: u32 = 1 << 1;
    /// Deletes keys: only the keys that were there signal.
    pub const DELETES: u32 = 1 << 2;
    /// Runs other commands that may write (scripts): clients blocked on its keys are
    /// served after it, as after any write.
    pub const MAY_WRITE: u32 = 1 << 3;
}

/// Which effect consumers are on, read once per command: the common path tests this
/// one word.
pub mod consumers {
    /// `appendonly yes` (and the files are open).
    pub const AOF: u32 = 1 << 0;
    /// `notify-keyspace-events` is not empty.
    pub const NOTIFY: u32 = 1 << 1;
}

/// A run-time event: (class, name, key).
pub type Signal = (u32, &'static str, Vec<u8>);

/// What one run of a handler reported, beyond what its row declares.
#[derive(Default)]
pub struct Effects {
    /// The consumers that are on (see [`consumers`]): handlers skip building what
    /// nobody reads.
    pub on: u32,
    /// Changes made (elements added or removed, keys set...): 0 holds back the
    /// `When::Changed` events.
    pub changes: u64,
    /// Events only the handler could name.
    pub signals: Vec<Signal>,
    /// The key the command acted on when its row cannot say (the key a multi-key pop
    /// popped from); kept only while notifications are on.
    pub acted_on: Option<Vec<u8>>,
    /// Log lines that replace the command (`Propagate::Reported`).
    pub propagated: Vec<Vec<Vec<u8>>>,
    /// The handler replied with an error: no effect is applied.
    pub failed: bool,
}

impl Effects {
    pub fn new(on: u32) -> Self {
        Effects { on, ..Effects::default() }
    }
}

/// The consumers on now (two relaxed loads).
#[inline]
pub fn consumers_on(shared: &crate::shard::Shared) -> u32 {
    use std::sync::atomic::Ordering::Relaxed;
    let mut on = 0;
    if shared.aof.on.load(Relaxed) {
        on |= consumers::AOF;
    }
    if shared.config.notify_flags.load(Relaxed) != 0 {
        on |= consumers::NOTIFY;
    }
    on
}
