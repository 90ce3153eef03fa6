//! Keyspace notifications (`notify-keyspace-events`): after a write command, the
//! events Redis would signal are published on `__keyspace@0__:<key>` (message: the
//! event) and `__keyevent@0__:<event>` (message: the key), through ordinary pub/sub,
//! so subscribers on any shard receive them.
//!
//! Which events a command signals is declared in its table row (`Command::events`,
//! with Redis's names and classes) or reported by its handler (`Ctx::signal`). Whether
//! it signals at all follows Redis's rule of thumb: commands that report a count of
//! changes signal only when it is above zero (`When::Changed`, the handler's
//! `Ctx::changed`); a key that a removal leaves empty also signals `del`. Expired keys signal `expired` (lazily or from the
//! reaper); `new` (n) is signalled for keys a command creates.

use std::sync::atomic::Ordering;

use crate::commands::call::Call;
use crate::commands::client::Kind;
use crate::commands::runtime::Runtime;
use crate::commands::effects::{traits, On, When};
use crate::commands::Ctx;

/// Event classes, as the letters of `notify-keyspace-events` (config owns their parsing).
pub use crate::config::notify::class;

/// Publishes one event for `key`, if its class is enabled.
pub fn signal<R: Runtime + ?Sized>(shared: &R, flags: u32, cls: u32, event: &str, key: &[u8]) {
    if flags & cls == 0 {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let mut ch = b"__keyspace@0__:".to_vec();
        ch.extend_from_slice(key);
        shared.publish(Kind::Channel, &ch, event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let ch = format!("__keyevent@0__:{event}");
        shared.publish(Kind::Channel, ch.as_bytes(), key);
    }
}

/// The enabled classes (0: notifications off).
#[inline]
pub fn flags<R: Runtime + ?Sized>(shared: &R) -> u32 {
    shared.config().notify_flags.load(Ordering::Relaxed)
}

/// The keyspace that owns `key`, when the command holds it.
fn ks_of<'a>(db: &'a mut crate::store::db::Db<'_>, key: &[u8]) -> Option<&'a mut crate::store::Keyspace> {
    let n = db.shards();
    db.shard(crate::store::routing::shard_of(key, n))
}

/// Before a command runs (notifications on): arms the expired-key logs, and for writes
/// that need it notes which keys exist (for `new` and `del` events).
#[cold]
pub fn before(call: &Call<'_>, ctx: &mut Ctx<'_>) {
    let flags = flags(ctx.shared);
    if flags & class::EXPIRED != 0 {
        for (_, ks) in ctx.db.all() {
            ks.expired_log.get_or_insert_with(Vec::new);
        }
    }
    let cmd = call.cmd;
    let wanted = flags & class::NEW != 0 || cmd.is(traits::DELETES | traits::STORES);
    if !cmd.has(crate::commands::flags::WRITE) || !wanted {
        return;
    }
    let now = ctx.now_ms;
    let existed = call.keys().map(|key| ks_of(&mut ctx.db, key).is_some_and(|ks| ks.contains(key, now))).collect();
    ctx.effects.reported().existed = Some(existed);
}

/// After a command ran: signals keys that expired meanwhile, then, for a write that
/// succeeded, the events its row declares and those its handler reported.
pub fn after(call: &Call<'_>, ctx: &mut Ctx<'_>) {
    let flags = flags(ctx.shared);
    let shared = ctx.shared;
    if flags & class::EXPIRED != 0 {
        for (_, ks) in ctx.db.all() {
            for key in ks.expired_log.as_mut().map(std::mem::take).unwrap_or_default() {
                signal(shared, flags, class::EXPIRED, "expired", &key);
            }
        }
    }
    let cmd = call.cmd;
    if !cmd.has(crate::commands::flags::WRITE) || ctx.effects.failed {
        return;
    }
    let existed = ctx.effects.reported.as_deref_mut().and_then(|r| r.existed.take()).unwrap_or_default();
    // Keys the command created: `new` first, as Redis signals it on creation.
    if flags & class::NEW != 0 {
        let now = ctx.now_ms;
        for (key, &was) in call.keys().zip(&existed) {
            if !was && ks_of(&mut ctx.db, key).is_some_and(|ks| ks.contains(key, now)) {
                signal(shared, flags, class::NEW, "new", key);
            }
        }
    }
    let changed = ctx.effects.changes > 0;
    for e in cmd.events {
        if e.when == When::Changed && !changed {
            continue;
        }
        match e.on {
            On::Arg(at) => {
                if let Some(key) = call.args.opt(at as usize) {
                    signal(shared, flags, e.class, e.name, key);
                }
            }
            On::LastKey => {
                if let Some(key) = call.keys().last() {
                    signal(shared, flags, e.class, e.name, key);
                }
            }
            On::AllKeys => {
                for (i, key) in call.keys().enumerate() {
                    // DEL signals only the keys that were there.
                    if cmd.is(traits::DELETES) && !existed.get(i).copied().unwrap_or(false) {
                        continue;
                    }
                    signal(shared, flags, e.class, e.name, key);
                }
            }
        }
    }
    // The AOF reads the log lines the handler reported: only the events are taken.
    let (signals, acted_on) = match ctx.effects.reported.as_deref_mut() {
        Some(r) => (std::mem::take(&mut r.signals), r.acted_on.take()),
        None => (Vec::new(), None),
    };
    for (cls, event, key) in signals {
        signal(shared, flags, cls, event, &key);
    }
    deletions(call, ctx, &existed, flags, acted_on);
}

/// The `del` a write implies: a store of an empty result deletes its destination (if
/// it was there); a removal that emptied a collection deletes the key.
fn deletions(call: &Call<'_>, ctx: &mut Ctx<'_>, existed: &[bool], flags: u32, acted_on: Option<Vec<u8>>) {
    let (cmd, args) = (call.cmd, call.args);
    let changed = ctx.effects.changes > 0;
    if cmd.is(traits::STORES) && !changed && existed.first().copied().unwrap_or(false) {
        signal(ctx.shared, flags, class::GENERIC, "del", args.get(1));
    }
    // A command whose events all fire on success changed something by succeeding.
    let did = changed || cmd.events.iter().any(|e| e.when == When::Always);
    if cmd.is(traits::REMOVES) && did {
        let key = acted_on.unwrap_or_else(|| args.get(1).to_vec());
        let now = ctx.now_ms;
        if ks_of(&mut ctx.db, &key).is_some_and(|ks| !ks.contains(&key, now)) {
            signal(ctx.shared, flags, class::GENERIC, "del", &key);
        }
    }
}

/// Around the reaper: `arm` before it runs, `reaped` after, to signal what it expired.
pub fn arm<R: Runtime + ?Sized>(shared: &R, ks: &mut crate::store::Keyspace) {
    if flags(shared) & class::EXPIRED != 0 {
        ks.expired_log.get_or_insert_with(Vec::new);
    } else {
        ks.expired_log = None;
    }
}

pub fn reaped<R: Runtime + ?Sized>(shared: &R, ks: &mut crate::store::Keyspace) {
    let flags = flags(shared);
    for key in ks.expired_log.as_mut().map(std::mem::take).unwrap_or_default() {
        signal(shared, flags, class::EXPIRED, "expired", &key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::notify::{format_flags, parse_flags};

    #[test]
    fn flags_parse_and_print_like_redis() {
        assert_eq!(parse_flags("KEA"), Some(class::ALL | class::KEYSPACE | class::KEYEVENT));
        assert_eq!(format_flags(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(format_flags(parse_flags("KEAn").unwrap()), "AnKE");
        assert_eq!(format_flags(parse_flags("Elg").unwrap()), "glE");
        assert_eq!(format_flags(parse_flags("Kx$mn").unwrap()), "$xnKm");
        assert_eq!(parse_flags("Q"), None);
        assert_eq!(parse_flags(""), Some(0));
    }
}
