//! Blocking list commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP. Each tries to serve at
//! once; with nothing to pop it blocks (see `shard::blocking`), and when re-run to
//! serve (`ctx.serving`) it looks only at the key that got data.

use crate::commands::effects::{ev, class::LIST, On::Arg, When::Changed, traits, Propagate};
use crate::commands::list::{has_list, op_pop};
use crate::commands::list::lmove::{op_move, parse_side as side, report_pop, signal_move};
use crate::commands::{errors, flags::*, is, numkeys_positions, rules, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::commands::blocking::{parse_timeout, BlockRequest};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).route(route).group("list").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, KeySpec::new(1, -2, 1), Route::Keys, blpop,
        "Remove and get the first element in a list, or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
    cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, KeySpec::new(1, -2, 1), Route::Keys, brpop,
        "Remove and get the last element in a list, or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
    cmd("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::new(1, 2, 1), Route::Keys, blmove,
        "Pop an element from a list, push it to another list and return it; or block until one is available").traits(traits::REMOVES).rules(rules::NULL_WHEN_EMPTY),
    cmd("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::new(1, 2, 1), Route::Keys, brpoplpush,
        "Pop an element from a list, push it to another list and return it; or block until one is available").events(&[ev(LIST, "rpop", Arg(1), Changed), ev(LIST, "lpush", Arg(2), Changed)]).traits(traits::REMOVES).rules(rules::NULL_WHEN_EMPTY),
    cmd("blmpop", -5, WRITE | BLOCKING, KeySpec::NONE, Route::KeyPositions(blmpop_keys), blmpop,
        "Pop elements from a list, or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
];

fn blmpop_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 2)
}

/// The keys to try: all of them, or only the one that got data when serving.
fn candidates<'a>(ctx: &Ctx<'a>, keys: Vec<&'a [u8]>) -> Vec<&'a [u8]> {
    match ctx.serving {
        Some(k) => vec![k],
        None => keys,
    }
}

/// Blocks with `keys` watched, or when serving (nothing after all), keeps waiting.
fn wait(ctx: &mut Ctx<'_>, deadline_ms: u64, watch: &[&[u8]], extra: &[&[u8]]) {
    ctx.block_on(BlockRequest {
        deadline_ms,
        watch: watch.iter().map(|k| k.to_vec()).collect(),
        extra: extra.iter().map(|k| k.to_vec()).collect(),
        args: None,
    });
}

fn pop_one(ctx: &mut Ctx<'_>, args: Args<'_>, left: bool) {
    let deadline = match parse_timeout(args.get(args.len() - 1), ctx.now_ms) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    for key in candidates(ctx, keys.clone()) {
        match op_pop(ctx.db.ks(key), key, left, 1, ctx.now_ms) {
            Ok(items) if !items.is_empty() => {
                report_pop(ctx, key, left, 1);
                // Logged as the pop that happened.
                let pop: &[u8] = if left { b"LPOP" } else { b"RPOP" };
                ctx.propagate(vec![pop.to_vec(), key.to_vec()]);
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulk(&items[0]);
                return;
            }
            Ok(_) => {}
            Err(_) if ctx.serving.is_some() => break, // retyped meanwhile: keep waiting
            Err(e) => return ctx.out.error(e),
        }
    }
    wait(ctx, deadline, &keys, &[]);
}

/// BLPOP key [key ...] timeout
fn blpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop_one(ctx, args, true);
}

/// BRPOP key [key ...] timeout
fn brpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop_one(ctx, args, false);
}

fn move_one(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from_left: bool, to_left: bool, timeout: &[u8]) -> bool {
    let deadline = match parse_timeout(timeout, ctx.now_ms) {
        Ok(d) => d,
        Err(e) => {
            ctx.out.error(e);
            return false;
        }
    };
    match op_move(&mut ctx.db, src, dst, from_left, to_left, ctx.now_ms) {
        Ok(Some(item)) => {
            ctx.changed(1);
            ctx.out.bulk(&item);
            return true;
        }
        Ok(None) => wait(ctx, deadline, &[src], &[dst]),
        // A source retyped meanwhile: keep waiting. A destination of another type
        // fails the served client, as Redis does (nothing moves).
        Err(_) if ctx.serving.is_some() && has_list(ctx.db.ks(src), src, ctx.now_ms) != Ok(true) => {
            wait(ctx, deadline, &[src], &[dst])
        }
        Err(e) => ctx.out.error(e),
    }
    false
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (Some(from_left), Some(to_left)) = (side(args.get(3)), side(args.get(4))) else {
        return ctx.out.error(errors::SYNTAX);
    };
    if move_one(ctx, args.get(1), args.get(2), from_left, to_left, args.get(5)) {
        signal_move(ctx, args.get(1), args.get(2), from_left, to_left);
    }
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    move_one(ctx, args.get(1), args.get(2), false, true, args.get(3));
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let deadline = match parse_timeout(args.get(1), ctx.now_ms) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let numkeys = match parse_i64(args.get(2)) {
        Some(n) if n > 0 => n as usize,
        Some(_) => return ctx.out.error(errors::LNUMKEYS_NOT_POSITIVE),
        None => return ctx.out.error(errors::LNUMKEYS_NOT_POSITIVE),
    };
    if 3 + numkeys >= args.len() {
        return ctx.out.error(errors::SYNTAX);
    }
    let Some(left) = side(args.get(3 + numkeys)) else { return ctx.out.error(errors::SYNTAX) };
    let count = match args.len() - (4 + numkeys) {
        0 => 1,
        2 if is(args.get(4 + numkeys), "COUNT") => match parse_i64(args.get(5 + numkeys)) {
            Some(n) if n > 0 => n as usize,
            _ => return ctx.out.error(errors::LCOUNT_NOT_POSITIVE),
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let keys: Vec<&[u8]> = (3..3 + numkeys).map(|i| args.get(i)).collect();
    for key in candidates(ctx, keys.clone()) {
        match op_pop(ctx.db.ks(key), key, left, count, ctx.now_ms) {
            Ok(items) if !items.is_empty() => {
                report_pop(ctx, key, left, items.len());
                let pop: &[u8] = if left { b"LPOP" } else { b"RPOP" };
                ctx.propagate(vec![pop.to_vec(), key.to_vec(), items.len().to_string().into_bytes()]);
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.array(items.len());
                for item in &items {
                    ctx.out.bulk(item);
                }
                return;
            }
            Ok(_) => {}
            Err(_) if ctx.serving.is_some() => break,
            Err(e) => return ctx.out.error(e),
        }
    }
    wait(ctx, deadline, &keys, &[]);
}
