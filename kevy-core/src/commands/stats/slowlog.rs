//! The slow log: one list for the whole server, filled by every shard.
//!
//! Each shard times a command only while `slowlog-log-slower-than` is >= 0 (one
//! monotonic clock read per command, see [`start`]; none when off). A command
//! at or over the threshold takes the log's lock once to push its entry; ids come from
//! one counter, so they increase across shards in the order entries were pushed.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::commands::call::Call;
use crate::commands::{flags, Ctx};
use crate::config::LiveConfig;
use crate::reactor::sys::monotonic_us;
use super::latency::Monitor;

/// `LAST_END` when no command of this turn has ended yet.
const NONE: u64 = u64::MAX;

/// Redis's SLOWLOG_ENTRY_MAX_ARGC: the most arguments an entry keeps.
const MAX_ARGS: usize = 32;
/// Redis's SLOWLOG_ENTRY_MAX_STRING: the most bytes an argument keeps.
const MAX_ARG_BYTES: usize = 128;

/// One logged command.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u64,
    /// Unix time (seconds) the command finished.
    pub unix_s: u64,
    pub micros: u64,
    /// The arguments, trimmed as Redis trims them.
    pub args: Vec<Vec<u8>>,
    /// The client's `ip:port` (empty when the command ran on another shard than the
    /// client's connection).
    pub addr: String,
    pub name: Vec<u8>,
}

/// The server's slow log (newest entry first).
#[derive(Default)]
pub struct SlowLog {
    next_id: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

impl SlowLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an entry (id assigned here) and drops the oldest beyond `max_len`.
    pub fn push(&self, mut entry: Entry, max_len: usize) {
        let mut list = self.lock();
        entry.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        list.push_front(entry);
        list.truncate(max_len);
    }

    /// The list as Redis shows it: Redis trims to `slowlog-max-len` after every
    /// command while the log is on (so right after a CONFIG SET lowering it); kevy
    /// trims when the list is read, which no command can tell apart.
    fn trimmed_list(&self, config: &LiveConfig) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        let mut list = self.lock();
        if config.slowlog_slower_than.load(Ordering::Relaxed) >= 0 {
            list.truncate(config.slowlog_max_len.load(Ordering::Relaxed) as usize);
        }
        list
    }

    /// The newest `count` entries (all for None).
    pub fn newest(&self, config: &LiveConfig, count: Option<usize>) -> Vec<Entry> {
        let list = self.trimmed_list(config);
        list.iter().take(count.unwrap_or(usize::MAX)).cloned().collect()
    }

    pub fn len(&self, config: &LiveConfig) -> usize {
        self.trimmed_list(config).len()
    }

    /// SLOWLOG RESET: empties the list (ids keep increasing, as in Redis).
    pub fn reset(&self) {
        self.lock().clear();
    }
}

thread_local! {
    /// When this thread's last timed command ended, within the current event-loop
    /// turn: the next command's start, so a command costs one clock read, not two.
    static LAST_END: Cell<u64> = const { Cell::new(NONE) };
}

/// A new turn (or a host call) begins: what ran before it is not the next command's
/// time. Called where the shard refreshes its cached clock.
#[inline]
pub fn new_turn() {
    LAST_END.with(|last| last.set(NONE));
}

/// When the command about to run started: None while the slow log is off. Within a
/// turn it is the previous command's end (the parsing in between is counted with the
/// command), so only the first command of a turn reads the clock here.
#[inline(always)]
pub fn start(config: &LiveConfig) -> Option<u64> {
    if !config.time_commands.load(Ordering::Relaxed) {
        return None;
    }
    let last = LAST_END.with(|last| last.replace(NONE));
    Some(if last == NONE { monotonic_us() } else { last })
}

/// After a timed command: logs it when it took at least the threshold.
#[inline]
pub fn finish(call: &Call<'_>, ctx: &Ctx<'_>, started_us: u64, config: &LiveConfig, log: &SlowLog, latency: &Monitor) {
    let now = monotonic_us();
    LAST_END.with(|last| last.set(now));
    let micros = now.saturating_sub(started_us);
    let latency_ms = config.latency_threshold_ms.load(Ordering::Relaxed);
    if latency_ms > 0 && micros / 1000 >= latency_ms {
        let event = if call.cmd.has(flags::FAST) { "fast-command" } else { "command" };
        latency.add(event, ctx.now_ms / 1000, micros / 1000);
    }
    let threshold = config.slowlog_slower_than.load(Ordering::Relaxed);
    // EXEC logs the commands it runs, not itself; a blocked command is logged by
    // Redis only once it is served.
    if threshold < 0 || micros < threshold as u64 || call.cmd.has(flags::SKIP_SLOWLOG) || ctx.block.is_some() {
        return;
    }
    record(call, ctx, micros, log, config.slowlog_max_len.load(Ordering::Relaxed) as usize);
}

#[cold]
#[inline(never)]
fn record(call: &Call<'_>, ctx: &Ctx<'_>, micros: u64, log: &SlowLog, max_len: usize) {
    let (addr, name) = match &ctx.client {
        Some(c) => (c.addr.clone(), c.name.clone()),
        None => (String::new(), Vec::new()),
    };
    let all: Vec<&[u8]> = (0..call.args.len()).map(|i| call.args.get(i)).collect();
    let entry = Entry { id: 0, unix_s: ctx.now_ms / 1000, micros, args: trimmed(&all), addr, name };
    log.push(entry, max_len);
}

/// The arguments an entry keeps: at most 32, the last of them then saying how many
/// more there were; each cut at 128 bytes, saying how many more bytes it had.
pub fn trimmed(args: &[&[u8]]) -> Vec<Vec<u8>> {
    let kept = args.len().min(MAX_ARGS);
    let mut out = Vec::with_capacity(kept);
    for (i, arg) in args.iter().take(kept).enumerate() {
        if kept == MAX_ARGS && i == MAX_ARGS - 1 && args.len() > MAX_ARGS {
            out.push(format!("... ({} more arguments)", args.len() - MAX_ARGS + 1).into_bytes());
        } else if arg.len() > MAX_ARG_BYTES {
            let mut cut = arg[..MAX_ARG_BYTES].to_vec();
            cut.extend_from_slice(format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes());
            out.push(cut);
        } else {
            out.push(arg.to_vec());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_arguments_end_with_a_count() {
        let args: Vec<Vec<u8>> = (0..35).map(|i| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let kept = trimmed(&refs);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[30], b"30");
        assert_eq!(kept[31], b"... (4 more arguments)");
        let exactly: Vec<&[u8]> = refs[..32].to_vec();
        assert_eq!(trimmed(&exactly)[31], b"31");
    }

    #[test]
    fn long_arguments_are_cut() {
        let long = vec![b'A'; 129];
        let kept = trimmed(&[b"set", &long]);
        assert_eq!(kept[1], [vec![b'A'; 128], b"... (1 more bytes)".to_vec()].concat());
        assert_eq!(trimmed(&[&long[..128]])[0].len(), 128);
    }

    #[test]
    fn push_keeps_the_newest_and_ids_increase() {
        let config = LiveConfig::new(crate::config::Config::new());
        let log = SlowLog::default();
        let entry = || Entry { id: 0, unix_s: 0, micros: 0, args: vec![], addr: String::new(), name: vec![] };
        for _ in 0..5 {
            log.push(entry(), 3);
        }
        let ids: Vec<u64> = log.newest(&config, None).iter().map(|e| e.id).collect();
        assert_eq!(ids, [4, 3, 2]);
        config.set_many(&[("slowlog-max-len", "2")]).unwrap();
        assert_eq!(log.len(&config), 2);
        log.reset();
        assert_eq!(log.len(&config), 0);
        log.push(entry(), 3);
        assert_eq!(log.newest(&config, Some(1))[0].id, 5);
    }
}
