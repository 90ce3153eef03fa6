//! HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST. An HLL is a string
//! in Redis's byte layout (`types::hll`), so GET/SET, DUMP and RDB files carry it to
//! and from redis-server unchanged. PFCOUNT and PFMERGE take keys on any shards (the
//! dispatcher locks them together); the union is built one source at a time.

mod selftest;

use std::sync::atomic::Ordering;

use crate::commands::effects::{ev, class::STRING, On::Arg, When::{Always, Changed}};
use crate::commands::set::Keyspaces;
use crate::commands::{errors, flags::*, is, Command, Ctx, KeySpec};
use crate::resp::Args;
use crate::store::{Keyspace, Value, ValueRef, NO_EXPIRE};
use crate::types::hll::{self, Encoding, REGISTERS};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, keys, handler).group("hyperloglog").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("pfadd", -2, WRITE | DENYOOM | FAST, KeySpec::ONE, pfadd, "Adds the specified elements to the specified HyperLogLog.").events(&[ev(STRING, "pfadd", Arg(1), Changed)]),
    // A read that may refresh the cached cardinality in the string (not logged: the
    // cache is recomputed after a replay); read-only scripts refuse it, as Redis.
    cmd("pfcount", -2, READONLY | MAY_REPLICATE, KeySpec::ALL, pfcount, "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."),
    // Redis signals `pfadd` for a merge too: it is a mass add.
    cmd("pfmerge", -2, WRITE | DENYOOM, KeySpec::ALL, pfmerge, "Merge N different HyperLogLogs into a single one.").events(&[ev(STRING, "pfadd", Arg(1), Always)]),
    cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, KeySpec::new(2, 2, 1), pfdebug, "Internal commands for debugging HyperLogLog values"),
    cmd("pfselftest", 1, ADMIN, KeySpec::NONE, pfselftest, "An internal command for testing HyperLogLog values"),
];

/// Registers of a union in progress, one byte each.
type Registers = Box<[u8; REGISTERS]>;

// ---------------------------------------------------------------------------------
// Operations on the keyspace

/// Checks that a looked-up value is an HLL: Ok(None) for a missing key.
fn as_hll(value: Option<ValueRef<'_>>) -> Result<Option<(&[u8], Encoding)>, &'static str> {
    match value {
        None => Ok(None),
        Some(ValueRef::Str(s)) => hll::validate(s).map(|e| Some((s, e))).map_err(|_| errors::HLL_WRONGTYPE),
        Some(_) => Err(errors::WRONGTYPE),
    }
}

/// The HLL under `key` for a change. Err(None) when the key is missing.
fn existing_for_write<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<&'k mut Vec<u8>, Option<&'static str>> {
    as_hll(ks.get(key, now_ms).map(|e| e.value))?.ok_or(None)?;
    match ks.get_mut(key, now_ms) {
        Some(Value::Str(s)) => Ok(s),
        _ => unreachable!("an HLL string is under the key"),
    }
}

/// The HLL under `key` for a change, created empty when missing; true when created.
fn hll_for_write<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<(&'k mut Vec<u8>, bool), &'static str> {
    let created = as_hll(ks.get(key, now_ms).map(|e| e.value))?.is_none();
    if created {
        ks.insert(key, Value::Str(hll::new_sparse()), NO_EXPIRE);
    }
    let hll = existing_for_write(ks, key, now_ms).map_err(|e| e.unwrap_or(errors::HLL_CORRUPT))?;
    Ok((hll, created))
}

/// Adds `elements` to the HLL under `key` (created when missing): how many changes
/// were made (creating the key counts as one). `max_bytes`: `hll-sparse-max-bytes`.
/// An HLL that none of them changes is not written.
pub fn op_add(ks: &mut Keyspace, key: &[u8], elements: &[&[u8]], max_bytes: u64, now_ms: u64) -> Result<u64, &'static str> {
    if let Some((hll, _)) = as_hll(ks.get(key, now_ms).map(|e| e.value))? {
        if !hll::raises_any(hll, elements.iter().copied()) {
            return Ok(0);
        }
    }
    let (hll, created) = hll_for_write(ks, key, now_ms)?;
    let mut updated = created as u64;
    for element in elements {
        updated += hll::add(hll, element, max_bytes).map_err(|_| errors::HLL_CORRUPT)? as u64;
    }
    if updated > 0 {
        hll::invalidate_cache(hll);
    }
    Ok(updated)
}

/// The cardinality of one HLL, from its cache or computed (and then cached).
pub fn op_count(ks: &mut Keyspace, key: &[u8], now_ms: u64) -> Result<u64, &'static str> {
    let Some((hll, _)) = as_hll(ks.get(key, now_ms).map(|e| e.value))? else { return Ok(0) };
    if let Some(cached) = hll::cached_count(hll) {
        return Ok(cached);
    }
    let count = hll::count(hll).map_err(|_| errors::HLL_CORRUPT)?;
    if let Ok(hll) = existing_for_write(ks, key, now_ms) {
        hll::set_cached_count(hll, count);
    }
    Ok(count)
}

/// The registers of the union of the HLLs under `keys` (missing keys are empty), and
/// whether any of them is dense. Each key is looked up as a read.
fn union<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<(Registers, bool), &'static str> {
    let mut max: Registers = Box::new([0; REGISTERS]);
    let mut any_dense = false;
    for &key in keys {
        let Some((hll, encoding)) = as_hll(db.ks(key).read(key, now_ms).map(|e| e.value))? else { continue };
        any_dense |= encoding == Encoding::Dense;
        hll::merge_into(&mut max, hll).map_err(|_| errors::HLL_CORRUPT)?;
    }
    Ok((max, any_dense))
}

/// The cardinality of the union of the HLLs under `keys`.
pub fn op_count_union<K: Keyspaces>(db: &mut K, keys: &[&[u8]], now_ms: u64) -> Result<u64, &'static str> {
    Ok(hll::count_registers(&union(db, keys, now_ms)?.0))
}

/// Merges the HLLs under `keys` (the destination `keys[0]` among them) into the
/// destination, created when missing; it turns dense when any input is.
pub fn op_merge<K: Keyspaces>(db: &mut K, keys: &[&[u8]], max_bytes: u64, now_ms: u64) -> Result<(), &'static str> {
    let (max, any_dense) = union(db, keys, now_ms)?;
    let dest = keys[0];
    let (hll, _) = hll_for_write(db.ks(dest), dest, now_ms)?;
    if any_dense {
        hll::to_dense(hll).map_err(|_| errors::HLL_CORRUPT)?;
    }
    for (index, &value) in max.iter().enumerate().filter(|(_, &v)| v != 0) {
        // The destination was checked as a source: raising its registers cannot fail.
        let _ = hll::raise(hll, index, value, max_bytes);
    }
    hll::invalidate_cache(hll);
    Ok(())
}

// ---------------------------------------------------------------------------------
// Handlers

fn sparse_max_bytes(ctx: &Ctx<'_>) -> u64 {
    ctx.shared.config().hll_sparse_max_bytes.load(Ordering::Relaxed)
}

/// PFADD key [element [element ...]]
fn pfadd(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (key, max_bytes) = (args.get(1), sparse_max_bytes(ctx));
    let elements: Vec<&[u8]> = args.from(2).collect();
    match op_add(ctx.db.ks(key), key, &elements, max_bytes, ctx.now_ms) {
        Ok(updated) => ctx.reply_changes(updated.min(1) as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// PFCOUNT key [key ...]
fn pfcount(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let result = if args.len() == 2 {
        let key = args.get(1);
        op_count(ctx.db.ks(key), key, ctx.now_ms)
    } else {
        let keys: Vec<&[u8]> = args.from(1).collect();
        op_count_union(&mut ctx.db, &keys, ctx.now_ms)
    };
    match result {
        Ok(n) => ctx.out.int(n as i64),
        Err(e) => ctx.out.error(e),
    }
}

/// PFMERGE destkey [sourcekey [sourcekey ...]]
fn pfmerge(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let keys: Vec<&[u8]> = args.from(1).collect();
    let max_bytes = sparse_max_bytes(ctx);
    match op_merge(&mut ctx.db, &keys, max_bytes, ctx.now_ms) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// What a PFDEBUG subcommand found.
pub enum Debugged {
    Registers(Vec<u8>),
    Decoded(String),
    Encoding(Encoding),
    Converted(bool),
}

/// PFDEBUG's work on the HLL under `key`. GETREG and TODENSE turn it dense.
pub fn op_debug(ks: &mut Keyspace, key: &[u8], sub: &[u8], now_ms: u64) -> Result<Debugged, String> {
    let encoding = match as_hll(ks.get(key, now_ms).map(|e| e.value)) {
        Ok(Some((_, encoding))) => encoding,
        Ok(None) => return Err(errors::PFDEBUG_NO_KEY.into()),
        Err(e) => return Err(e.into()),
    };
    let corrupt = |_| errors::HLL_CORRUPT.to_string();
    // Only a conversion writes (a dense HLL is left untouched, also for WATCH).
    let mut to_dense = || {
        if encoding == Encoding::Dense {
            return Ok(false);
        }
        match existing_for_write(ks, key, now_ms) {
            Ok(hll) => hll::to_dense(hll).map_err(corrupt),
            Err(_) => Err(errors::HLL_CORRUPT.to_string()),
        }
    };
    if is(sub, "getreg") {
        to_dense()?;
        let Ok(Some((hll, _))) = as_hll(ks.get(key, now_ms).map(|e| e.value)) else { unreachable!("checked above") };
        hll::registers(hll).map(Debugged::Registers).map_err(corrupt)
    } else if is(sub, "todense") {
        to_dense().map(Debugged::Converted)
    } else if is(sub, "encoding") {
        Ok(Debugged::Encoding(encoding))
    } else if is(sub, "decode") {
        if encoding != Encoding::Sparse {
            return Err(errors::PFDEBUG_NOT_SPARSE.into());
        }
        let Ok(Some((hll, _))) = as_hll(ks.get(key, now_ms).map(|e| e.value)) else { unreachable!("checked above") };
        Ok(Debugged::Decoded(hll::decode_sparse(hll)))
    } else {
        Err(errors::unknown_pfdebug_subcommand(sub))
    }
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (sub, key) = (args.get(1), args.get(2));
    match op_debug(ctx.db.ks(key), key, sub, ctx.now_ms) {
        Ok(Debugged::Registers(registers)) => {
            ctx.out.array(registers.len());
            registers.iter().for_each(|&r| ctx.out.int(r as i64));
        }
        Ok(Debugged::Decoded(text)) => ctx.out.bulk(text.as_bytes()),
        Ok(Debugged::Encoding(encoding)) => ctx.out.simple(encoding.name()),
        Ok(Debugged::Converted(converted)) => ctx.out.int(converted as i64),
        Err(e) => ctx.out.error(&e),
    }
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx<'_>, _: Args<'_>) {
    match selftest::run(sparse_max_bytes(ctx)) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1;

    #[test]
    fn add_creates_counts_and_caches() {
        let mut ks = Keyspace::new();
        assert_eq!(op_add(&mut ks, b"h", &[], 3000, NOW), Ok(1));
        assert_eq!(op_add(&mut ks, b"h", &[&b"a"[..], b"b", b"c"], 3000, NOW), Ok(3));
        assert_eq!(op_add(&mut ks, b"h", &[&b"a"[..]], 3000, NOW), Ok(0));
        assert_eq!(op_count(&mut ks, b"h", NOW), Ok(3));
        let Some(ValueRef::Str(bytes)) = ks.get(b"h", NOW).map(|e| e.value) else { panic!("a string") };
        assert_eq!(hll::cached_count(bytes), Some(3));
        assert_eq!(op_count(&mut ks, b"missing", NOW), Ok(0));
    }

    #[test]
    fn type_errors_and_corruption() {
        let mut ks = Keyspace::new();
        ks.insert(b"s", Value::Str(b"not an hll".to_vec()), NO_EXPIRE);
        ks.insert(b"l", Value::List(Default::default()), NO_EXPIRE);
        assert_eq!(op_add(&mut ks, b"s", &[], 3000, NOW), Err(errors::HLL_WRONGTYPE));
        assert_eq!(op_count(&mut ks, b"l", NOW), Err(errors::WRONGTYPE));
        let mut bad = hll::new_sparse();
        bad.extend_from_slice(b"hello");
        hll::invalidate_cache(&mut bad);
        ks.insert(b"bad", Value::Str(bad), NO_EXPIRE);
        assert_eq!(op_count(&mut ks, b"bad", NOW), Err(errors::HLL_CORRUPT));
        assert_eq!(op_merge(&mut ks, &[b"d", b"bad"], 3000, NOW), Err(errors::HLL_CORRUPT));
        assert!(!ks.contains(b"d", NOW));
    }

    #[test]
    fn merge_and_union_agree() {
        let mut ks = Keyspace::new();
        op_add(&mut ks, b"a", &[&b"1"[..], b"2", b"3"], 3000, NOW).unwrap();
        op_add(&mut ks, b"b", &[&b"3"[..], b"4"], 3000, NOW).unwrap();
        assert_eq!(op_count_union(&mut ks, &[b"a", b"b", b"nokey"], NOW), Ok(4));
        op_merge(&mut ks, &[b"d", b"a", b"b"], 3000, NOW).unwrap();
        assert_eq!(op_count(&mut ks, b"d", NOW), Ok(4));
    }
}
