//! Blocking sorted-set pops: BZPOPMIN BZPOPMAX BZMPOP (see `shard::blocking`).

use crate::commands::effects::{traits, Propagate};
use crate::commands::zset::{op_zpop, report_zpop};
use crate::commands::{errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::commands::blocking::{parse_timeout, BlockRequest};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, route: Route, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).route(route).group("sorted-set").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KeySpec::new(1, -2, 1), Route::Keys, bzpopmin,
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
    cmd("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KeySpec::new(1, -2, 1), Route::Keys, bzpopmax,
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
    cmd("bzmpop", -5, WRITE | BLOCKING, KeySpec::NONE, Route::KeyPositions(bzmpop_keys), bzmpop,
        "Remove and return members with scores in a sorted set or block until one is available").traits(traits::REMOVES).propagate(Propagate::Reported),
];

fn bzmpop_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 2)
}

/// Members popped, with their scores.
type Popped = Vec<(Vec<u8>, f64)>;

/// Tries `keys` in order (only the ready one when serving): the index of the key
/// popped from and what came out, or Ok(None) when all are empty.
fn pop_first(ctx: &mut Ctx<'_>, keys: &[&[u8]], max: bool, count: usize) -> Result<Option<(usize, Popped)>, &'static str> {
    let serving = ctx.serving.map(<[u8]>::to_vec);
    for (i, &key) in keys.iter().enumerate() {
        if serving.as_deref().is_some_and(|s| s != key) {
            continue;
        }
        match op_zpop(ctx.db.ks(key), key, max, count, ctx.now_ms) {
            Ok(items) if !items.is_empty() => return Ok(Some((i, items))),
            Ok(_) => {}
            Err(_) if serving.is_some() => return Ok(None), // retyped meanwhile: wait on
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// The log line of a blocking pop that popped `count` members (None: as BZPOPMIN
/// logs it, without a count).
fn zpop_line(key: &[u8], max: bool, count: Option<usize>) -> Vec<Vec<u8>> {
    let pop: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut line = vec![pop.to_vec(), key.to_vec()];
    line.extend(count.map(|n| n.to_string().into_bytes()));
    line
}

fn wait(ctx: &mut Ctx<'_>, deadline_ms: u64, keys: &[&[u8]]) {
    ctx.block_on(BlockRequest { deadline_ms, watch: keys.iter().map(|k| k.to_vec()).collect(), extra: Vec::new(), args: None });
}

fn pop_one(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) {
    let deadline = match parse_timeout(args.get(args.len() - 1), ctx.now_ms) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    match pop_first(ctx, &keys, max, 1) {
        Err(e) => ctx.out.error(e),
        Ok(None) => wait(ctx, deadline, &keys),
        Ok(Some((i, items))) => {
            report_zpop(ctx, keys[i], max, 1);
            ctx.propagate(zpop_line(keys[i], max, None));
            let (member, score) = &items[0];
            ctx.out.array(3);
            ctx.out.bulk(keys[i]);
            ctx.out.bulk(member);
            ctx.out.double(*score);
        }
    }
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop_one(ctx, args, false);
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) {
    pop_one(ctx, args, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let deadline = match parse_timeout(args.get(1), ctx.now_ms) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let numkeys = match parse_i64(args.get(2)) {
        Some(n) if n > 0 && 3 + (n as usize) < args.len() => n as usize,
        Some(n) if n > 0 => return ctx.out.error(errors::SYNTAX),
        _ => return ctx.out.error(errors::ZNUMKEYS_NOT_POSITIVE),
    };
    let where_at = 3 + numkeys;
    let max = if is(args.get(where_at), "MIN") {
        false
    } else if is(args.get(where_at), "MAX") {
        true
    } else {
        return ctx.out.error(errors::SYNTAX);
    };
    let count = match args.len() - where_at - 1 {
        0 => 1,
        2 if is(args.get(where_at + 1), "COUNT") => match parse_i64(args.get(where_at + 2)) {
            Some(n) if n > 0 => n as usize,
            _ => return ctx.out.error(errors::ZCOUNT_NOT_POSITIVE),
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let keys: Vec<&[u8]> = (3..where_at).map(|i| args.get(i)).collect();
    match pop_first(ctx, &keys, max, count) {
        Err(e) => ctx.out.error(e),
        Ok(None) => wait(ctx, deadline, &keys),
        Ok(Some((i, items))) => {
            report_zpop(ctx, keys[i], max, items.len());
            ctx.propagate(zpop_line(keys[i], max, Some(items.len())));
            ctx.out.array(2);
            ctx.out.bulk(keys[i]);
            ctx.out.array(items.len());
            for (member, score) in &items {
                ctx.out.array(2);
                ctx.out.bulk(member);
                ctx.out.double(*score);
            }
        }
    }
}
