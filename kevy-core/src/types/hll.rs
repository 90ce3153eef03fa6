//! HyperLogLog in Redis's own byte layout, so the string moves between kevy and
//! redis-server unchanged: pure functions over the bytes of a string value.
//!
//! Layout (Redis 7.0): a 16-byte header, `HYLL`, one encoding byte (0 dense, 1
//! sparse), three unused bytes, then the cached cardinality as 8 little-endian bytes
//! whose top bit (bit 7 of byte 15) marks the cache stale. The 16384 registers follow:
//! - dense: 6 bits each, packed from the least significant bit of each byte
//!   (12288 bytes);
//! - sparse: run-length opcodes: `00llllll` a run of 1..64 zero registers,
//!   `01llllll llllllll` a run of 1..16384 zero registers, `1vvvvvll` a run of 1..4
//!   registers holding the value 1..32.
//!
//! Each element is hashed with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick
//! the register, the position of the lowest set bit of the remaining 50 (plus one) is
//! the value it offers. The estimate is Ertl's improved estimator over the register
//! histogram, computed as Redis computes it so both return the same numbers.

/// Bits of the hash that pick a register.
pub const P: u32 = 14;
/// The number of registers.
pub const REGISTERS: usize = 1 << P;
/// Hash bits left to count runs in.
const Q: usize = 64 - P as usize;
/// Bits per dense register.
const BITS: usize = 6;
/// The largest dense register value.
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header bytes.
pub const HEADER: usize = 16;
/// The exact length of a dense HLL.
pub const DENSE_SIZE: usize = HEADER + (REGISTERS * BITS).div_ceil(8);
/// Byte 4: the encoding.
const ENCODING_AT: usize = 4;
/// Bytes 8..16: the cached cardinality.
const CARD_AT: usize = 8;
/// The stale-cache flag in the last cardinality byte.
const STALE_BIT: u8 = 0x80;
/// Redis's seed for the element hash.
const HASH_SEED: u64 = 0xadc8_3b19;

/// Sparse opcode limits.
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// How the registers are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    /// The name PFDEBUG ENCODING replies.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// The bytes are not an HLL at all (WRONGTYPE): too short, wrong magic, unknown
/// encoding, or a dense one of the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotHll;

/// The header is fine but the registers do not add up (INVALIDOBJ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Checks the header as Redis does before any HLL command uses a string.
pub fn validate(bytes: &[u8]) -> Result<Encoding, NotHll> {
    if bytes.len() < HEADER || &bytes[..4] != b"HYLL" {
        return Err(NotHll);
    }
    match bytes[ENCODING_AT] {
        0 if bytes.len() == DENSE_SIZE => Ok(Encoding::Dense),
        1 => Ok(Encoding::Sparse),
        _ => Err(NotHll),
    }
}

fn encoding_of(hll: &[u8]) -> Encoding {
    if hll[ENCODING_AT] == 0 {
        Encoding::Dense
    } else {
        Encoding::Sparse
    }
}

/// An empty sparse HLL with a valid cached cardinality of 0: one long zero run.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = vec![0u8; HEADER];
    hll[..4].copy_from_slice(b"HYLL");
    hll[ENCODING_AT] = 1;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        hll.extend_from_slice(&xzero_op(run));
        left -= run;
    }
    hll
}

/// The cached cardinality, when the cache is not stale.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    if hll[HEADER - 1] & STALE_BIT != 0 {
        return None;
    }
    Some(u64::from_le_bytes(hll[CARD_AT..HEADER].try_into().expect("eight bytes")))
}

/// Stores `count` as the cached cardinality (marking the cache fresh).
pub fn set_cached_count(hll: &mut [u8], count: u64) {
    hll[CARD_AT..HEADER].copy_from_slice(&count.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate_cache(hll: &mut [u8]) {
    hll[HEADER - 1] |= STALE_BIT;
}

// ---------------------------------------------------------------------------------
// Hashing

/// MurmurHash64A (Austin Appleby), reading 8-byte blocks little-endian as Redis does
/// on every platform.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("eight bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the value it offers (1..=51).
pub fn register_and_value(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // A sentinel bit past the Q counted bits bounds the run at Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------
// Dense registers

/// Register `index` of dense register bytes.
pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = registers[byte] as u16 >> shift;
    let high = registers.get(byte + 1).map_or(0, |&b| (b as u16) << (8 - shift));
    ((low | high) as u8) & REGISTER_MAX
}

/// Sets register `index` of dense register bytes to `value` (at most 63).
pub fn dense_set(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let value = value as u16 & REGISTER_MAX as u16;
    let word = (REGISTER_MAX as u16) << shift;
    registers[byte] = (registers[byte] & !(word as u8)) | (value << shift) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next & !((word >> 8) as u8)) | ((value << shift) >> 8) as u8;
    }
}

/// Raises register `index` to `value` when that is higher: whether it changed.
fn dense_raise(registers: &mut [u8], index: usize, value: u8) -> bool {
    if value > dense_get(registers, index) {
        dense_set(registers, index, value);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------
// Sparse opcodes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A run of zero registers; `wide` for the two-byte form.
    Zero { run: usize, wide: bool },
    /// A run of registers holding `value`.
    Val { value: u8, run: usize },
}

impl Op {
    fn run(self) -> usize {
        match self {
            Op::Zero { run, .. } | Op::Val { run, .. } => run,
        }
    }
    fn width(self) -> usize {
        match self {
            Op::Zero { wide: true, .. } => 2,
            _ => 1,
        }
    }
}

/// The opcode at `at`. A two-byte run cut short by the end reads its second byte as
/// 0, as Redis (whose strings end in a NUL) reads it.
fn op_at(sparse: &[u8], at: usize) -> Op {
    let b = sparse[at];
    if b & 0x80 != 0 {
        Op::Val { value: ((b >> 2) & 0x1f) + 1, run: (b & 0x03) as usize + 1 }
    } else if b & 0x40 != 0 {
        let low = sparse.get(at + 1).copied().unwrap_or(0) as usize;
        Op::Zero { run: (((b & 0x3f) as usize) << 8 | low) + 1, wide: true }
    } else {
        Op::Zero { run: (b & 0x3f) as usize + 1, wide: false }
    }
}

fn val_op(value: u8, run: usize) -> u8 {
    0x80 | (value - 1) << 2 | (run - 1) as u8
}

fn xzero_op(run: usize) -> [u8; 2] {
    let n = run - 1;
    [0x40 | (n >> 8) as u8, (n & 0xff) as u8]
}

/// Appends the shortest zero-run opcode for `run` registers.
fn push_zeros(seq: &mut Vec<u8>, run: usize) {
    if run > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero_op(run));
    } else {
        seq.push((run - 1) as u8);
    }
}

/// Walks the opcodes of a sparse HLL: (first register, opcode) for each.
fn ops(hll: &[u8]) -> impl Iterator<Item = (usize, Op)> + '_ {
    let mut at = HEADER;
    let mut first = 0usize;
    std::iter::from_fn(move || {
        if at >= hll.len() {
            return None;
        }
        let op = op_at(hll, at);
        let start = first;
        at += op.width();
        first = first.saturating_add(op.run());
        Some((start, op))
    })
}

/// Calls `each(index, value)` for every non-zero register of a sparse HLL. Fails when
/// the runs do not cover exactly the registers (runs past the end are not applied).
fn for_each_sparse_value(hll: &[u8], mut each: impl FnMut(usize, u8)) -> Result<(), Corrupt> {
    let mut covered = 0usize;
    for (first, op) in ops(hll) {
        covered = first.saturating_add(op.run());
        if let Op::Val { value, .. } = op {
            if covered <= REGISTERS {
                (first..covered).for_each(|i| each(i, value));
            }
        }
    }
    if covered == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Converts a sparse HLL to dense in place, keeping its header (and cached count).
/// Ok(false) when it was dense already.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if encoding_of(hll) == Encoding::Dense {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HEADER].copy_from_slice(&hll[..HEADER]);
    dense[ENCODING_AT] = 0;
    for_each_sparse_value(hll, |i, v| dense_set(&mut dense[HEADER..], i, v))?;
    *hll = dense;
    Ok(true)
}

/// Where register `index` lies in a sparse HLL: (byte offset, first register, opcode)
/// of the opcode covering it, and the offset of the opcode before it.
fn find_op(hll: &[u8], index: usize) -> Option<(usize, usize, Op, Option<usize>)> {
    let (mut at, mut first, mut prev) = (HEADER, 0usize, None);
    while at < hll.len() {
        let op = op_at(hll, at);
        if index < first + op.run() {
            return Some((at, first, op, prev));
        }
        prev = Some(at);
        at += op.width();
        first += op.run();
    }
    None
}

/// Raises register `index` of a sparse HLL to `value`, promoting it to dense when the
/// value does not fit a sparse opcode or the string would grow past `max_bytes`.
/// Whether the register changed.
fn sparse_raise(hll: &mut Vec<u8>, index: usize, value: u8, max_bytes: u64) -> Result<bool, Corrupt> {
    if value > VAL_MAX_VALUE {
        return promote_and_raise(hll, index, value);
    }
    let (at, first, op, prev) = find_op(hll, index).ok_or(Corrupt)?;
    match op {
        Op::Val { value: old, .. } if old >= value => return Ok(false),
        Op::Val { run: 1, .. } | Op::Zero { run: 1, wide: false } => hll[at] = val_op(value, 1),
        _ => {
            let seq = split_run(op, first, index, value);
            let grows = seq.len() as i64 - op.width() as i64;
            if grows > 0 && hll.len() as u64 + grows as u64 > max_bytes {
                return promote_and_raise(hll, index, value);
            }
            // A two-byte run cut short by the end (a corrupt string) is replaced as
            // if whole, so the result is one byte shorter: what Redis leaves too.
            let missing = (at + op.width()).saturating_sub(hll.len());
            hll.splice(at..at + op.width() - missing, seq);
            hll.truncate(hll.len() - missing);
        }
    }
    merge_equal_runs(hll, prev.unwrap_or(HEADER));
    invalidate_cache(hll);
    Ok(true)
}

/// The opcodes that replace run `op` (starting at register `first`) once register
/// `index` in it holds `value`: the part before, the register, the part after.
fn split_run(op: Op, first: usize, index: usize, value: u8) -> Vec<u8> {
    let last = first + op.run() - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Zero { .. } => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(value, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Op::Val { value: old, .. } => {
            if index != first {
                seq.push(val_op(old, index - first));
            }
            seq.push(val_op(value, 1));
            if index != last {
                seq.push(val_op(old, last - index));
            }
        }
    }
    seq
}

/// Joins neighbouring value runs of the same value, looking at up to five opcodes
/// from `from` (the opcode before the change): the shape Redis leaves.
fn merge_equal_runs(hll: &mut Vec<u8>, from: usize) {
    let mut at = from;
    let mut budget = 5;
    while at < hll.len() && budget > 0 {
        budget -= 1;
        let op = op_at(hll, at);
        if let (Op::Val { value, run }, Some(&next)) = (op, hll.get(at + 1)) {
            if let Op::Val { value: next_value, run: next_run } = op_at(&[next], 0) {
                if value == next_value && run + next_run <= VAL_MAX_LEN {
                    hll[at + 1] = val_op(value, run + next_run);
                    hll.remove(at);
                    continue;
                }
            }
        }
        at += op.width();
    }
}

fn promote_and_raise(hll: &mut Vec<u8>, index: usize, value: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    Ok(dense_raise(&mut hll[HEADER..], index, value))
}

// ---------------------------------------------------------------------------------
// The operations

/// Raises register `index` to `value` in either encoding. Whether it changed.
/// `max_bytes` is `hll-sparse-max-bytes`.
pub fn raise(hll: &mut Vec<u8>, index: usize, value: u8, max_bytes: u64) -> Result<bool, Corrupt> {
    match encoding_of(hll) {
        Encoding::Dense => Ok(dense_raise(&mut hll[HEADER..], index, value)),
        Encoding::Sparse => sparse_raise(hll, index, value, max_bytes),
    }
}

/// Would adding any of `elements` change a register? (Read only: a command that
/// changes nothing must not write, not even for WATCH.) True also when the registers
/// cannot be read, so that the write reports the corruption.
pub fn raises_any<'a>(hll: &[u8], mut elements: impl Iterator<Item = &'a [u8]>) -> bool {
    elements.any(|element| {
        let (index, value) = register_and_value(element);
        match encoding_of(hll) {
            Encoding::Dense => value > dense_get(&hll[HEADER..], index),
            Encoding::Sparse => match find_op(hll, index) {
                Some((_, _, Op::Val { value: old, .. }, _)) => value > old,
                Some((_, _, Op::Zero { .. }, _)) | None => true,
            },
        }
    })
}

/// Adds one element: whether a register changed. The cache is left to the caller for
/// dense HLLs (PFADD invalidates it once at the end, as Redis does).
pub fn add(hll: &mut Vec<u8>, element: &[u8], max_bytes: u64) -> Result<bool, Corrupt> {
    let (index, value) = register_and_value(element);
    raise(hll, index, value, max_bytes)
}

/// Raises each of `max` (one byte per register) to the HLL's registers.
pub fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    match encoding_of(hll) {
        Encoding::Dense => {
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(&hll[HEADER..], i));
            }
            Ok(())
        }
        Encoding::Sparse => for_each_sparse_value(hll, |i, v| max[i] = max[i].max(v)),
    }
}

/// Every register's value (PFDEBUG GETREG).
pub fn registers(hll: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut max = Box::new([0u8; REGISTERS]);
    merge_into(&mut max, hll)?;
    Ok(max.to_vec())
}

/// The sparse opcodes as PFDEBUG DECODE shows them: `z:N` and `Z:N` zero runs,
/// `v:VALUE,N` value runs, separated by spaces.
pub fn decode_sparse(hll: &[u8]) -> String {
    let words: Vec<String> = ops(hll)
        .map(|(_, op)| match op {
            Op::Zero { run, wide: false } => format!("z:{run}"),
            Op::Zero { run, wide: true } => format!("Z:{run}"),
            Op::Val { value, run } => format!("v:{value},{run}"),
        })
        .collect();
    words.join(" ")
}

/// The estimated cardinality, from the registers (the cache is not consulted). A
/// sparse HLL whose runs do not cover the registers exactly is corrupt.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u64; 64];
    match encoding_of(hll) {
        Encoding::Dense => (0..REGISTERS).for_each(|i| histogram[dense_get(&hll[HEADER..], i) as usize] += 1),
        Encoding::Sparse => {
            let mut covered = 0usize;
            for (first, op) in ops(hll) {
                let value = if let Op::Val { value, .. } = op { value } else { 0 };
                histogram[value as usize] += op.run() as u64;
                covered = first.saturating_add(op.run());
            }
            if covered != REGISTERS {
                return Err(Corrupt);
            }
        }
    }
    Ok(estimate(&histogram))
}

/// The estimated cardinality of one byte per register (a union in progress).
pub fn count_registers(max: &[u8; REGISTERS]) -> u64 {
    let mut histogram = [0u64; 64];
    max.iter().for_each(|&v| histogram[v as usize] += 1);
    estimate(&histogram)
}

/// Ertl's estimator ("New cardinality estimation algorithms for HyperLogLog
/// sketches", 2017) over how many registers hold each value, with the same order of
/// floating-point operations as Redis 7.0 so the rounded results agree.
fn estimate(histogram: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q + 1] as f64) / m);
    for &n in histogram[1..=Q].iter().rev() {
        z += n as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    // 1 / (2 ln 2), the limit of alpha for many registers.
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    (ALPHA_INF * m * m / z).round() as u64
}

/// Ertl's sigma: x + sum over k of x^(2^k) 2^(k-1), to convergence.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's tau: (1 - x - sum over k of (1 - x^(2^-k))^2 2^-k) / 3, to convergence.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
#[path = "hll_tests.rs"]
mod tests;
