//! Geo commands: points on a sphere kept in a sorted set, each scored with its 52-bit
//! geohash (see `hash.rs`), as Redis keeps them. GEOADD is ZADD with computed scores;
//! the searches (GEOSEARCH, GEORADIUS and their STORE forms) are in `search.rs`.

pub mod hash;
pub mod search;
pub mod sort;

use crate::commands::effects::{ev, class::ZSET, On::Arg, When::Changed, Propagate};
use crate::commands::zset::{op_zadd, read_zset, AddFlags};
use crate::commands::zset::parse::parse_score;
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec, Route};
use crate::resp::{Args, ReplyWriter};
use hash::{point_score, score_point, LAT_MAX, LAT_MIN, LONG_MAX, LONG_MIN};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::ONE, handler).group("geo").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("geoadd", -5, WRITE | DENYOOM, geoadd, "Add one or more geospatial items in the geospatial index represented using a sorted set")
        .events(&[ev(ZSET, "zadd", Arg(1), Changed)]),
    cmd("geodist", -4, READONLY, geodist, "Returns the distance between two members of a geospatial index"),
    cmd("geohash", -2, READONLY, geohash, "Returns members of a geospatial index as standard geohash strings"),
    cmd("geopos", -2, READONLY, geopos, "Returns longitude and latitude of members of a geospatial index"),
    cmd("georadius", -6, WRITE | DENYOOM, search::georadius, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point")
        .route(Route::KeyPositions(search::georadius_keys))
        .propagate(Propagate::Reported),
    cmd("georadius_ro", -6, READONLY, search::georadius_ro, "A read-only variant for GEORADIUS"),
    cmd("georadiusbymember", -5, WRITE | DENYOOM, search::georadiusbymember, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member")
        .route(Route::KeyPositions(search::georadiusbymember_keys))
        .propagate(Propagate::Reported),
    cmd("georadiusbymember_ro", -5, READONLY, search::georadiusbymember_ro, "A read-only variant for GEORADIUSBYMEMBER"),
    cmd("geosearch", -7, READONLY, search::geosearch, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."),
    Command::new("geosearchstore", -8, WRITE | DENYOOM, KeySpec::new(1, 2, 1), search::geosearchstore)
        .events(&[ev(ZSET, "geosearchstore", Arg(1), Changed)])
        .traits(crate::commands::effects::traits::STORES)
        .group("geo")
        .summary("Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."),
];

// ---------------------------------------------------------------- shared parsing

/// A (longitude, latitude) pair as Redis reads it: two floats inside the storable
/// limits.
pub fn parse_point(long: &[u8], lat: &[u8]) -> Result<[f64; 2], String> {
    let long = parse_score(long).ok_or(errors::NOT_FLOAT)?;
    let lat = parse_score(lat).ok_or(errors::NOT_FLOAT)?;
    if !(LONG_MIN..=LONG_MAX).contains(&long) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(errors::geo_invalid_point(long, lat));
    }
    Ok([long, lat])
}

/// Meters in one `unit` (m, km, ft, mi).
pub fn parse_unit(unit: &[u8]) -> Result<f64, &'static str> {
    const UNITS: [(&str, f64); 4] = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    UNITS.iter().find(|(name, _)| is(unit, name)).map(|&(_, meters)| meters).ok_or(errors::GEO_UNIT)
}

// ---------------------------------------------------------------- replies

/// A distance as Redis sends it: a bulk string with 4 decimals (C's `%.4f`).
pub fn reply_distance(out: &mut ReplyWriter<'_>, d: f64) {
    if d.is_nan() {
        return out.bulk(if d.is_sign_negative() { b"-nan" } else { b"nan" });
    }
    out.bulk(format!("{d:.4}").as_bytes());
}

/// A coordinate as Redis's `addReplyHumanLongDouble` sends it: `%.17Lf` with the
/// trailing zeros dropped, a bulk string in RESP2 and a double in RESP3.
fn reply_coordinate(out: &mut ReplyWriter<'_>, d: f64) {
    let text = format!("{d:.17}");
    let text = crate::resp::float::trim_fraction(&text);
    let text = if text == "-0" { "0" } else { text };
    if out.is_resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// A point as a [longitude, latitude] pair.
pub fn reply_point(out: &mut ReplyWriter<'_>, [long, lat]: [f64; 2]) {
    out.array(2);
    reply_coordinate(out, long);
    reply_coordinate(out, lat);
}

// ---------------------------------------------------------------- GEOADD

/// (score, member) pairs, as ZADD takes them.
type ScoredMembers<'a> = Vec<(f64, &'a [u8])>;

/// Parses `[NX|XX] [CH] long lat member ...` from argument 2 on: the flags and the
/// (score, member) pairs ZADD gets.
fn parse_add(args: Args<'_>) -> Result<(AddFlags, ScoredMembers<'_>), String> {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        match args.get(i) {
            a if is(a, "nx") => f.nx = true,
            a if is(a, "xx") => f.xx = true,
            a if is(a, "ch") => f.ch = true,
            _ => break,
        }
        i += 1;
    }
    let n = args.len() - i;
    // No element at all is ZADD's syntax error, the one GEOADD hands it on to.
    if n % 3 != 0 || (f.nx && f.xx) || n == 0 {
        return Err(errors::SYNTAX.into());
    }
    let mut pairs = Vec::with_capacity(n / 3);
    for at in (i..args.len()).step_by(3) {
        let [long, lat] = parse_point(args.get(at), args.get(at + 1))?;
        let score = point_score(long, lat).ok_or(errors::SYNTAX)?;
        pairs.push((score, args.get(at + 2)));
    }
    Ok((f, pairs))
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
fn geoadd(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (f, pairs) = match parse_add(args) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(&e),
    };
    let key = args.get(1);
    match op_zadd(ctx.db.ks(key), key, f, &pairs, ctx.now_ms) {
        Ok(o) => {
            ctx.changed((o.added + o.updated) as u64);
            ctx.out.int(if f.ch { o.added + o.updated } else { o.added } as i64);
        }
        Err(e) => ctx.out.error(e),
    }
}

// ---------------------------------------------------------------- reads

/// GEODIST key member1 member2 [M|KM|FT|MI]
fn geodist(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => match parse_unit(args.get(4)) {
            Ok(m) => m,
            Err(e) => return ctx.out.error(e),
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let key = args.get(1);
    let set = match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(set)) => set,
        Ok(None) => return ctx.out.null(),
        Err(e) => return ctx.out.error(e),
    };
    let (Some(a), Some(b)) = (set.score(args.get(2)), set.score(args.get(3))) else {
        return ctx.out.null();
    };
    let ([long1, lat1], [long2, lat2]) = (score_point(a), score_point(b));
    reply_distance(&mut ctx.out, hash::distance(long1, lat1, long2, lat2) / to_meters);
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let set = match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(set) => set,
        Err(e) => return ctx.out.error(e),
    };
    let out = &mut ctx.out;
    out.array(args.len() - 2);
    for member in args.from(2) {
        match set.and_then(|s| s.score(member)) {
            Some(score) => out.bulk(&hash::geohash_string(score)),
            None => out.null(),
        }
    }
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    let set = match read_zset(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(set) => set,
        Err(e) => return ctx.out.error(e),
    };
    let out = &mut ctx.out;
    out.array(args.len() - 2);
    for member in args.from(2) {
        match set.and_then(|s| s.score(member)) {
            Some(score) => reply_point(out, score_point(score)),
            None => out.null_array(),
        }
    }
}
