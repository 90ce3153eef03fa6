//! The geo searches: GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and the
//! read-only forms of the last two. One parser and one search serve them all, as in
//! Redis: a shape around a centre, the candidate cells of `hash::Search::cells`, the
//! matches sorted by distance when asked (or when COUNT needs the nearest), then a
//! reply or a sorted set stored at the destination (on any shard: the dispatcher holds
//! every key the command names).

use super::hash::{align52, score_point, Cell, Search, Shape};
use super::sort::{sort_all, sort_first};
use super::{parse_point, parse_unit, reply_distance, reply_point};
use crate::commands::effects::class::{GENERIC, ZSET};
use crate::commands::zset::parse::parse_score;
use crate::commands::zset::{read_zset, store_zset};
use crate::commands::{errors, is, Ctx};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::Keyspace;
use crate::types::zset::ZSet;

/// Which command of the family runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS(_RO) key longitude latitude radius unit ...
    Radius,
    /// GEORADIUSBYMEMBER(_RO) key member radius unit ...
    RadiusByMember,
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE destination source ...
    SearchStore,
}

impl Form {
    /// Where the options start.
    fn first_option(self) -> usize {
        match self {
            Form::Radius => 6,
            Form::RadiusByMember => 5,
            Form::Search => 2,
            Form::SearchStore => 3,
        }
    }
    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Sort {
    #[default]
    None,
    Asc,
    Desc,
}

/// A parsed request. The centre and shape are missing only when the source set is
/// (GEORADIUSBYMEMBER and FROMMEMBER cannot look their member up then).
#[derive(Default)]
struct Query<'a> {
    center: Option<[f64; 2]>,
    shape: Option<Shape>,
    to_meters: f64,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    /// COUNT (0: none).
    count: u64,
    /// ANY: stop collecting at COUNT matches.
    any: bool,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// A match.
struct Point {
    member: Vec<u8>,
    score: f64,
    coord: [f64; 2],
    /// From the centre, in meters.
    dist: f64,
}

// ---------------------------------------------------------------- parsing

/// The position of `member` in `set`, as a search centre.
fn member_point(set: &ZSet, member: &[u8]) -> Result<[f64; 2], String> {
    set.score(member).map(score_point).ok_or_else(|| errors::GEO_MEMBER_UNDECODABLE.into())
}

/// `radius unit`: (radius, meters per unit).
fn parse_radius(radius: &[u8], unit: &[u8]) -> Result<(Shape, f64), String> {
    let r = parse_score(radius).ok_or(errors::GEO_NEED_RADIUS)?;
    if r < 0.0 {
        return Err(errors::GEO_RADIUS_NEGATIVE.into());
    }
    Ok((Shape::Radius(r), parse_unit(unit)?))
}

/// `width height unit`: (box, meters per unit).
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(Shape, f64), String> {
    let width = parse_score(width).ok_or(errors::GEO_NEED_WIDTH)?;
    let height = parse_score(height).ok_or(errors::GEO_NEED_HEIGHT)?;
    if height < 0.0 || width < 0.0 {
        return Err(errors::GEO_BOX_NEGATIVE.into());
    }
    Ok((Shape::Box { width, height }, parse_unit(unit)?))
}

/// What the options seen so far fix about the search's centre and shape.
#[derive(Default)]
struct Seen {
    frommember: bool,
    fromlonlat: bool,
    byradius: bool,
    bybox: bool,
}

/// Reads the arguments before the options (GEORADIUS's centre and radius).
fn parse_fixed<'a>(args: Args<'a>, form: Form, set: Option<&ZSet>, q: &mut Query<'a>) -> Result<(), String> {
    let (center, radius_at) = match form {
        Form::Radius => (parse_point(args.get(2), args.get(3))?, 4),
        // Without a source set there is no member to look up, nor a radius to read.
        Form::RadiusByMember => match set {
            Some(set) => (member_point(set, args.get(2))?, 3),
            None => return Ok(()),
        },
        Form::Search => return Ok(()),
        Form::SearchStore => {
            q.store = Some(args.get(1));
            return Ok(());
        }
    };
    let (shape, to_meters) = parse_radius(args.get(radius_at), args.get(radius_at + 1))?;
    (q.center, q.shape, q.to_meters) = (Some(center), Some(shape), to_meters);
    Ok(())
}

/// Reads the option at `i`; returns how many arguments after it it took.
fn parse_option<'a>(args: Args<'a>, i: usize, form: Form, nostore: bool, set: Option<&ZSet>, q: &mut Query<'a>, seen: &mut Seen) -> Result<usize, String> {
    let a = args.get(i);
    let left = args.len() - i - 1;
    let search = form.is_search();
    let flag = |f: &mut bool| {
        *f = true;
        Ok(0)
    };
    match a {
        _ if is(a, "withdist") => flag(&mut q.withdist),
        _ if is(a, "withhash") => flag(&mut q.withhash),
        _ if is(a, "withcoord") => flag(&mut q.withcoord),
        _ if is(a, "any") => flag(&mut q.any),
        _ if is(a, "asc") => {
            q.sort = Sort::Asc;
            Ok(0)
        }
        _ if is(a, "desc") => {
            q.sort = Sort::Desc;
            Ok(0)
        }
        _ if is(a, "count") && left >= 1 => match parse_i64(args.get(i + 1)) {
            Some(n) if n > 0 => {
                q.count = n as u64;
                Ok(1)
            }
            Some(_) => Err(errors::GEO_COUNT_NOT_POSITIVE.into()),
            None => Err(errors::NOT_INTEGER.into()),
        },
        _ if (is(a, "store") || is(a, "storedist")) && left >= 1 && !nostore && !search => {
            (q.store, q.storedist) = (Some(args.get(i + 1)), is(a, "storedist"));
            Ok(1)
        }
        _ if is(a, "storedist") && form == Form::SearchStore => flag(&mut q.storedist),
        _ if is(a, "frommember") && left >= 1 && search && !seen.fromlonlat => {
            if let Some(set) = set {
                q.center = Some(member_point(set, args.get(i + 1))?);
            }
            seen.frommember = true;
            Ok(1)
        }
        _ if is(a, "fromlonlat") && left >= 2 && search && !seen.frommember => {
            q.center = Some(parse_point(args.get(i + 1), args.get(i + 2))?);
            seen.fromlonlat = true;
            Ok(2)
        }
        _ if is(a, "byradius") && left >= 2 && search && !seen.bybox => {
            (q.shape, q.to_meters) = parse_radius(args.get(i + 1), args.get(i + 2)).map(|(s, m)| (Some(s), m))?;
            seen.byradius = true;
            Ok(2)
        }
        _ if is(a, "bybox") && left >= 3 && search && !seen.byradius => {
            (q.shape, q.to_meters) = parse_box(args.get(i + 1), args.get(i + 2), args.get(i + 3)).map(|(s, m)| (Some(s), m))?;
            seen.bybox = true;
            Ok(3)
        }
        _ => Err(errors::SYNTAX.into()),
    }
}

/// Parses a request of `form` in Redis's order of checks. `set` is the source (its
/// members can be search centres).
fn parse<'a>(args: Args<'a>, form: Form, nostore: bool, set: Option<&ZSet>) -> Result<Query<'a>, String> {
    let mut q = Query::default();
    parse_fixed(args, form, set, &mut q)?;
    let mut seen = Seen::default();
    let mut i = form.first_option();
    while i < args.len() {
        i += 1 + parse_option(args, i, form, nostore, set, &mut q, &mut seen)?;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        return Err(if form == Form::SearchStore { errors::GEOSEARCHSTORE_WITH } else { errors::GEORADIUS_STORE_WITH }.into());
    }
    let name = String::from_utf8_lossy(args.get(0));
    if form.is_search() && !(seen.frommember || seen.fromlonlat) {
        return Err(errors::geo_one_of_from(&name));
    }
    if form.is_search() && !(seen.byradius || seen.bybox) {
        return Err(errors::geo_one_of_by(&name));
    }
    if q.any && q.count == 0 {
        return Err(errors::GEO_ANY_NEEDS_COUNT.into());
    }
    Ok(q)
}

/// The positions of GEORADIUS's keys: the source; what Redis's key specs name (the
/// argument after the first STORE, and after the first STOREDIST: COMMAND GETKEYS
/// shows these); and the destination the handler's own walk over the options finds
/// (the last STORE or STOREDIST), which the command must hold to write it.
fn radius_keys(args: Args<'_>, first_option: usize) -> Vec<usize> {
    let after_first = |word: &str| (first_option..args.len().saturating_sub(1)).find(|&i| is(args.get(i), word)).map(|i| i + 1);
    let mut store = None;
    let mut i = first_option;
    while i < args.len() {
        let a = args.get(i);
        if i + 1 < args.len() {
            if is(a, "count") {
                i += 1;
            } else if is(a, "store") || is(a, "storedist") {
                store = Some(i + 1);
                i += 1;
            }
        }
        i += 1;
    }
    let mut keys = vec![1];
    for at in [after_first("store"), after_first("storedist"), store].into_iter().flatten() {
        if !keys.contains(&at) {
            keys.push(at);
        }
    }
    keys
}

pub fn georadius_keys(args: Args<'_>) -> Option<Vec<usize>> {
    Some(radius_keys(args, Form::Radius.first_option()))
}

pub fn georadiusbymember_keys(args: Args<'_>) -> Option<Vec<usize>> {
    Some(radius_keys(args, Form::RadiusByMember.first_option()))
}

// ---------------------------------------------------------------- searching

/// Appends the members of `set` in `cell` that lie inside `search`, in score order,
/// until `limit` matches (0: no limit) are collected.
fn scan_cell(set: &ZSet, cell: Cell, search: &Search, limit: u64, found: &mut Vec<Point>) {
    let min = align52(cell) as f64;
    let max = align52(Cell { bits: cell.bits + 1, step: cell.step }) as f64;
    let start = set.count_while(|score, _| score < min);
    for (member, score) in set.iter_from(start, false) {
        if score >= max {
            break;
        }
        let coord = score_point(score);
        if let Some(dist) = search.distance_if_within(coord[0], coord[1]) {
            found.push(Point { member: member.to_vec(), score, coord, dist });
            if limit != 0 && found.len() as u64 >= limit {
                break;
            }
        }
    }
}

/// Every member of `set` inside `search` (the first `limit` found, when not 0).
fn members_within(set: &ZSet, search: &Search, limit: u64) -> Vec<Point> {
    let cells = search.cells();
    let mut found = Vec::new();
    // As Redis does, a cell equal to the last one scanned (huge radiuses make some
    // neighbours coincide) is skipped, unless that was the centre's.
    let mut last = 0;
    for (i, &cell) in cells.iter().enumerate() {
        if cell == Cell::default() || (last != 0 && cell == cells[last]) {
            continue;
        }
        if limit != 0 && found.len() as u64 >= limit {
            break;
        }
        scan_cell(set, cell, search, limit, &mut found);
        last = i;
    }
    found
}

/// Runs the search on `src` (None: no such key). Parsing needs the set, to read
/// members' positions.
fn find<'a>(ks: &mut Keyspace, src: &[u8], now_ms: u64, args: Args<'a>, form: Form, nostore: bool) -> Result<(Query<'a>, Option<Vec<Point>>), String> {
    let set = read_zset(ks, src, now_ms)?;
    let q = parse(args, form, nostore, set)?;
    let found = match (set, q.center, q.shape) {
        (Some(set), Some(center), Some(shape)) => {
            let limit = if q.any { q.count } else { 0 };
            Some(members_within(set, &Search { center, shape, to_meters: q.to_meters }, limit))
        }
        _ => None,
    };
    Ok((q, found))
}

/// Redis's comparison of matches by distance.
fn nearer(a: &Point, b: &Point) -> i32 {
    if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    }
}

fn farther(a: &Point, b: &Point) -> i32 {
    -nearer(a, b)
}

/// Sorts the matches as asked (COUNT alone asks for the nearest), with the sorts
/// redis-server uses (see `sort.rs`); returns how many of them the command answers
/// with.
fn order(found: &mut Vec<Point>, q: &Query<'_>) -> usize {
    let returned = match usize::try_from(q.count) {
        Ok(count) if count != 0 => found.len().min(count),
        _ => found.len(),
    };
    let sort = if q.count != 0 && q.sort == Sort::None && !q.any { Sort::Asc } else { q.sort };
    let cmp = match sort {
        Sort::Asc => nearer,
        Sort::Desc => farther,
        Sort::None => return returned,
    };
    if returned == found.len() {
        sort_all(found, cmp);
    } else {
        sort_first(found, returned, cmp);
    }
    returned
}

fn reply(ctx: &mut Ctx<'_>, q: &Query<'_>, mut found: Vec<Point>) {
    let n = order(&mut found, q);
    let options = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    let out = &mut ctx.out;
    out.array(n);
    for p in &found[..n] {
        if options > 0 {
            out.array(options + 1);
        }
        out.bulk(&p.member);
        if q.withdist {
            reply_distance(out, p.dist / q.to_meters);
        }
        if q.withhash {
            out.int(p.score as i64);
        }
        if q.withcoord {
            reply_point(out, p.coord);
        }
    }
}

/// Stores the matches at `dst` (deleting it when there are none); replies with their
/// number. GEORADIUS signals and logs its store itself: its destination is not its
/// first key, so its row cannot declare them.
fn store(ctx: &mut Ctx<'_>, q: &Query<'_>, dst: &[u8], mut found: Vec<Point>, form: Form) {
    let n = order(&mut found, q);
    let mut set = ZSet::new();
    for p in &found[..n] {
        let score = if q.storedist { p.dist / q.to_meters } else { p.score };
        // A distance is NaN only for nearly antipodal points; a set holds no NaN.
        set.insert(&p.member, if score.is_nan() { 0.0 } else { score });
    }
    let lines = if form.is_search() || !ctx.logging() { Vec::new() } else { store_lines(dst, &set) };
    let now = ctx.now_ms;
    let ks = ctx.db.ks(dst);
    let existed = ks.contains(dst, now);
    store_zset(ks, dst, set);
    // GEOSEARCHSTORE's row derives its `del` from "no change"; GEORADIUS, which signals
    // itself, counts deleting its destination as the change it is.
    ctx.changed(n as u64 + u64::from(n == 0 && existed && !form.is_search()));
    if !form.is_search() {
        if n > 0 {
            ctx.signal(ZSET, "georadiusstore", dst);
        } else if existed {
            ctx.signal(GENERIC, "del", dst);
        }
        if n > 0 || existed {
            lines.into_iter().for_each(|line| ctx.propagate(line));
        }
    }
    ctx.out.int(n as i64);
}

/// What the append-only file logs for GEORADIUS's store: DEL, then the set's ZADDs.
fn store_lines(dst: &[u8], set: &ZSet) -> Vec<Vec<Vec<u8>>> {
    const PAIRS_PER_LINE: usize = 128;
    let mut lines = vec![vec![b"DEL".to_vec(), dst.to_vec()]];
    let pairs: Vec<(&[u8], f64)> = set.iter().collect();
    for chunk in pairs.chunks(PAIRS_PER_LINE) {
        let mut line = vec![b"ZADD".to_vec(), dst.to_vec()];
        for &(member, score) in chunk {
            line.push(crate::resp::float::fmt_g17(score).into_bytes());
            line.push(member.to_vec());
        }
        lines.push(line);
    }
    lines
}

fn run(ctx: &mut Ctx<'_>, args: Args<'_>, form: Form, nostore: bool) {
    let src = args.get(if form == Form::SearchStore { 2 } else { 1 });
    let now = ctx.now_ms;
    let (q, found) = match find(ctx.db.ks(src), src, now, args, form, nostore) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(&e),
    };
    match q.store {
        Some(dst) => store(ctx, &q, dst, found.unwrap_or_default(), form),
        None => reply(ctx, &q, found.unwrap_or_default()),
    }
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST]
/// [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key|STOREDIST key]
pub fn georadius(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::Radius, false);
}

/// GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST]
/// [WITHHASH] [COUNT count [ANY]] [ASC|DESC]
pub fn georadius_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::Radius, true);
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key|STOREDIST key]
pub fn georadiusbymember(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::RadiusByMember, false);
}

/// GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC]
pub fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::RadiusByMember, true);
}

/// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
/// BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC]
/// [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::Search, true);
}

/// GEOSEARCHSTORE destination source FROMMEMBER member|FROMLONLAT longitude latitude
/// BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC]
/// [COUNT count [ANY]] [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, Form::SearchStore, true);
}
