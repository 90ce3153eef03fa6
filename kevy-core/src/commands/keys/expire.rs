//! Key expiry: EXPIRE PEXPIRE EXPIREAT PEXPIREAT, TTL PTTL EXPIRETIME PEXPIRETIME,
//! PERSIST. Deadlines are unix milliseconds.

use crate::commands::effects::{ev, class::GENERIC, On::Arg, When::Changed, Propagate};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("generic").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("expire", -3, WRITE | FAST, expire, "Set a key's time to live in seconds").propagate(Propagate::AbsoluteTtl),
    cmd("pexpire", -3, WRITE | FAST, pexpire, "Set a key's time to live in milliseconds").propagate(Propagate::AbsoluteTtl),
    cmd("expireat", -3, WRITE | FAST, expireat, "Set the expiration for a key as a UNIX timestamp"),
    cmd("pexpireat", -3, WRITE | FAST, pexpireat, "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    cmd("ttl", 2, READONLY | FAST, ttl, "Get the time to live for a key in seconds"),
    cmd("pttl", 2, READONLY | FAST, pttl, "Get the time to live for a key in milliseconds"),
    cmd("expiretime", 2, READONLY | FAST, expiretime, "Get the expiration Unix timestamp for a key"),
    cmd("pexpiretime", 2, READONLY | FAST, pexpiretime, "Get the expiration Unix timestamp for a key in milliseconds"),
    cmd("persist", 2, WRITE | FAST, persist, "Remove the expiration from a key").events(&[ev(GENERIC, "persist", Arg(1), Changed)]),
];

/// EXPIRE's conditions (NX XX GT LT), any combination Redis accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpireCond {
    /// Only when the key has no deadline.
    pub nx: bool,
    /// Only when the key has a deadline.
    pub xx: bool,
    /// Only when the new deadline is later (no deadline counts as infinitely late).
    pub gt: bool,
    /// Only when the new deadline is earlier.
    pub lt: bool,
}

impl ExpireCond {
    /// Parses the options after the time, checking them as Redis does.
    pub fn parse(args: Args<'_>, from: usize) -> Result<ExpireCond, String> {
        let mut c = ExpireCond::default();
        for arg in args.from(from) {
            let flag = if is(arg, "NX") {
                &mut c.nx
            } else if is(arg, "XX") {
                &mut c.xx
            } else if is(arg, "GT") {
                &mut c.gt
            } else if is(arg, "LT") {
                &mut c.lt
            } else {
                return Err(errors::unsupported_option(arg));
            };
            *flag = true;
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(errors::EXPIRE_NX_AND_OTHERS.into());
        }
        if c.gt && c.lt {
            return Err(errors::EXPIRE_GT_AND_LT.into());
        }
        Ok(c)
    }

    /// May a key whose deadline is `current` take the deadline `when`?
    fn allows(&self, current: u64, when: i64) -> bool {
        if current == NO_EXPIRE {
            // No deadline counts as an infinitely late one.
            return !self.xx && !self.gt;
        }
        let current = current as i64;
        let too_early = self.gt && when <= current;
        let too_late = self.lt && when >= current;
        !self.nx && !too_early && !too_late
    }
}

/// The deadline in unix ms for `time` given in seconds or ms, relative to `base_ms`
/// (0 for an absolute time). None when it overflows, as Redis checks it.
pub fn deadline(time: i64, seconds: bool, base_ms: i64) -> Option<i64> {
    let ms = if seconds { time.checked_mul(1000)? } else { time };
    if ms > i64::MAX - base_ms {
        return None;
    }
    Some(ms + base_ms)
}

/// Sets the deadline of a live key to `when` (unix ms) if `cond` allows; a deadline
/// already past deletes the key. True when the key was changed or deleted.
pub fn op_expire(ks: &mut Keyspace, key: &[u8], when: i64, cond: ExpireCond, now_ms: u64) -> bool {
    let Some(current) = ks.expire_of(key, now_ms) else { return false };
    if !cond.allows(current, when) {
        return false;
    }
    if when <= now_ms as i64 {
        ks.remove(key);
    } else {
        ks.set_expire(key, when as u64, now_ms);
    }
    true
}

/// Removes a live key's deadline. True when it had one.
pub fn op_persist(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> bool {
    match ks.expire_of(key, now_ms) {
        Some(at) if at != NO_EXPIRE => ks.set_expire(key, NO_EXPIRE, now_ms),
        _ => false,
    }
}

/// What TTL and its kin report before units: the key's deadline, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    Missing,
    Never,
    At(u64),
}

/// The deadline of `key`, counting a keyspace hit or miss as a read does.
pub fn op_deadline(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Deadline {
    match ks.read(key, now_ms).map(|e| e.expire_at()) {
        None => Deadline::Missing,
        Some(NO_EXPIRE) => Deadline::Never,
        Some(at) => Deadline::At(at),
    }
}

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT: key time [NX|XX|GT|LT ...].
fn expire_generic(ctx: &mut Ctx<'_>, args: Args<'_>, name: &str, seconds: bool, relative: bool) {
    let cond = match ExpireCond::parse(args, 3) {
        Ok(c) => c,
        Err(e) => return ctx.out.error(&e),
    };
    let Some(time) = parse_i64(args.get(2)) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let base = if relative { ctx.now_ms as i64 } else { 0 };
    let Some(when) = deadline(time, seconds, base) else {
        return ctx.out.error(&errors::invalid_expire(name));
    };
    let key = args.get(1);
    let done = op_expire(ctx.db.ks(key), key, when, cond, ctx.now_ms);
    if done {
        // A deadline already past deletes the key: Redis signals that as `del`.
        ctx.signal(GENERIC, if when <= ctx.now_ms as i64 { "del" } else { "expire" }, key);
    }
    ctx.reply_changes(done as i64);
}

/// EXPIRE key seconds [NX|XX|GT|LT]
fn expire(ctx: &mut Ctx<'_>, args: Args<'_>) {
    expire_generic(ctx, args, "expire", true, true);
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
fn pexpire(ctx: &mut Ctx<'_>, args: Args<'_>) {
    expire_generic(ctx, args, "pexpire", false, true);
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
fn expireat(ctx: &mut Ctx<'_>, args: Args<'_>) {
    expire_generic(ctx, args, "expireat", true, false);
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
fn pexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) {
    expire_generic(ctx, args, "pexpireat", false, false);
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME key: -2 missing, -1 no deadline, else the
/// time left (or the deadline itself when `absolute`), seconds rounded to nearest.
fn ttl_generic(ctx: &mut Ctx<'_>, args: Args<'_>, millis: bool, absolute: bool) {
    let key = args.get(1);
    let n = match op_deadline(ctx.db.ks(key), key, ctx.now_ms) {
        Deadline::Missing => -2,
        Deadline::Never => -1,
        Deadline::At(at) => {
            let ms = if absolute { at } else { at.saturating_sub(ctx.now_ms) };
            let n = if millis { ms } else { (ms + 500) / 1000 };
            n.min(i64::MAX as u64) as i64
        }
    };
    ctx.out.int(n);
}

/// TTL key
fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ttl_generic(ctx, args, false, false);
}

/// PTTL key
fn pttl(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ttl_generic(ctx, args, true, false);
}

/// EXPIRETIME key
fn expiretime(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ttl_generic(ctx, args, false, true);
}

/// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ttl_generic(ctx, args, true, true);
}

/// PERSIST key
fn persist(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let done = op_persist(ctx.db.ks(key), key, ctx.now_ms);
    ctx.reply_changes(done as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;
    use crate::store::Value;

    fn ks_with(key: &[u8], expire_at: u64) -> Keyspace {
        let mut ks = Keyspace::new();
        ks.insert(key, Value::Str(b"v".to_vec()), expire_at);
        ks
    }

    fn cond(opts: &[&str]) -> Result<ExpireCond, String> {
        let mut all = vec!["expire", "k", "1"];
        all.extend_from_slice(opts);
        ExpireCond::parse(OwnedArgs::from_slices(all).args(), 3)
    }

    #[test]
    fn parses_conditions() {
        assert_eq!(cond(&[]), Ok(ExpireCond::default()));
        assert_eq!(cond(&["xx", "GT"]), Ok(ExpireCond { xx: true, gt: true, ..Default::default() }));
        assert_eq!(cond(&["NX", "nx"]), Ok(ExpireCond { nx: true, ..Default::default() }));
        assert_eq!(cond(&["NX", "XX"]).unwrap_err(), errors::EXPIRE_NX_AND_OTHERS);
        assert_eq!(cond(&["LT", "NX"]).unwrap_err(), errors::EXPIRE_NX_AND_OTHERS);
        assert_eq!(cond(&["GT", "LT"]).unwrap_err(), errors::EXPIRE_GT_AND_LT);
        assert_eq!(cond(&["NX", "XX", "FOO"]).unwrap_err(), "ERR Unsupported option FOO");
    }

    #[test]
    fn deadlines_overflow_as_redis() {
        assert_eq!(deadline(10, true, 1000), Some(11_000));
        assert_eq!(deadline(-5, false, 0), Some(-5));
        assert_eq!(deadline(i64::MAX / 1000 + 1, true, 0), None);
        assert_eq!(deadline(i64::MIN, true, 0), None);
        assert_eq!(deadline(i64::MAX, false, 1), None);
        assert_eq!(deadline(i64::MAX, false, 0), Some(i64::MAX));
    }

    #[test]
    fn expire_conditions() {
        let none = ExpireCond::default();
        let nx = ExpireCond { nx: true, ..none };
        let xx = ExpireCond { xx: true, ..none };
        let gt = ExpireCond { gt: true, ..none };
        let lt = ExpireCond { lt: true, ..none };
        let mut ks = ks_with(b"k", NO_EXPIRE);
        assert!(!op_expire(&mut ks, b"nosuch", 500, none, 0));
        assert!(!op_expire(&mut ks, b"k", 500, xx, 0));
        assert!(!op_expire(&mut ks, b"k", 500, gt, 0));
        assert!(op_expire(&mut ks, b"k", 500, nx, 0));
        assert!(!op_expire(&mut ks, b"k", 600, nx, 0));
        assert!(!op_expire(&mut ks, b"k", 400, gt, 0));
        assert!(op_expire(&mut ks, b"k", 700, gt, 0));
        assert!(!op_expire(&mut ks, b"k", 800, lt, 0));
        assert!(op_expire(&mut ks, b"k", 300, lt, 0));
        assert_eq!(op_deadline(&mut ks, b"k", 0), Deadline::At(300));
        assert!(op_persist(&mut ks, b"k", 0));
        assert!(!op_persist(&mut ks, b"k", 0));
        assert_eq!(op_deadline(&mut ks, b"k", 0), Deadline::Never);
        assert_eq!(ks.volatile_len(), 0);
    }

    #[test]
    fn past_deadline_deletes() {
        let mut ks = ks_with(b"k", NO_EXPIRE);
        let gt = ExpireCond { gt: true, ..Default::default() };
        assert!(!op_expire(&mut ks, b"k", -1, gt, 100));
        assert!(op_expire(&mut ks, b"k", 100, ExpireCond::default(), 100));
        assert_eq!(op_deadline(&mut ks, b"k", 100), Deadline::Missing);
        let mut ks = ks_with(b"k", 1000);
        let lt = ExpireCond { lt: true, ..Default::default() };
        assert!(op_expire(&mut ks, b"k", i64::MIN, lt, 100));
        assert!(ks.is_empty());
        assert_eq!(ks.volatile_len(), 0);
    }
}
