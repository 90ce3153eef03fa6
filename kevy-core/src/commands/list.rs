//! List commands. The first few (LPUSH RPUSH LLEN LRANGE) exist so other families can
//! be tested against a second type; the data-types issue completes the family.

use std::collections::VecDeque;

use super::{errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: super::Handler, summary: &'static str) -> Command {
    Command { name, arity, flags, keys: KeySpec::ONE, route: Route::Keys, handler, group: "list", summary, subcommands: &[] }
}

pub const COMMANDS: &[Command] = &[
    cmd("lpush", -3, WRITE | DENYOOM | FAST, lpush, "Prepend one or multiple elements to a list"),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, rpush, "Append one or multiple elements to a list"),
    cmd("llen", 2, READONLY | FAST, llen, "Get the length of a list"),
    cmd("lrange", 4, READONLY, lrange, "Get a range of elements from a list"),
];

/// Pushes `items` at the head (`left`) or tail; creates the list. Returns the new length.
pub fn op_push<'a>(
    ks: &mut Keyspace,
    key: &[u8],
    items: impl Iterator<Item = &'a [u8]>,
    left: bool,
    now_ms: u64,
) -> Result<usize, &'static str> {
    if ks.get(key, now_ms).is_none() {
        ks.insert(key, Value::List(VecDeque::new()), NO_EXPIRE);
    }
    match ks.get_mut(key, now_ms) {
        Some(Value::List(list)) => {
            for item in items {
                if left {
                    list.push_front(item.to_vec());
                } else {
                    list.push_back(item.to_vec());
                }
            }
            Ok(list.len())
        }
        _ => Err(errors::WRONGTYPE),
    }
}

/// The list under `key`: Ok(None) when missing.
fn list_of<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k VecDeque<Vec<u8>>>, &'static str> {
    match ks.read(key, now_ms).map(|e| e.value) {
        None => Ok(None),
        Some(ValueRef::List(l)) => Ok(Some(l)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// Resolves Redis's inclusive, possibly negative range over `len` items.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    (start <= end && start < len).then_some((start as usize, end as usize))
}

fn push(ctx: &mut Ctx<'_>, args: Args<'_>, left: bool) {
    let key = args.get(1);
    match op_push(ctx.db.ks(key), key, args.from(2), left, ctx.now_ms) {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// LPUSH key element [element ...]
fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, true);
}

/// RPUSH key element [element ...]
fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    push(ctx, args, false);
}

/// LLEN key
fn llen(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(l) => ctx.out.int(l.map_or(0, |l| l.len()) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// LRANGE key start stop
fn lrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(start), Some(end)) = (parse_i64(args.get(2)), parse_i64(args.get(3))) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let key = args.get(1);
    let list = match list_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(l)) => l,
        Ok(None) => return ctx.out.array(0),
        Err(e) => return ctx.out.error(e),
    };
    let Some((from, to)) = clamp_range(start, end, list.len()) else {
        return ctx.out.array(0);
    };
    let out = &mut ctx.out;
    out.array(to - from + 1);
    for item in list.range(from..=to) {
        out.bulk(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_ranges() {
        let mut ks = Keyspace::new();
        let items: [&[u8]; 3] = [b"a", b"b", b"c"];
        assert_eq!(op_push(&mut ks, b"l", items.into_iter(), false, 0), Ok(3));
        assert_eq!(op_push(&mut ks, b"l", [b"z".as_slice()].into_iter(), true, 0), Ok(4));
        assert_eq!(clamp_range(0, -1, 4), Some((0, 3)));
        assert_eq!(clamp_range(-2, 100, 4), Some((2, 3)));
        assert_eq!(clamp_range(5, 10, 4), None);
        assert_eq!(clamp_range(2, 1, 4), None);
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        assert_eq!(op_push(&mut ks, b"s", items.into_iter(), false, 0), Err(errors::WRONGTYPE));
    }
}
