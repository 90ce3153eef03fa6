//! BITFIELD and BITFIELD_RO: signed (i1..i64) and unsigned (u1..u63) integers at any
//! bit offset of a string, read, written and incremented with WRAP, SAT or FAIL
//! overflow, as Redis 7.0 does it.

use crate::commands::bits::parse_bit_offset;
use crate::commands::string::op_get;
use crate::commands::string::range::{max_bulk_len, op_padded_string};
use crate::commands::{errors, is, Ctx};
use crate::resp::parser::parse_i64;
use crate::resp::Args;
use crate::store::Keyspace;

/// What INCRBY and SET do with a value that does not fit the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    Wrap,
    /// Store the nearest limit.
    Sat,
    /// Store nothing and reply nil.
    Fail,
}

/// A field's type: signed or not, and its width in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldType {
    pub signed: bool,
    pub bits: u32,
}

/// One subcommand's operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOp {
    Get,
    /// SET value: replies the old value.
    Set(i64),
    /// INCRBY increment: replies the new value.
    IncrBy(i64),
}

/// One GET, SET or INCRBY, with the OVERFLOW in force where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldCmd {
    pub op: FieldOp,
    pub ty: FieldType,
    pub offset: u64,
    pub overflow: Overflow,
}

// ---------------------------------------------------------------------------------
// Parsing

/// `i<bits>` (1 to 64) or `u<bits>` (1 to 63; a u64 would not fit a RESP integer).
fn parse_type(arg: &[u8]) -> Result<FieldType, &'static str> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(errors::BITFIELD_TYPE),
    };
    // Redis reads the width as a C string: it ends at a NUL byte.
    let width = arg[1..].split(|&b| b == 0).next().unwrap_or_default();
    match parse_i64(width) {
        Some(bits @ 1..=64) if signed || bits < 64 => Ok(FieldType { signed, bits: bits as u32 }),
        _ => Err(errors::BITFIELD_TYPE),
    }
}

fn parse_overflow(arg: &[u8]) -> Result<Overflow, &'static str> {
    [("wrap", Overflow::Wrap), ("sat", Overflow::Sat), ("fail", Overflow::Fail)]
        .into_iter()
        .find(|(name, _)| is(arg, name))
        .map(|(_, o)| o)
        .ok_or(errors::BITFIELD_OVERFLOW)
}

/// The subcommands from argument 2 on, checked left to right as Redis checks them; an
/// offset whose byte reaches `max_len` is refused.
pub fn parse_field_cmds(args: Args<'_>, max_len: u64) -> Result<Vec<FieldCmd>, &'static str> {
    let mut cmds = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let (sub, left) = (args.get(j), args.len() - j - 1);
        let op = if is(sub, "get") && left >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && left >= 3 {
            FieldOp::Set(0)
        } else if is(sub, "incrby") && left >= 3 {
            FieldOp::IncrBy(0)
        } else if is(sub, "overflow") && left >= 1 {
            overflow = parse_overflow(args.get(j + 1))?;
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX);
        };
        let ty = parse_type(args.get(j + 1))?;
        let offset = parse_bit_offset(args.get(j + 2), Some(ty.bits), max_len)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(parse_i64(args.get(j + 3)).ok_or(errors::NOT_INTEGER)?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(parse_i64(args.get(j + 3)).ok_or(errors::NOT_INTEGER)?),
        };
        cmds.push(FieldCmd { op, ty, offset, overflow });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(cmds)
}

// ---------------------------------------------------------------------------------
// Fields of a byte string

/// The `bits` bits from `offset`, most significant first; bits past the end are clear.
fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + bits as u64).fold(0, |value, at| {
        let byte = s.get((at >> 3) as usize).copied().unwrap_or(0);
        (value << 1) | ((byte >> (7 - (at & 7))) & 1) as u64
    })
}

/// [`get_unsigned`] read as a two's complement integer of `bits` bits.
fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(s, offset, bits);
    if bits < 64 && value & (1 << (bits - 1)) != 0 {
        value |= u64::MAX << bits;
    }
    value as i64
}

/// Writes the low `bits` bits of `value` from `offset` (inside `s`).
fn set_bits(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let at = offset + j;
        let mask = 0x80u8 >> (at & 7);
        let byte = &mut s[(at >> 3) as usize];
        if (value >> (bits as u64 - 1 - j)) & 1 != 0 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// Whether `value + incr` leaves an unsigned field of `bits` (< 64) bits: then what
/// WRAP or SAT store instead (FAIL stores nothing). Redis's checks, in its order.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let wrapped = value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat { max } else { wrapped })
    } else if incr < 0 && incr < min_incr {
        Some(if overflow == Overflow::Sat { 0 } else { wrapped })
    } else {
        None
    }
}

/// Whether `value + incr` leaves a signed field of `bits` bits: then what WRAP or SAT
/// store instead. Redis's checks, in its order (they differ for 64-bit fields).
fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let mut sum = (value as u64).wrapping_add(incr as u64);
    if bits < 64 {
        let high = u64::MAX << bits;
        sum = if sum & (1 << (bits - 1)) != 0 { sum | high } else { sum & !high };
    }
    let wrapped = sum as i64;
    let full = bits == 64;
    if value > max || (!full && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat { max } else { wrapped })
    } else if value < min || (!full && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
        Some(if overflow == Overflow::Sat { min } else { wrapped })
    } else {
        None
    }
}

/// Runs one SET or INCRBY on `s`: its reply (None: FAIL overflow, nothing written) and
/// whether the field's bits changed.
fn write_field(s: &mut [u8], cmd: &FieldCmd) -> (Option<i64>, bool) {
    let FieldType { signed, bits } = cmd.ty;
    let (set, n) = match cmd.op {
        FieldOp::Set(v) => (true, v),
        FieldOp::IncrBy(v) => (false, v),
        FieldOp::Get => unreachable!("GET writes nothing"),
    };
    // (old, new, overflowed), all as the field's bits.
    let (old, new, over) = if signed {
        let old = get_signed(s, cmd.offset, bits);
        let (value, incr) = if set { (n, 0) } else { (old, n) };
        let over = signed_overflow(value, incr, bits, cmd.overflow);
        (old as u64, over.unwrap_or(value.wrapping_add(incr)) as u64, over.is_some())
    } else {
        let old = get_unsigned(s, cmd.offset, bits);
        let (value, incr) = if set { (n as u64, 0) } else { (old, n) };
        let over = unsigned_overflow(value, incr, bits, cmd.overflow);
        (old, over.unwrap_or(value.wrapping_add(incr as u64)), over.is_some())
    };
    if over && cmd.overflow == Overflow::Fail {
        return (None, false);
    }
    set_bits(s, cmd.offset, bits, new);
    let reply = if set { old } else { new } as i64;
    (Some(reply), old != new)
}

fn read_field(s: &[u8], cmd: &FieldCmd) -> i64 {
    if cmd.ty.signed {
        get_signed(s, cmd.offset, cmd.ty.bits)
    } else {
        get_unsigned(s, cmd.offset, cmd.ty.bits) as i64
    }
}

// ---------------------------------------------------------------------------------
// Operation on the keyspace

/// BITFIELD: runs `cmds` in order on the string under `key`. Only GETs: a read (a
/// missing key reads as zeros). Any write: the string is first grown with zero bytes to
/// hold the farthest written field (created when missing, even if every write then
/// fails). Returns each reply (None: FAIL overflow) and the number of changes.
pub fn op_bitfield(ks: &mut Keyspace, key: &[u8], cmds: &[FieldCmd], now_ms: u64) -> Result<(Vec<Option<i64>>, u64), &'static str> {
    let writes = cmds.iter().filter(|c| c.op != FieldOp::Get);
    let Some(farthest) = writes.map(|c| c.offset + c.ty.bits as u64 - 1).max() else {
        let s = op_get(ks, key, now_ms)?.unwrap_or_default();
        return Ok((cmds.iter().map(|c| Some(read_field(s, c))).collect(), 0));
    };
    let (s, grew) = op_padded_string(ks, key, (farthest >> 3) as usize + 1, now_ms)?;
    let mut changes = 0;
    let replies = cmds
        .iter()
        .map(|cmd| {
            if cmd.op == FieldOp::Get {
                return Some(read_field(s, cmd));
            }
            let (reply, changed) = write_field(s, cmd);
            changes += (reply.is_some() && (grew || changed)) as u64;
            reply
        })
        .collect();
    Ok((replies, changes))
}

// ---------------------------------------------------------------------------------
// Handlers

/// The shared body of BITFIELD and BITFIELD_RO (`read_only`: only GET is allowed).
fn run(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) {
    let cmds = match parse_field_cmds(args, max_bulk_len(ctx)) {
        Ok(cmds) => cmds,
        Err(e) => return ctx.out.error(e),
    };
    if read_only && cmds.iter().any(|c| c.op != FieldOp::Get) {
        return ctx.out.error(errors::BITFIELD_RO_GET_ONLY);
    }
    let key = args.get(1);
    match op_bitfield(ctx.db.ks(key), key, &cmds, ctx.now_ms) {
        Ok((replies, changes)) => {
            ctx.changed(changes);
            ctx.out.array(replies.len());
            for reply in replies {
                match reply {
                    Some(n) => ctx.out.int(n),
                    None => ctx.out.null(),
                }
            }
        }
        Err(e) => ctx.out.error(e),
    }
}

/// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
/// <SET encoding offset value | INCRBY encoding offset increment> ...]
pub fn bitfield(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, false);
}

/// BITFIELD_RO key [GET encoding offset ...]
pub fn bitfield_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    run(ctx, args, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(op: FieldOp, ty: &str, offset: u64, overflow: Overflow) -> FieldCmd {
        FieldCmd { op, ty: parse_type(ty.as_bytes()).unwrap(), offset, overflow }
    }

    #[test]
    fn types_parse_like_redis() {
        assert_eq!(parse_type(b"i64"), Ok(FieldType { signed: true, bits: 64 }));
        assert_eq!(parse_type(b"u63"), Ok(FieldType { signed: false, bits: 63 }));
        assert_eq!(parse_type(b"i8\0junk"), Ok(FieldType { signed: true, bits: 8 }));
        for bad in [&b"u64"[..], b"i65", b"i0", b"I8", b"u", b"", b"u08", b"u+8", b"s8"] {
            assert_eq!(parse_type(bad), Err(errors::BITFIELD_TYPE), "{bad:?}");
        }
    }

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut s = [0u8; 2];
        set_bits(&mut s, 7, 5, 23);
        assert_eq!(s, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&s, 7, 5), 23);
        assert_eq!(get_signed(&s, 7, 5), -9);
        assert_eq!(get_unsigned(&s, 12, 64), 0);
        set_bits(&mut s, 0, 16, u64::MAX);
        assert_eq!(get_signed(&s, 0, 16), -1);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_overflow(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Wrap), Some(251));
        assert_eq!(unsigned_overflow(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(unsigned_overflow(5, 250, 8, Wrap), None);
        assert_eq!(signed_overflow(127, 1, 8, Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Sat), Some(-128));
        assert_eq!(signed_overflow(1000, 0, 8, Sat), Some(127));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_overflow(-5, i64::MAX, 64, Wrap), None);
    }

    #[test]
    fn bitfield_grows_once_and_counts_changes() {
        let mut ks = Keyspace::new();
        let cmds = [
            field(FieldOp::Set(255), "u8", 8, Overflow::Wrap),
            field(FieldOp::IncrBy(1), "u8", 8, Overflow::Fail),
            field(FieldOp::Get, "i8", 8, Overflow::Wrap),
            field(FieldOp::Get, "u8", 1000, Overflow::Wrap),
        ];
        assert_eq!(op_bitfield(&mut ks, b"k", &cmds, 0), Ok((vec![Some(0), None, Some(-1), Some(0)], 1)));
        assert_eq!(op_get(&mut ks, b"k", 0).unwrap(), Some(&[0u8, 0xff][..]));
        let same = [field(FieldOp::Set(255), "u8", 8, Overflow::Wrap)];
        assert_eq!(op_bitfield(&mut ks, b"k", &same, 0), Ok((vec![Some(255)], 0)));
        let fail = [field(FieldOp::IncrBy(9), "u2", 100, Overflow::Fail)];
        assert_eq!(op_bitfield(&mut ks, b"new", &fail, 0), Ok((vec![None], 0)));
        assert_eq!(op_get(&mut ks, b"new", 0).unwrap().map(<[u8]>::len), Some(13));
        assert_eq!(op_bitfield(&mut ks, b"none", &[field(FieldOp::Get, "u8", 0, Overflow::Wrap)], 0), Ok((vec![Some(0)], 0)));
        assert!(!ks.contains(b"none", 0));
    }
}
