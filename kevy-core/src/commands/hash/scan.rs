//! The hash commands that sample or walk a hash: HRANDFIELD and HSCAN.


use crate::commands::hash::{cmd, hash_of};
use crate::commands::keys::scan::{parse_cursor, ScanOptions, ScanOver};
use crate::commands::{errors, flags::*, is, Command, Ctx};
use crate::random::{pick_distinct, random_below};
use crate::resp::parser::parse_i64;
use crate::resp::{Args, ReplyWriter};
use crate::types::hash::{Hash, Positions};

pub const COMMANDS: &[Command] = &[
    cmd("hrandfield", -2, READONLY, hrandfield, "Get one or multiple random fields from a hash"),
    cmd("hscan", -3, READONLY, hscan, "Incrementally iterate hash fields and associated values"),
];

/// kevy's bound on HRANDFIELD's repetition count (a negative count): Redis has none
/// and runs out of memory building the reply.
const MAX_REPEATED: i64 = i32::MAX as i64;

// ---------------------------------------------------------------------------------
// Random picks

/// Writes the `n` entries at `picks`: fields, or with values (field/value pairs, flat
/// in RESP2 and one two-element array each in RESP3, as Redis 7.0).
fn reply_picks(out: &mut ReplyWriter<'_>, entries: &Positions<'_>, n: usize, picks: impl Iterator<Item = usize>, with_values: bool) {
    let nested = with_values && out.is_resp3();
    out.array(if with_values && !nested { n * 2 } else { n });
    for i in picks {
        let (field, value) = entries.at(i);
        if nested {
            out.array(2);
        }
        out.bulk(field);
        if with_values {
            out.bulk(value);
        }
    }
}

/// Checks HRANDFIELD's `count [WITHVALUES]` in Redis's order: the count, then the
/// option, then the bounds of a count with values. Returns (count, with values).
fn parse_count(args: Args<'_>) -> Result<(i64, bool), &'static str> {
    let count = parse_i64(args.get(2)).ok_or(errors::NOT_INTEGER)?;
    if count == i64::MIN {
        return Err(errors::LONG_RANGE);
    }
    let with_values = match args.opt(3) {
        None => false,
        Some(opt) if args.len() == 4 && is(opt, "withvalues") => true,
        Some(_) => return Err(errors::SYNTAX),
    };
    if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err(errors::OUT_OF_RANGE);
    }
    if count < -MAX_REPEATED {
        return Err(errors::HRANDFIELD_TOO_MANY);
    }
    Ok((count, with_values))
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    if args.len() == 2 {
        return match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
            Ok(Some(h)) => {
                let entries = h.positions();
                ctx.out.bulk(entries.at(random_below(entries.len())).0);
            }
            Ok(None) => ctx.out.null(),
            Err(e) => ctx.out.error(e),
        };
    }
    let (count, with_values) = match parse_count(args) {
        Ok(parsed) => parsed,
        Err(e) => return ctx.out.error(e),
    };
    let hash = match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(h)) if count != 0 => h,
        Ok(_) => return ctx.out.array(0),
        Err(e) => return ctx.out.error(e),
    };
    let entries = hash.positions();
    let len = entries.len();
    if count < 0 {
        // Repetitions allowed: each pick drawn as the reply is written.
        let n = count.unsigned_abs() as usize;
        reply_picks(&mut ctx.out, &entries, n, (0..n).map(|_| random_below(len)), with_values);
    } else {
        let picks = pick_distinct(len, count as usize, random_below);
        reply_picks(&mut ctx.out, &entries, picks.len(), picks.into_iter(), with_values);
    }
}

// ---------------------------------------------------------------------------------
// HSCAN

/// A field and its value, borrowed from a hash.
pub type Pair<'h> = (&'h [u8], &'h [u8]);

/// One HSCAN step: the (field, value) pairs visited from `cursor` whose field matches
/// `pattern`, and the next cursor.
pub fn op_hscan<'h>(hash: &'h Hash, cursor: u64, pattern: Option<&[u8]>, count: usize) -> (Vec<Pair<'h>>, u64) {
    let mut found = Vec::new();
    let next = hash.scan(cursor, count, |f, v| found.push((f, v)));
    if let Some(p) = pattern {
        found.retain(|(f, _)| crate::glob::matches(p, f, false));
    }
    (found, next)
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(cursor) = parse_cursor(args.get(2)) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let key = args.get(1);
    let hash = match hash_of(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(h)) => h,
        Ok(None) => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            return ctx.out.array(0);
        }
        Err(e) => return ctx.out.error(e),
    };
    let opts = match ScanOptions::parse(args, 3, ScanOver::Value) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let (found, next) = op_hscan(hash, cursor, opts.pattern, opts.count);
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len() * 2);
    for (f, v) in found {
        ctx.out.bulk(f);
        ctx.out.bulk(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hscan_filters_by_field() {
        let mut h = Hash::new();
        for (f, v) in [("apple", "1"), ("banana", "2"), ("avocado", "3")] {
            h.insert(f.as_bytes(), v.as_bytes());
        }
        let (found, next) = op_hscan(&h, 0, Some(b"a*"), 1);
        assert_eq!(next, 0);
        assert_eq!(found, [(&b"apple"[..], &b"1"[..]), (&b"avocado"[..], &b"3"[..])]);
        for i in 0..600 {
            h.insert(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding_name(), "hashtable");
        let (mut cursor, mut total) = (0, 0);
        loop {
            let (found, next) = op_hscan(&h, cursor, Some(b"f1*"), 20);
            total += found.len();
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(total, 111); // f1, f10..f19, f100..f199
    }
}
