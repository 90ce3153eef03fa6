//! Operations over several sorted sets (plain sets count as members scored 1):
//! ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! Sources are read one at a time (each may live on another shard), so the work is
//! an accumulator refined source by source, in the order Redis aggregates in: by
//! increasing size for union and intersection (the first set stays first for a diff).

use crate::commands::effects::{ev, class::ZSET, On::Arg, When::Changed, traits};
use std::cmp::Ordering;

use hashbrown::HashMap;

use crate::commands::zset::{reply_entries, store_zset};
use crate::commands::zset::parse::parse_score;
use crate::commands::{errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::db::Db;
use crate::store::{Keyspace, ValueRef};
use crate::types::set::Set;
use crate::types::zset::ZSet;

const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    route: Route,
    handler: crate::commands::Handler,
    summary: &'static str,
) -> Command {
    Command::new(name, arity, flags, keys, handler).route(route).group("sorted-set").summary(summary)
}

const STORE_KEYS: KeySpec = KeySpec::ONE;
const STORE: Route = Route::KeyPositions(store_keys);
const SOURCES: Route = Route::KeyPositions(source_keys);

pub const COMMANDS: &[Command] = &[
    cmd("zunion", -3, READONLY, KeySpec::NONE, SOURCES, zunion, "Add multiple sorted sets"),
    cmd("zinter", -3, READONLY, KeySpec::NONE, SOURCES, zinter, "Intersect multiple sorted sets"),
    cmd("zdiff", -3, READONLY, KeySpec::NONE, SOURCES, zdiff, "Subtract multiple sorted sets"),
    cmd(
        "zintercard",
        -3,
        READONLY,
        KeySpec::NONE,
        SOURCES,
        zintercard,
        "Intersect multiple sorted sets and return the cardinality of the result",
    ),
    cmd(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        STORE_KEYS,
        STORE,
        zunionstore,
        "Add multiple sorted sets and store the resulting sorted set in a new key",
    ).events(&[ev(ZSET, "zunionstore", Arg(1), Changed)]).traits(traits::STORES),
    cmd(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        STORE_KEYS,
        STORE,
        zinterstore,
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
    ).events(&[ev(ZSET, "zinterstore", Arg(1), Changed)]).traits(traits::STORES),
    cmd(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        STORE_KEYS,
        STORE,
        zdiffstore,
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
    ).events(&[ev(ZSET, "zdiffstore", Arg(1), Changed)]).traits(traits::STORES),
];

/// Keys of `destination numkeys key...`: the destination and the sources.
fn store_keys(args: Args<'_>) -> Option<Vec<usize>> {
    let mut keys = numkeys_positions(args, 2)?;
    keys.insert(0, 1);
    Some(keys)
}

/// Keys of `numkeys key...`.
fn source_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 1)
}

/// Which operation: members in any input, in every input, or in the first only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How the weighted scores of a member found in several inputs combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `value` into `acc` as Redis does (a NaN sum becomes 0; MIN and MAX keep
    /// `acc` when either is NaN).
    fn fold(self, acc: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *acc += value;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => *acc = if value < *acc { value } else { *acc },
            Aggregate::Max => *acc = if value > *acc { value } else { *acc },
        }
    }
}

/// A parsed ZUNION/ZINTER/ZDIFF/ZINTERCARD request.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOpQuery<'a> {
    pub op: SetOp,
    pub keys: Vec<&'a [u8]>,
    pub weights: Vec<f64>,
    pub aggregate: Aggregate,
    pub withscores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    pub limit: usize,
}

/// The numkeys count at `at`, checked as Redis checks it.
fn parse_numkeys(args: Args<'_>, at: usize) -> Result<usize, String> {
    let n = parse_i64(args.get(at)).ok_or_else(|| errors::NOT_INTEGER.to_string())?;
    if n < 1 {
        let name = String::from_utf8_lossy(args.get(0)).to_ascii_lowercase();
        return Err(errors::no_input_keys(&name));
    }
    if n as u64 > (args.len() - at - 1) as u64 {
        return Err(errors::SYNTAX.to_string());
    }
    Ok(n as usize)
}

/// Parses WEIGHTS / AGGREGATE / WITHSCORES / LIMIT after the keys, in Redis's order
/// of checks: what `op`, `store` and `card` (ZINTERCARD) allow.
fn parse_options<'a>(args: Args<'a>, at: usize, op: SetOp, store: bool, card: bool) -> Result<SetOpQuery<'a>, &'static str> {
    let n = parse_i64(args.get(at)).unwrap_or(0) as usize;
    let keys: Vec<&[u8]> = args.from(at + 1).take(n).collect();
    let mut q = SetOpQuery { op, keys, weights: vec![1.0; n], aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    let mut j = at + 1 + n;
    while j < args.len() {
        let (a, remaining) = (args.get(j), args.len() - j);
        let weighted = op != SetOp::Diff && !card;
        if weighted && remaining > n && is(a, "weights") {
            for (i, w) in q.weights.iter_mut().enumerate() {
                *w = parse_score(args.get(j + 1 + i)).ok_or(errors::ZWEIGHT_NOT_FLOAT)?;
            }
            j += 1 + n;
        } else if weighted && remaining >= 2 && is(a, "aggregate") {
            let v = args.get(j + 1);
            q.aggregate = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(errors::SYNTAX);
            };
            j += 2;
        } else if !store && !card && is(a, "withscores") {
            q.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && is(a, "limit") {
            q.limit = match parse_i64(args.get(j + 1)) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(errors::ZLIMIT_NEGATIVE),
            };
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(q)
}

/// A source as these commands see it.
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }
    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => s.contains(member).then_some(1.0),
        }
    }
    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Sorted(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::Plain(s) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        }
    }
}

/// The source under `key`; `count` says whether to count a keyspace hit or miss.
fn source<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64, count: bool) -> Result<Source<'k>, &'static str> {
    let entry = if count { ks.read(key, now_ms) } else { ks.get(key, now_ms) };
    match entry.map(|e| e.value) {
        None => Ok(Source::Missing),
        Some(ValueRef::ZSet(z)) => Ok(Source::Sorted(z)),
        Some(ValueRef::Set(s)) => Ok(Source::Plain(s)),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// Elements with their scores.
type Elements = Vec<(Vec<u8>, f64)>;

/// Checks every source's type (counting keyspace hits and misses), before any option
/// is parsed, as Redis does.
fn check_sources(db: &mut Db<'_>, keys: &[&[u8]], now_ms: u64) -> Result<(), &'static str> {
    for key in keys {
        source(db.ks(key), key, now_ms, true)?;
    }
    Ok(())
}

/// Computes `q`: the resulting elements sorted by (score, member).
pub fn op_setop(db: &mut Db<'_>, q: &SetOpQuery<'_>, now_ms: u64) -> Result<Elements, &'static str> {
    let mut lens = Vec::with_capacity(q.keys.len());
    for key in &q.keys {
        lens.push(source(db.ks(key), key, now_ms, false)?.len());
    }
    let mut order: Vec<usize> = (0..q.keys.len()).collect();
    if q.op != SetOp::Diff {
        order.sort_by_key(|&i| lens[i]);
    }
    if q.op != SetOp::Union && lens[order[0]] == 0 {
        return Ok(Vec::new());
    }
    let weighted = |i: usize, s: f64| {
        let v = q.weights[i] * s;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut acc: HashMap<Vec<u8>, f64, ahash::RandomState> = HashMap::default();
    let first = order[0];
    source(db.ks(q.keys[first]), q.keys[first], now_ms, false)?.for_each(|m, s| {
        acc.insert(m.to_vec(), if q.op == SetOp::Diff { s } else { weighted(first, s) });
    });
    for &i in &order[1..] {
        let src = source(db.ks(q.keys[i]), q.keys[i], now_ms, false)?;
        match q.op {
            SetOp::Union => src.for_each(|m, s| {
                let v = weighted(i, s);
                match acc.get_mut(m) {
                    Some(a) => q.aggregate.fold(a, v),
                    None => {
                        acc.insert(m.to_vec(), v);
                    }
                }
            }),
            SetOp::Inter => acc.retain(|m, a| match src.score(m) {
                Some(s) => {
                    q.aggregate.fold(a, s * q.weights[i]);
                    true
                }
                None => false,
            }),
            SetOp::Diff => acc.retain(|m, _| src.score(m).is_none()),
        }
        if acc.is_empty() && q.op != SetOp::Union {
            break;
        }
    }
    let mut out: Elements = acc.into_iter().collect();
    out.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// Parses a request whose numkeys is at `at` and checks its sources' types.
fn prepare<'a>(ctx: &mut Ctx<'_>, args: Args<'a>, at: usize, op: SetOp, store: bool, card: bool) -> Option<SetOpQuery<'a>> {
    let n = match parse_numkeys(args, at) {
        Ok(n) => n,
        Err(e) => {
            ctx.out.error(&e);
            return None;
        }
    };
    let keys: Vec<&[u8]> = args.from(at + 1).take(n).collect();
    if let Err(e) = check_sources(&mut ctx.db, &keys, ctx.now_ms) {
        ctx.out.error(e);
        return None;
    }
    parse_options(args, at, op, store, card).map_err(|e| ctx.out.error(e)).ok()
}

fn compute_and_reply(ctx: &mut Ctx<'_>, args: Args<'_>, op: SetOp) {
    let Some(q) = prepare(ctx, args, 1, op, false, false) else { return };
    match op_setop(&mut ctx.db, &q, ctx.now_ms) {
        Ok(elements) => reply_entries(&mut ctx.out, elements.iter().map(|(m, s)| (&m[..], *s)), q.withscores),
        Err(e) => ctx.out.error(e),
    }
}

fn compute_and_store(ctx: &mut Ctx<'_>, args: Args<'_>, op: SetOp) {
    let Some(q) = prepare(ctx, args, 2, op, true, false) else { return };
    match op_setop(&mut ctx.db, &q, ctx.now_ms) {
        Ok(elements) => {
            let dst = args.get(1);
            let n = store_zset(ctx.db.ks(dst), dst, ZSet::from_entries(elements));
            ctx.reply_changes(n as i64);
        }
        Err(e) => ctx.out.error(e),
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zunion(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_reply(ctx, args, SetOp::Union);
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_reply(ctx, args, SetOp::Inter);
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_reply(ctx, args, SetOp::Diff);
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
fn zunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_store(ctx, args, SetOp::Union);
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
fn zinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_store(ctx, args, SetOp::Inter);
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    compute_and_store(ctx, args, SetOp::Diff);
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(q) = prepare(ctx, args, 1, SetOp::Inter, false, true) else { return };
    match op_setop(&mut ctx.db, &q, ctx.now_ms) {
        Ok(elements) if q.limit > 0 => ctx.out.int(elements.len().min(q.limit) as i64),
        Ok(elements) => ctx.out.int(elements.len() as i64),
        Err(e) => ctx.out.error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Value, NO_EXPIRE};

    fn zset(pairs: &[(&str, f64)]) -> Value {
        Value::ZSet(ZSet::from_entries(pairs.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s)).collect()))
    }

    fn run(ks: &mut Keyspace, op: SetOp, keys: &[&str], weights: &[f64], aggregate: Aggregate) -> Vec<(String, f64)> {
        let q = SetOpQuery {
            op,
            keys: keys.iter().map(|k| k.as_bytes()).collect(),
            weights: weights.to_vec(),
            aggregate,
            withscores: true,
            limit: 0,
        };
        let mut db = Db::one(0, ks, 1);
        let out = op_setop(&mut db, &q, 0).unwrap();
        out.into_iter().map(|(m, s)| (String::from_utf8(m).unwrap(), s)).collect()
    }

    #[test]
    fn union_inter_diff() {
        let mut ks = Keyspace::new();
        ks.insert(b"a", zset(&[("x", 1.0), ("y", 2.0), ("z", 3.0)]), NO_EXPIRE);
        ks.insert(b"b", zset(&[("y", 10.0), ("z", f64::NEG_INFINITY), ("w", 5.0)]), NO_EXPIRE);
        ks.insert(b"c", zset(&[("z", f64::INFINITY)]), NO_EXPIRE);
        let s = |v: &[(&str, f64)]| v.iter().map(|(m, s)| (m.to_string(), *s)).collect::<Vec<_>>();
        assert_eq!(
            run(&mut ks, SetOp::Union, &["a", "b"], &[1.0, 2.0], Aggregate::Sum),
            s(&[("z", f64::NEG_INFINITY), ("x", 1.0), ("w", 10.0), ("y", 22.0)])
        );
        assert_eq!(run(&mut ks, SetOp::Inter, &["a", "b", "c"], &[1.0; 3], Aggregate::Sum), s(&[("z", 0.0)]));
        assert_eq!(run(&mut ks, SetOp::Inter, &["a", "b"], &[1.0; 2], Aggregate::Max), s(&[("z", 3.0), ("y", 10.0)]));
        assert_eq!(run(&mut ks, SetOp::Diff, &["a", "b"], &[1.0; 2], Aggregate::Sum), s(&[("x", 1.0)]));
        assert_eq!(run(&mut ks, SetOp::Diff, &["a", "a"], &[1.0; 2], Aggregate::Sum), s(&[]));
        assert_eq!(run(&mut ks, SetOp::Inter, &["a", "nosuch"], &[1.0; 2], Aggregate::Sum), s(&[]));
        assert_eq!(run(&mut ks, SetOp::Union, &["nosuch", "c"], &[1.0; 2], Aggregate::Min), s(&[("z", f64::INFINITY)]));
    }
}
