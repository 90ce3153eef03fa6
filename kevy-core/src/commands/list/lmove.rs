//! List commands between keys: LMOVE RPOPLPUSH LMPOP. Their keys may live on different
//! shards; the dispatcher then locks both, so a move is atomic. BLMOVE, BRPOPLPUSH and
//! BLMPOP (`blocking.rs`) reuse [`op_move`], [`parse_mpop`] and
//! [`write_mpop_reply`].

use crate::commands::effects::{ev, class::LIST, On::Arg, When::Changed, traits};
use std::ops::Range;

use crate::commands::list::{has_list, list_mut, op_pop, op_push};
use crate::commands::{errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::store::db::Db;

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).route(route).group("list").summary(summary)
}

/// Source and destination: LMOVE, RPOPLPUSH.
const TWO: KeySpec = KeySpec::new(1, 2, 1);

pub const COMMANDS: &[Command] = &[
    cmd("lmove", 5, WRITE | DENYOOM, TWO, Route::Keys, lmove,
        "Pop an element from a list, push it to another list and return it").traits(traits::REMOVES),
    cmd("rpoplpush", 3, WRITE | DENYOOM, TWO, Route::Keys, rpoplpush,
        "Remove the last element in a list, prepend it to another list and return it").events(&[ev(LIST, "rpop", Arg(1), Changed), ev(LIST, "lpush", Arg(2), Changed)]).traits(traits::REMOVES),
    cmd("lmpop", -4, WRITE, KeySpec::NONE, Route::KeyPositions(lmpop_keys), lmpop, "Pop elements from a list").traits(traits::REMOVES),
];

fn lmpop_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 1)
}

/// LMOVE: pops from `src`'s head (`from_left`) or tail and pushes onto `dst`'s head
/// (`to_left`) or tail, creating it. Ok(None) when `src` is missing (whatever `dst`
/// holds); WRONGTYPE when either is not a list, checked before anything moves. With
/// `src == dst` the list rotates in place (its deadline kept).
pub fn op_move(db: &mut Db<'_>, src: &[u8], dst: &[u8], from_left: bool, to_left: bool, now_ms: u64) -> Result<Option<Vec<u8>>, &'static str> {
    if src == dst {
        let Some(list) = list_mut(db.ks(src), src, now_ms)? else {
            return Ok(None);
        };
        let item = if from_left { list.pop_front() } else { list.pop_back() };
        let Some(item) = item else { return Ok(None) };
        if to_left {
            list.push_front(&item);
        } else {
            list.push_back(&item);
        }
        return Ok(Some(item));
    }
    if !has_list(db.ks(src), src, now_ms)? {
        return Ok(None);
    }
    has_list(db.ks(dst), dst, now_ms)?;
    let Some(item) = op_pop(db.ks(src), src, from_left, 1, now_ms)?.pop() else {
        return Ok(None);
    };
    op_push(db.ks(dst), dst, std::iter::once(item.as_slice()), to_left, now_ms)?;
    Ok(Some(item))
}

/// LEFT or RIGHT: Some(true) for LEFT.
pub fn parse_side(arg: &[u8]) -> Option<bool> {
    if is(arg, "LEFT") {
        Some(true)
    } else if is(arg, "RIGHT") {
        Some(false)
    } else {
        None
    }
}

/// The parsed tail of LMPOP / BLMPOP: `numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mpop {
    /// Argument positions of the keys.
    pub keys: Range<usize>,
    /// Pop from the head.
    pub left: bool,
    /// How many to pop at most (1 without COUNT).
    pub count: usize,
}

/// Parses [`Mpop`] with numkeys at argument `at` (LMPOP: 1, BLMPOP: 2), with Redis's
/// errors in Redis's order.
pub fn parse_mpop(args: Args<'_>, at: usize) -> Result<Mpop, &'static str> {
    let numkeys = match parse_i64(args.get(at)) {
        Some(n) if n > 0 => n as usize,
        _ => return Err(errors::LNUMKEYS_NOT_POSITIVE),
    };
    let side_at = at.saturating_add(numkeys).saturating_add(1);
    if side_at >= args.len() {
        return Err(errors::SYNTAX);
    }
    let left = parse_side(args.get(side_at)).ok_or(errors::SYNTAX)?;
    let mut count = None;
    let mut j = side_at + 1;
    while j < args.len() {
        if count.is_none() && is(args.get(j), "COUNT") && j + 1 < args.len() {
            match parse_i64(args.get(j + 1)) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(errors::LCOUNT_NOT_POSITIVE),
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(Mpop { keys: at + 1..side_at, left, count: count.unwrap_or(1) })
}

/// LMPOP's reply for elements popped from `key`: `[key, [element ...]]`.
pub fn write_mpop_reply(out: &mut ReplyWriter<'_>, key: &[u8], items: &[Vec<u8>]) {
    out.array(2);
    out.bulk(key);
    out.array(items.len());
    for item in items {
        out.bulk(item);
    }
}

/// Moves one element and replies with it; true when one moved.
pub fn move_reply(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> bool {
    match op_move(&mut ctx.db, src, dst, from_left, to_left, ctx.now_ms) {
        Ok(Some(item)) => {
            ctx.changed(1);
            ctx.out.bulk(&item);
            return true;
        }
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
    false
}

/// The events of an LMOVE or BLMOVE that moved an element (named by its sides).
pub fn signal_move(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) {
    ctx.signal(LIST, if from_left { "lpop" } else { "rpop" }, src);
    ctx.signal(LIST, if to_left { "lpush" } else { "rpush" }, dst);
}

/// Reports `popped` elements taken from `key` by a multi-key pop (LMPOP, BLPOP...).
pub fn report_pop(ctx: &mut Ctx<'_>, key: &[u8], left: bool, popped: usize) {
    ctx.changed(popped as u64);
    ctx.acted_on(key);
    ctx.signal(LIST, if left { "lpop" } else { "rpop" }, key);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(from_left), Some(to_left)) = (parse_side(args.get(3)), parse_side(args.get(4))) else {
        return ctx.out.error(errors::SYNTAX);
    };
    if move_reply(ctx, args.get(1), args.get(2), from_left, to_left) {
        signal_move(ctx, args.get(1), args.get(2), from_left, to_left);
    }
}

/// RPOPLPUSH source destination
fn rpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    move_reply(ctx, args.get(1), args.get(2), false, true);
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mpop = match parse_mpop(args, 1) {
        Ok(m) => m,
        Err(e) => return ctx.out.error(e),
    };
    for i in mpop.keys {
        let key = args.get(i);
        match op_pop(ctx.db.ks(key), key, mpop.left, mpop.count, ctx.now_ms) {
            Ok(items) if items.is_empty() => {}
            Ok(items) => {
                report_pop(ctx, key, mpop.left, items.len());
                return write_mpop_reply(&mut ctx.out, key, &items);
            }
            Err(e) => return ctx.out.error(e),
        }
    }
    ctx.out.null_array();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::list::{list_of, op_push};
    use crate::resp::OwnedArgs;
    use crate::store::{Keyspace, Value, NO_EXPIRE};

    fn contents(db: &mut Db<'_>, key: &[u8]) -> Vec<Vec<u8>> {
        list_of(db.ks(key), key, 0).unwrap().map(|l| l.iter().map(|e| e.to_vec()).collect()).unwrap_or_default()
    }

    #[test]
    fn moves_and_rotates() {
        let mut ks = Keyspace::new();
        op_push(&mut ks, b"a", [b"1".as_slice(), b"2", b"3"].into_iter(), false, 0).unwrap();
        ks.insert(b"s", Value::Str(b"x".to_vec()), NO_EXPIRE);
        let mut db = Db::one(0, &mut ks, 1);
        assert_eq!(op_move(&mut db, b"a", b"a", true, false, 0), Ok(Some(b"1".to_vec())));
        assert_eq!(contents(&mut db, b"a"), [b"2", b"3", b"1"]);
        assert_eq!(op_move(&mut db, b"a", b"s", true, false, 0), Err(errors::WRONGTYPE));
        assert_eq!(op_move(&mut db, b"s", b"a", true, false, 0), Err(errors::WRONGTYPE));
        assert_eq!(op_move(&mut db, b"none", b"s", true, false, 0), Ok(None));
        assert_eq!(contents(&mut db, b"a").len(), 3);
        for _ in 0..3 {
            op_move(&mut db, b"a", b"b", false, true, 0).unwrap();
        }
        assert_eq!(contents(&mut db, b"b"), [b"2", b"3", b"1"]);
        assert!(!db.ks(b"a").contains(b"a", 0));
    }

    #[test]
    fn parses_mpop() {
        let parse = |line: &str| {
            let owned = OwnedArgs::from_slices(line.split(' '));
            parse_mpop(owned.args(), 1)
        };
        assert_eq!(parse("LMPOP 2 a b LEFT"), Ok(Mpop { keys: 2..4, left: true, count: 1 }));
        assert_eq!(parse("LMPOP 1 a right COUNT 5"), Ok(Mpop { keys: 2..3, left: false, count: 5 }));
        assert_eq!(parse("LMPOP 0 a LEFT"), Err(errors::LNUMKEYS_NOT_POSITIVE));
        assert_eq!(parse("LMPOP 2 a LEFT"), Err(errors::SYNTAX));
        assert_eq!(parse("LMPOP 9223372036854775807 a LEFT"), Err(errors::SYNTAX));
        assert_eq!(parse("LMPOP 1 a UP"), Err(errors::SYNTAX));
        assert_eq!(parse("LMPOP 1 a LEFT COUNT 0"), Err(errors::LCOUNT_NOT_POSITIVE));
        assert_eq!(parse("LMPOP 1 a LEFT COUNT"), Err(errors::SYNTAX));
        assert_eq!(parse("LMPOP 1 a LEFT COUNT 1 COUNT 1"), Err(errors::SYNTAX));
    }
}
