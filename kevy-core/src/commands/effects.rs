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
pub use crate::config::notify::class;

/// Which key a declared event names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// The argument at this position (1: the first key; 2: the destination of LMOVE,
    /// SMOVE, RENAME, or the key of XGROUP's subcommands).
    Arg(u8),
    /// Every key of the command.
    AllKeys,
    /// The last of the command's keys (SORT's STORE destination, listed after the key
    /// it sorts).
    LastKey,
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
/// the function gets the arguments, the stream's keyspace, the clock and the reply.
/// None: log the command as sent.
pub type CustomPropagate =
    fn(crate::resp::Args<'_>, &mut crate::store::Keyspace, u64, &[u8]) -> Option<Vec<Vec<Vec<u8>>>>;

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
    /// A success that reported no change (`Ctx::changed`) wrote nothing: WATCH keeps its
    /// keys and the write is not counted dirty (SETBIT, BITFIELD that set a bit to what
    /// it was, as Redis 7.0).
    pub const NOOP_UNLESS_CHANGED: u32 = 1 << 4;
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

/// What one run of a handler reported, beyond what its row declares. Three words on
/// the common path: what only a consumer reads lives in `reported`, allocated when a
/// handler reports something while that consumer is on.
pub struct Effects {
    /// The consumers that are on (see [`consumers`]): handlers skip building what
    /// nobody reads.
    pub on: u32,
    /// The handler replied with an error: no effect is applied.
    pub failed: bool,
    /// Changes made (elements added or removed, keys set...): 0 holds back the
    /// `When::Changed` events.
    pub changes: u64,
    /// Never dropped by the field's own glue: `Drop for Effects` frees it out of line,
    /// so the common path (nothing reported) pays one test.
    pub reported: std::mem::ManuallyDrop<Option<Box<Reported>>>,
}

impl Drop for Effects {
    #[inline(always)]
    fn drop(&mut self) {
        if self.reported.is_some() {
            free(std::mem::take(&mut *self.reported));
        }
    }
}

#[cold]
#[inline(never)]
fn free(reported: Option<Box<Reported>>) {
    drop(reported);
}

/// What a handler reported for the notification and AOF consumers.
#[derive(Default)]
pub struct Reported {
    /// Events only the handler could name.
    pub signals: Vec<Signal>,
    /// The key the command acted on when its row cannot say (the key a multi-key pop
    /// popped from).
    pub acted_on: Option<Vec<u8>>,
    /// Log lines that replace the command (`Propagate::Reported`).
    pub propagated: Vec<Vec<Vec<u8>>>,
    /// Whether each key existed before the command ran (for `new` and `del` events),
    /// noted by the notifications consumer when it needs it.
    pub existed: Option<Vec<bool>>,
}

impl Effects {
    #[inline(always)]
    pub fn new(on: u32) -> Self {
        Effects { on, failed: false, changes: 0, reported: std::mem::ManuallyDrop::new(None) }
    }
    /// The reported record, created on first use.
    pub fn reported(&mut self) -> &mut Reported {
        self.reported.get_or_insert_with(Box::default)
    }
    /// Takes what was reported (empty when nothing was).
    pub fn take_reported(&mut self) -> Reported {
        self.reported.take().map(|r| *r).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{flags, Command, CommandTable, Route};

    /// Every row of the table, subcommands included.
    fn rows() -> Vec<&'static Command> {
        let table = CommandTable::default();
        table.all().into_iter().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter())).collect()
    }

    fn row(name: &str) -> &'static Command {
        rows().into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no row {name}"))
    }

    #[test]
    fn every_write_declares_how_it_propagates_and_reads_declare_nothing() {
        // Writes of the function registry, not of keys: their scripts' commands are logged.
        let unlogged = ["function|load", "function|delete", "function|flush"];
        for c in rows() {
            // The name lookup folds only the argument's case.
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            let logged = !matches!(c.propagate, Propagate::None);
            if c.has(flags::WRITE) {
                assert_eq!(logged, !unlogged.contains(&c.name), "{}: propagation", c.name);
            } else {
                assert!(!logged, "{} is not a write but is logged", c.name);
                assert!(c.events.is_empty(), "{} is not a write but declares events", c.name);
                assert_eq!(c.traits & (traits::STORES | traits::REMOVES | traits::DELETES), 0, "{}", c.name);
            }
        }
    }

    #[test]
    fn declared_event_keys_are_key_arguments() {
        for c in rows().into_iter().filter(|c| matches!(c.route, Route::Keys)) {
            for e in c.events {
                if let On::Arg(at) = e.on {
                    let argv: Vec<String> = (0..8).map(|i| format!("a{i}")).collect();
                    let owned = crate::resp::OwnedArgs::from_slices(argv.iter().map(String::as_bytes));
                    assert!(c.keys.positions(owned.args().len()).any(|p| p == at as usize), "{}: {} on a non-key", c.name, e.name);
                }
            }
        }
    }

    #[test]
    fn effect_kinds_come_from_the_rows() {
        assert!(matches!(row("set").propagate, Propagate::AbsoluteTtl));
        assert!(matches!(row("expire").propagate, Propagate::AbsoluteTtl));
        assert!(matches!(row("setex").propagate, Propagate::AbsoluteTtl));
        for pop in ["spop", "blpop", "brpop", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"] {
            assert!(matches!(row(pop).propagate, Propagate::Reported), "{pop}");
        }
        for stream in ["xadd", "xreadgroup", "xclaim", "xautoclaim"] {
            assert!(matches!(row(stream).propagate, Propagate::Custom(_)), "{stream}");
        }
        assert!(matches!(row("lpush").propagate, Propagate::Verbatim));
        assert!(row("del").is(traits::DELETES) && row("zunionstore").is(traits::STORES) && row("lpop").is(traits::REMOVES));
        let names = |c: &Command| c.events.iter().map(|e| (e.name, e.on, e.when)).collect::<Vec<_>>();
        assert_eq!(names(row("smove")), [("srem", On::Arg(1), When::Changed)]);
        assert_eq!(names(row("rename")), [("rename_from", On::Arg(1), When::Always), ("rename_to", On::Arg(2), When::Always)]);
        assert_eq!(names(row("xgroup|create")), [("xgroup-create", On::Arg(2), When::Always)]);
        assert_eq!(names(row("sort")), [("sortstore", On::LastKey, When::Changed)]);
        assert!(matches!(row("sort").propagate, Propagate::Reported) && row("sort_ro").events.is_empty());
    }

    /// The consumers of effects, the dispatcher and the session stage read declarations:
    /// none of them picks behaviour by a command's name or group.
    #[test]
    fn effect_consumers_match_no_command_names() {
        let sources = [
            ("shard/notify.rs", include_str!("../shard/notify.rs")),
            ("shard/pubsub.rs", include_str!("../shard/pubsub.rs")),
            ("persist/aof.rs", include_str!("../persist/aof.rs")),
            ("shard/aof_load.rs", include_str!("../shard/aof_load.rs")),
            ("scripting/mod.rs", include_str!("../scripting/mod.rs")),
            ("shard/txn.rs", include_str!("../shard/txn.rs")),
            ("shard/dispatch.rs", include_str!("../shard/dispatch.rs")),
            ("shard/busy.rs", include_str!("../shard/busy.rs")),
        ];
        let table = CommandTable::default();
        for (file, text) in sources {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let by_name = ["cmd.name ==", "match cmd.name", "matches!(cmd.name", "cmd.group ==", "matches!(name,", ".name ==", "get(0).eq_ignore_ascii_case"]
                    .iter()
                    .any(|p| code.contains(p));
                let arm = table.all().iter().any(|c| code.contains(&format!("\"{}\" =>", c.name)) || code.contains(&format!("\"{}\" |", c.name)));
                assert!(!by_name && !arm, "{file}:{}: matches a command name: {line}", n + 1);
            }
        }
    }
}
