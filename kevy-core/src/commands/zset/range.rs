//! Sorted-set ranges: ZRANGE in all its forms (by rank, score or member, reversed,
//! limited), ZRANGESTORE, ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* commands.
//!
//! Every range resolves to a [`Span`] of ranks in O(log n); the reply then walks the
//! skiplist from its first element.

use crate::commands::effects::{ev, class::ZSET, On::Arg, When::Changed, traits};
use crate::commands::zset::{read_zset, reply_entries, store_zset, write_zset};
use crate::commands::zset::parse::{LexRange, ScoreRange};
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::Keyspace;
use crate::types::zset::{ZSet, LISTPACK_MAX_ENTRIES};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("sorted-set").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("zrange", -4, READONLY, zrange, "Return a range of members in a sorted set"),
    Command::new("zrangestore", -5, WRITE | DENYOOM, KeySpec::new(1, 2, 1), zrangestore).events(&[ev(ZSET, "zrangestore", Arg(1), Changed)]).traits(traits::STORES).group("sorted-set").summary("Store a range of members from sorted set into another key"),
    cmd(
        "zrevrange",
        -4,
        READONLY,
        zrevrange,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
    ),
    cmd("zrangebyscore", -4, READONLY, zrangebyscore, "Return a range of members in a sorted set, by score"),
    cmd(
        "zrevrangebyscore",
        -4,
        READONLY,
        zrevrangebyscore,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
    ),
    cmd("zrangebylex", -4, READONLY, zrangebylex, "Return a range of members in a sorted set, by lexicographical range"),
    cmd(
        "zrevrangebylex",
        -4,
        READONLY,
        zrevrangebylex,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
    ),
    cmd("zcount", 4, READONLY | FAST, zcount, "Count the members in a sorted set with scores within the given values"),
    cmd(
        "zlexcount",
        4,
        READONLY | FAST,
        zlexcount,
        "Count the number of members in a sorted set between a given lexicographical range",
    ),
    cmd("zremrangebyrank", 4, WRITE, zremrangebyrank, "Remove all members in a sorted set within the given indexes").events(&[ev(ZSET, "zremrangebyrank", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd("zremrangebyscore", 4, WRITE, zremrangebyscore, "Remove all members in a sorted set within the given scores").events(&[ev(ZSET, "zremrangebyscore", Arg(1), Changed)]).traits(traits::REMOVES),
    cmd(
        "zremrangebylex",
        4,
        WRITE,
        zremrangebylex,
        "Remove all members in a sorted set between the given lexicographical range",
    ).events(&[ev(ZSET, "zremrangebylex", Arg(1), Changed)]).traits(traits::REMOVES),
];

/// What a range selects elements by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeBy<'a> {
    /// Inclusive ranks, negative counting from the end.
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// A parsed ZRANGE-family request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeQuery<'a> {
    pub by: RangeBy<'a>,
    pub reverse: bool,
    pub withscores: bool,
    /// LIMIT's offset (a negative one selects nothing, as in Redis).
    pub offset: i64,
    /// LIMIT's count; negative means no limit.
    pub limit: i64,
}

/// Consecutive ranks: `count` elements from rank `start`, walking down when `reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub count: usize,
    pub reverse: bool,
}

impl Span {
    const EMPTY: Span = Span { start: 0, count: 0, reverse: false };

    /// The elements of the span.
    pub fn iter<'s>(&self, set: &'s ZSet) -> std::iter::Take<crate::types::zset::Iter<'s>> {
        set.iter_from(self.start, self.reverse).take(self.count)
    }
}

/// Inclusive, possibly negative ranks resolved as Redis does: (first, last).
pub fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (start + len).max(0) } else { start };
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

impl RangeQuery<'_> {
    /// The ranks this request selects in `set`.
    pub fn span(&self, set: &ZSet) -> Span {
        let (lo, hi) = match self.by {
            RangeBy::Rank(start, end) => {
                let Some((first, last)) = rank_bounds(start, end, set.len()) else { return Span::EMPTY };
                let start = if self.reverse { set.len() - 1 - first } else { first };
                return Span { start, count: last - first + 1, reverse: self.reverse };
            }
            RangeBy::Score(r) => r.ranks(set),
            RangeBy::Lex(r) => r.ranks(set),
        };
        let skip = match usize::try_from(self.offset) {
            Ok(skip) if skip < hi - lo => skip,
            _ => return Span::EMPTY,
        };
        let mut count = hi - lo - skip;
        if let Ok(limit) = usize::try_from(self.limit) {
            count = count.min(limit);
        }
        let start = if self.reverse { hi - 1 - skip } else { lo + skip };
        Span { start, count, reverse: self.reverse }
    }
}

/// How a ZRANGE-family command was called: which of BYSCORE/BYLEX/REV it fixes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parses `<min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT offset count]` with
/// the key at `key_at`, following Redis's zrangeGenericCommand step by step (its
/// error order included). `store` (ZRANGESTORE) refuses WITHSCORES.
fn parse_range<'a>(args: Args<'a>, key_at: usize, store: bool, mut kind: Kind, rev: Option<bool>) -> Result<RangeQuery<'a>, &'static str> {
    let (mut reverse, mut withscores, mut offset, mut limit) = (rev, false, 0i64, -1i64);
    let mut j = key_at + 3;
    while j < args.len() {
        let a = args.get(j);
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && j + 2 < args.len() {
            offset = parse_i64(args.get(j + 1)).ok_or(errors::NOT_INTEGER)?;
            limit = parse_i64(args.get(j + 2)).ok_or(errors::NOT_INTEGER)?;
            j += 2;
        } else if reverse.is_none() && is(a, "rev") {
            reverse = Some(true);
        } else if kind == Kind::Auto && is(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if limit != -1 && matches!(kind, Kind::Auto | Kind::Rank) {
        return Err(errors::ZRANGE_LIMIT_NEEDS_BY);
    }
    if withscores && kind == Kind::Lex {
        return Err(errors::ZRANGE_WITHSCORES_BYLEX);
    }
    let (mut min, mut max) = (args.get(key_at + 1), args.get(key_at + 2));
    if reverse && matches!(kind, Kind::Score | Kind::Lex) {
        std::mem::swap(&mut min, &mut max);
    }
    let by = match kind {
        Kind::Auto | Kind::Rank => {
            let start = parse_i64(min).ok_or(errors::NOT_INTEGER)?;
            RangeBy::Rank(start, parse_i64(max).ok_or(errors::NOT_INTEGER)?)
        }
        Kind::Score => RangeBy::Score(ScoreRange::parse(min, max).ok_or(errors::ZRANGE_NOT_FLOAT)?),
        Kind::Lex => RangeBy::Lex(LexRange::parse(min, max).ok_or(errors::ZRANGE_NOT_LEX)?),
    };
    Ok(RangeQuery { by, reverse, withscores, offset, limit })
}

/// The set under `key` and the ranks `query` selects in it (None: no such key).
pub fn op_zrange<'k>(ks: &'k mut Keyspace, key: &[u8], query: &RangeQuery<'_>, now_ms: u64) -> Result<Option<(&'k ZSet, Span)>, &'static str> {
    Ok(read_zset(ks, key, now_ms)?.map(|set| (set, query.span(set))))
}

fn range(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind, rev: Option<bool>) {
    let query = match parse_range(args, 1, false, kind, rev) {
        Ok(q) => q,
        Err(e) => return ctx.out.error(e),
    };
    let key = args.get(1);
    match op_zrange(ctx.db.ks(key), key, &query, ctx.now_ms) {
        Ok(Some((set, span))) => reply_entries(&mut ctx.out, span.iter(set), query.withscores),
        Ok(None) => ctx.out.array(0),
        Err(e) => ctx.out.error(e),
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Auto, None);
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Rank, Some(true));
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Score, Some(false));
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Score, Some(true));
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Lex, Some(false));
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    range(ctx, args, Kind::Lex, Some(true));
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let query = match parse_range(args, 2, true, Kind::Auto, None) {
        Ok(q) => q,
        Err(e) => return ctx.out.error(e),
    };
    let (dst, src) = (args.get(1), args.get(2));
    let result = match op_zrange(ctx.db.ks(src), src, &query, ctx.now_ms) {
        Ok(Some((set, span))) => range_copy(set, span, &query),
        Ok(None) => ZSet::new(),
        Err(e) => return ctx.out.error(e),
    };
    let n = store_zset(ctx.db.ks(dst), dst, result);
    ctx.reply_changes(n as i64);
}

/// The span as a new set, built as Redis builds ZRANGESTORE's: element by element in
/// reply order, in a skiplist from the start only when a rank range is known to be big.
fn range_copy(set: &ZSet, span: Span, query: &RangeQuery<'_>) -> ZSet {
    let mut copy = match query.by {
        RangeBy::Rank(..) if span.count > LISTPACK_MAX_ENTRIES => ZSet::skiplist(),
        _ => ZSet::new(),
    };
    for (member, score) in span.iter(set) {
        copy.insert(member, score);
    }
    copy
}

/// Counts the elements of the set under `key` whose ranks `lo..hi` the range gives.
fn count_in(ctx: &mut Ctx<'_>, key: &[u8], ranks: impl Fn(&ZSet) -> (usize, usize)) {
    match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(set) => ctx.out.int(set.map_or(0, |s| {
            let (lo, hi) = ranks(s);
            hi - lo
        }) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// ZCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match ScoreRange::parse(args.get(2), args.get(3)) {
        Some(r) => count_in(ctx, args.get(1), |s| r.ranks(s)),
        None => ctx.out.error(errors::ZRANGE_NOT_FLOAT),
    }
}

/// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match LexRange::parse(args.get(2), args.get(3)) {
        Some(r) => count_in(ctx, args.get(1), |s| r.ranks(s)),
        None => ctx.out.error(errors::ZRANGE_NOT_LEX),
    }
}

/// Removes the elements `by` selects; deletes the key once empty. Returns how many.
pub fn op_zremrange(ks: &mut Keyspace, key: &[u8], by: &RangeBy<'_>, now_ms: u64) -> Result<usize, &'static str> {
    let Some(set) = write_zset(ks, key, now_ms)? else { return Ok(0) };
    let (first, last) = match *by {
        RangeBy::Rank(start, end) => match rank_bounds(start, end, set.len()) {
            Some(b) => b,
            None => return Ok(0),
        },
        RangeBy::Score(r) => r.ranks(set),
        RangeBy::Lex(r) => r.ranks(set),
    };
    let removed = match *by {
        RangeBy::Rank(..) => set.remove_ranks(first, last),
        _ if last > first => set.remove_ranks(first, last - 1),
        _ => 0,
    };
    if set.is_empty() {
        ks.remove(key);
    }
    Ok(removed)
}

fn remrange(ctx: &mut Ctx<'_>, args: Args<'_>, by: Result<RangeBy<'_>, &'static str>) {
    let key = args.get(1);
    match by.and_then(|by| op_zremrange(ctx.db.ks(key), key, &by, ctx.now_ms)) {
        Ok(n) => ctx.reply_changes(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let by = match (parse_i64(args.get(2)), parse_i64(args.get(3))) {
        (Some(start), Some(end)) => Ok(RangeBy::Rank(start, end)),
        _ => Err(errors::NOT_INTEGER),
    };
    remrange(ctx, args, by);
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let by = ScoreRange::parse(args.get(2), args.get(3)).map(RangeBy::Score).ok_or(errors::ZRANGE_NOT_FLOAT);
    remrange(ctx, args, by);
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let by = LexRange::parse(args.get(2), args.get(3)).map(RangeBy::Lex).ok_or(errors::ZRANGE_NOT_LEX);
    remrange(ctx, args, by);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;

    fn set() -> ZSet {
        ZSet::from_entries((0..10).map(|i| (format!("m{i}").into_bytes(), i as f64)).collect())
    }

    fn members(words: &[&str]) -> Result<Vec<String>, &'static str> {
        let owned = OwnedArgs::from_slices(words.iter());
        let q = parse_range(owned.args(), 1, false, Kind::Auto, None)?;
        let s = set();
        let span = q.span(&s);
        Ok(span.iter(&s).map(|(m, _)| String::from_utf8(m.to_vec()).unwrap()).collect())
    }

    #[test]
    fn spans_follow_redis() {
        assert_eq!(members(&["zrange", "k", "0", "2"]).unwrap(), ["m0", "m1", "m2"]);
        assert_eq!(members(&["zrange", "k", "-2", "-1", "rev"]).unwrap(), ["m1", "m0"]);
        assert_eq!(members(&["zrange", "k", "(1", "3", "byscore"]).unwrap(), ["m2", "m3"]);
        assert_eq!(members(&["zrange", "k", "8", "2", "byscore", "rev", "limit", "1", "2"]).unwrap(), ["m7", "m6"]);
        assert_eq!(members(&["zrange", "k", "0", "9", "byscore", "limit", "-1", "2"]).unwrap(), Vec::<String>::new());
        assert_eq!(members(&["zrange", "k", "0", "9", "byscore", "limit", "8", "-5"]).unwrap(), ["m8", "m9"]);
        assert_eq!(members(&["zrange", "k", "[m3", "(m5", "bylex"]).unwrap(), ["m3", "m4"]);
        assert_eq!(members(&["zrange", "k", "0", "1", "limit", "0", "1"]), Err(errors::ZRANGE_LIMIT_NEEDS_BY));
        assert_eq!(members(&["zrange", "k", "-", "+", "bylex", "withscores"]), Err(errors::ZRANGE_WITHSCORES_BYLEX));
        assert_eq!(members(&["zrange", "k", "0", "1", "byscore", "bylex"]), Err(errors::SYNTAX));
        assert_eq!(members(&["zrange", "k", "0", "1", "limit", "1"]), Err(errors::SYNTAX));
        assert_eq!(members(&["zrange", "k", "a", "1", "byscore"]), Err(errors::ZRANGE_NOT_FLOAT));
        assert_eq!(rank_bounds(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(rank_bounds(5, 10, 3), None);
    }

    #[test]
    fn remove_ranges_delete_the_key_when_empty() {
        let mut ks = Keyspace::new();
        ks.insert(b"z", crate::store::Value::ZSet(set()), crate::store::NO_EXPIRE);
        let by = RangeBy::Score(ScoreRange::parse(b"(2", b"4").unwrap());
        assert_eq!(op_zremrange(&mut ks, b"z", &by, 0), Ok(2));
        assert_eq!(op_zremrange(&mut ks, b"z", &RangeBy::Rank(0, 0), 0), Ok(1));
        assert_eq!(op_zremrange(&mut ks, b"z", &RangeBy::Rank(0, -1), 0), Ok(7));
        assert!(ks.get(b"z", 0).is_none());
    }
}
