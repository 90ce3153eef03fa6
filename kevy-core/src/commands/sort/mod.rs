//! SORT and SORT_RO, as Redis 7.0's `sortCommandGeneric`: the elements of a list, set
//! or sorted set, by their own value or by weights that BY patterns name, numerically
//! or (ALPHA) by bytes, ASC or DESC, cut by LIMIT, each replaced by what GET patterns
//! name, replied or (SORT ... STORE) stored as a list.
//!
//! The keys a BY or GET pattern names can live on any shard, so a SORT that reads
//! patterns holds every shard (`Route::KeysOrAll`): its reads of the sorted key and of
//! every pattern key happen under one lock, as atomically as in Redis. A plain SORT
//! holds only its key's shard (and STORE's destination's).

mod options;
mod pattern;

use std::cmp::Ordering;

use crate::commands::effects::{class, ev, On, Propagate, When};
use crate::commands::{errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::list::List;
use options::Options;

pub const COMMANDS: &[Command] = &[
    Command::new("sort", -2, WRITE | DENYOOM, KeySpec::ONE, sort)
        .route(Route::KeysOrAll(options::sort_keys, options::sort_spans))
        // Only a STORE of a non-empty result reports changes: its destination is the
        // last key listed. (The `del` of an empty result is signalled by the handler.)
        .events(&[ev(class::LIST, "sortstore", On::LastKey, When::Changed)])
        // Logged as what it stored (DEL and RPUSH of the destination), not as sent: the
        // keys it read may live in other shards' logs.
        .propagate(Propagate::Reported)
        .group("generic")
        .summary("Sort the elements in a list, set or sorted set"),
    Command::new("sort_ro", -2, READONLY, KeySpec::ONE, sort_ro)
        .route(Route::KeysOrAll(options::sort_ro_keys, options::sort_ro_spans))
        .group("generic")
        .summary("Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
];

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination]
fn sort(ctx: &mut Ctx<'_>, args: Args<'_>) {
    sort_generic(ctx, args, false);
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
fn sort_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    sort_generic(ctx, args, true);
}

/// One element being sorted, with what it sorts by.
struct Item {
    element: Vec<u8>,
    /// The numeric weight (0 when the BY key is missing).
    score: f64,
    /// ALPHA BY: the weight's bytes (None when missing, which sorts first).
    by_value: Option<Vec<u8>>,
}

/// How the loaded elements are ordered.
struct Plan<'a> {
    /// False: keep the order they were loaded in (a constant BY).
    sort: bool,
    alpha: bool,
    desc: bool,
    by: Option<&'a [u8]>,
}

fn sort_generic(ctx: &mut Ctx<'_>, args: Args<'_>, readonly: bool) {
    let o = match Options::parse(args, readonly) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let key = args.get(1);
    let now = ctx.now_ms;
    let (elements, plan, range) = match load(ctx.db.ks(key), key, &o, now) {
        Ok(loaded) => loaded,
        Err(e) => return ctx.out.error(e),
    };
    let items = match weigh(ctx, elements, &plan) {
        Some(items) => items,
        None => return ctx.out.error(errors::SORT_NOT_DOUBLE),
    };
    let items = ordered(items, &plan, o.store.is_some());
    let chosen = range.map_or(&items[..0], |(start, end)| &items[start..=end]);
    match o.store {
        Some((_, dest)) => store(ctx, dest, chosen, &o.gets),
        None => reply(ctx, chosen, &o.gets),
    }
}

/// The elements to sort (or, for a constant BY on a list or sorted set, already the
/// LIMIT range in its native order), the plan, and the range of them to output.
type Loaded<'a> = (Vec<Vec<u8>>, Plan<'a>, Option<(usize, usize)>);

/// Reads the sorted key once (a missing key is an empty list; another type is
/// WRONGTYPE) and applies Redis's LIMIT arithmetic.
fn load<'a>(ks: &mut Keyspace, key: &[u8], o: &Options<'a>, now: u64) -> Result<Loaded<'a>, &'static str> {
    let value = ks.read(key, now).map(|e| e.value);
    let len = match value {
        None => 0,
        Some(ValueRef::List(l)) => l.len(),
        Some(ValueRef::Set(s)) => s.len(),
        Some(ValueRef::ZSet(z)) => z.len(),
        Some(_) => return Err(errors::WRONGTYPE),
    };
    let mut plan = Plan { sort: !o.dontsort, alpha: o.alpha, desc: o.desc, by: o.by };
    let is_set = matches!(value, Some(ValueRef::Set(_)));
    if o.dontsort && is_set && o.store.is_some() {
        // A set has no order of its own: what is stored is sorted, so that it is the
        // same on a replica or after a replay (Redis sorts it ALPHA, without BY).
        plan = Plan { sort: true, alpha: true, desc: o.desc, by: None };
    }
    let (start, end) = limits(o.offset, o.count, len as i64);
    let direct = !plan.sort && !is_set;
    let elements = match value {
        None => Vec::new(),
        Some(ValueRef::List(l)) if direct => list_range(l, start, end, o.desc),
        Some(ValueRef::ZSet(z)) if direct => zset_range(z, start, end, o.desc),
        Some(ValueRef::List(l)) => l.iter().map(|e| e.to_vec()).collect(),
        Some(ValueRef::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
        Some(ValueRef::ZSet(z)) => z.iter().map(|(m, _)| m.to_vec()).collect(),
        Some(_) => unreachable!("checked above"),
    };
    // A direct load holds just the range: its output is all of it.
    let range = match direct {
        true => (!elements.is_empty()).then(|| (0, elements.len() - 1)),
        false => (end >= start).then_some((start as usize, end as usize)),
    };
    Ok((elements, plan, range))
}

/// Redis's LIMIT arithmetic: the first and last index to output of `len` elements
/// (`end < start` when none).
fn limits(offset: i64, count: i64, len: i64) -> (i64, i64) {
    let mut start = offset.max(0);
    let mut end = if count < 0 { len - 1 } else { start.saturating_add(count - 1) };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// Elements `start..=end` of a list, counted from the tail toward the head for DESC.
fn list_range(list: &List, start: i64, end: i64, desc: bool) -> Vec<Vec<u8>> {
    if end < start {
        return Vec::new();
    }
    let (start, n) = (start as usize, (end - start + 1) as usize);
    match desc {
        true => list.iter().rev().skip(start).take(n).map(|e| e.to_vec()).collect(),
        false => list.range(start..=start + n - 1).map(|e| e.to_vec()).collect(),
    }
}

/// Members `start..=end` of a sorted set in score order (from the highest for DESC).
fn zset_range(z: &crate::types::zset::ZSet, start: i64, end: i64, desc: bool) -> Vec<Vec<u8>> {
    if end < start {
        return Vec::new();
    }
    let (start, n) = (start as usize, (end - start + 1) as usize);
    let rank = if desc { z.len() - 1 - start } else { start };
    z.iter_from(rank, desc).take(n).map(|(m, _)| m.to_vec()).collect()
}

/// Looks up what each element sorts by. None: a numeric weight is not a number (Redis
/// checks them all before it replies the error; none of that is seen).
fn weigh(ctx: &mut Ctx<'_>, elements: Vec<Vec<u8>>, plan: &Plan<'_>) -> Option<Vec<Item>> {
    let mut bad = false;
    let mut score_of = |bytes: &[u8]| {
        pattern::weight(bytes).unwrap_or_else(|| {
            bad = true;
            0.0
        })
    };
    let mut items = Vec::with_capacity(elements.len());
    for element in elements {
        let mut item = Item { element, score: 0.0, by_value: None };
        match plan.by {
            _ if !plan.sort => {}
            // ALPHA without BY compares the elements themselves.
            None if !plan.alpha => item.score = score_of(&item.element),
            None => {}
            Some(by) => match pattern::lookup(ctx, by, &item.element) {
                Some(value) if !plan.alpha => item.score = score_of(&value),
                value => item.by_value = value,
            },
        }
        items.push(item);
    }
    (!bad).then_some(items)
}

/// The items in the plan's order. Ties keep their loaded order (glibc's qsort, which
/// Redis uses, is a merge sort), except that equal numeric weights order by element.
/// ALPHA compares bytes; a reply (not a STORE) compares them as Redis's `strcoll` in
/// the C locale does, up to the first NUL.
fn ordered(mut items: Vec<Item>, plan: &Plan<'_>, stored: bool) -> Vec<Item> {
    if !plan.sort {
        return items;
    }
    let by_pattern = plan.by.is_some();
    let alpha = |a: &[u8], b: &[u8]| if stored { a.cmp(b) } else { pattern::c_str(a).cmp(pattern::c_str(b)) };
    items.sort_by(|a, b| {
        let order = if !plan.alpha {
            a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.element.cmp(&b.element))
        } else if by_pattern {
            match (&a.by_value, &b.by_value) {
                (Some(x), Some(y)) => alpha(x, y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            }
        } else {
            alpha(&a.element, &b.element)
        };
        if plan.desc {
            order.reverse()
        } else {
            order
        }
    });
    items
}

/// What one output slot holds: the element, or what each GET pattern names for it.
fn outputs(ctx: &mut Ctx<'_>, items: &[Item], gets: &[&[u8]], mut emit: impl FnMut(Option<Vec<u8>>)) {
    for item in items {
        if gets.is_empty() {
            emit(Some(item.element.clone()));
        }
        for get in gets {
            emit(pattern::lookup(ctx, get, &item.element));
        }
    }
}

fn reply(ctx: &mut Ctx<'_>, items: &[Item], gets: &[&[u8]]) {
    let mut values = Vec::with_capacity(items.len() * gets.len().max(1));
    outputs(ctx, items, gets, |v| values.push(v));
    ctx.out.array(values.len());
    for v in values {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
}

/// STORE: the result replaces the destination as a list (without a deadline); an
/// empty result deletes it. A missing GET value is stored as an empty string.
fn store(ctx: &mut Ctx<'_>, dest: &[u8], items: &[Item], gets: &[&[u8]]) {
    let mut list = List::new();
    outputs(ctx, items, gets, |v| list.push_back(&v.unwrap_or_default()));
    let n = list.len();
    let now = ctx.now_ms;
    if n > 0 {
        if ctx.logging() {
            let rpush = [b"RPUSH".to_vec(), dest.to_vec()].into_iter().chain(list.iter().map(|e| e.to_vec())).collect();
            ctx.propagate(vec![b"DEL".to_vec(), dest.to_vec()]);
            ctx.propagate(rpush);
        }
        ctx.db.ks(dest).insert(dest, Value::List(list), NO_EXPIRE);
        ctx.changed(n as u64);
    } else if ctx.db.ks(dest).take(dest, now).is_some() {
        ctx.propagate(vec![b"DEL".to_vec(), dest.to_vec()]);
        ctx.signal(class::GENERIC, "del", dest);
    }
    ctx.out.int(n as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_arithmetic_as_redis() {
        assert_eq!(limits(0, -1, 3), (0, 2));
        assert_eq!(limits(1, 1, 3), (1, 1));
        assert_eq!(limits(-5, -1, 3), (0, 2));
        assert_eq!(limits(5, 2, 3), (2, 1));
        assert_eq!(limits(0, 0, 3), (0, -1));
        assert_eq!(limits(2, i64::MAX, 3), (2, 2));
        assert_eq!(limits(0, -1, 0), (-1, -2));
    }
}
