use super::*;

const MAX_BYTES: u64 = 3000;

fn hll_of<'a>(elements: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut hll = new_sparse();
    for e in elements {
        add(&mut hll, e, MAX_BYTES).unwrap();
    }
    hll
}

fn numbers(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    range.map(|i| i.to_string().into_bytes()).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

#[test]
fn empty_hll_is_redis_bytes() {
    let empty = new_sparse();
    assert_eq!(empty, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
    assert_eq!(validate(&empty), Ok(Encoding::Sparse));
    assert_eq!(cached_count(&empty), Some(0));
    assert_eq!(count(&empty), Ok(0));
}

#[test]
fn murmur_matches_reference_values() {
    // Known outputs of MurmurHash64A (seed 0) and register choices Redis makes.
    assert_eq!(murmur64a(b"", 0), 0);
    let mut hll = new_sparse();
    for e in [&b"a"[..], b"b", b"c"] {
        assert!(add(&mut hll, e, MAX_BYTES).unwrap());
    }
    // redis-server 7.0: PFADD k a b c, then GET k (cache stale).
    assert_eq!(hll, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ");
    assert_eq!(decode_sparse(&hll), "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
    assert!(!add(&mut hll, b"a", MAX_BYTES).unwrap());
}

#[test]
fn sparse_bytes_and_counts_match_redis() {
    // redis-server 7.0: PFADD x 0 .. 999 one at a time, PFCOUNT x, GET x.
    let elements = numbers(0..1000);
    let mut hll = hll_of(elements.iter().map(Vec::as_slice));
    assert_eq!(count(&hll), Ok(1001));
    set_cached_count(&mut hll, 1001);
    assert_eq!(validate(&hll), Ok(Encoding::Sparse));
    assert_eq!((hll.len(), fnv(&hll)), (1923, 0x5149_0756_a435_4f02));
    assert_eq!(cached_count(&hll), Some(1001));
}

#[test]
fn dense_counts_match_redis() {
    // redis-server 7.0: PFADD y with 0 .. 99999, PFCOUNT y: 99565, dense.
    let elements = numbers(0..100_000);
    let hll = hll_of(elements.iter().map(Vec::as_slice));
    assert_eq!(validate(&hll), Ok(Encoding::Dense));
    assert_eq!(hll.len(), DENSE_SIZE);
    assert_eq!(count(&hll), Ok(99565));
}

#[test]
fn dense_registers_round_trip() {
    let mut registers = vec![0u8; DENSE_SIZE - HEADER];
    let value = |i: usize| ((i * 7 + i / 3) % 64) as u8;
    (0..REGISTERS).for_each(|i| dense_set(&mut registers, i, value(i)));
    assert!((0..REGISTERS).all(|i| dense_get(&registers, i) == value(i)));
    (0..REGISTERS).rev().for_each(|i| dense_set(&mut registers, i, 63 - value(i)));
    assert!((0..REGISTERS).all(|i| dense_get(&registers, i) == 63 - value(i)));
}

#[test]
fn sparse_and_dense_agree() {
    let elements = numbers(0..3000);
    let sparse = hll_of(elements.iter().take(200).map(Vec::as_slice));
    let mut dense = new_sparse();
    assert_eq!(to_dense(&mut dense), Ok(true));
    assert_eq!(to_dense(&mut dense), Ok(false));
    for e in elements.iter().take(200) {
        add(&mut dense, e, MAX_BYTES).unwrap();
    }
    assert_eq!(validate(&sparse), Ok(Encoding::Sparse));
    assert_eq!(count(&sparse), count(&dense));
    assert_eq!(registers(&sparse), registers(&dense));
    let mut converted = sparse.clone();
    to_dense(&mut converted).unwrap();
    assert_eq!(converted[HEADER..], dense[HEADER..]);
}

#[test]
fn promotion_follows_max_bytes() {
    let elements = numbers(0..400);
    let mut small = new_sparse();
    for e in &elements {
        add(&mut small, e, 100).unwrap();
    }
    assert_eq!(validate(&small), Ok(Encoding::Dense));
    let big = hll_of(elements.iter().map(Vec::as_slice));
    assert_eq!(validate(&big), Ok(Encoding::Sparse));
    assert!(big.len() as u64 <= MAX_BYTES);
    assert_eq!(count(&small), count(&big));
    // A value above 32 does not fit a sparse opcode.
    let mut hll = new_sparse();
    assert_eq!(raise(&mut hll, 5, 33, MAX_BYTES), Ok(true));
    assert_eq!(validate(&hll), Ok(Encoding::Dense));
    assert_eq!(registers(&hll).unwrap()[5], 33);
}

#[test]
fn merge_takes_the_highest_registers() {
    let (a, b) = (numbers(0..500), numbers(250..800));
    let mut max = Box::new([0u8; REGISTERS]);
    merge_into(&mut max, &hll_of(a.iter().map(Vec::as_slice))).unwrap();
    let mut dense_b = hll_of(b.iter().map(Vec::as_slice));
    to_dense(&mut dense_b).unwrap();
    merge_into(&mut max, &dense_b).unwrap();
    let all = numbers(0..800);
    let union = hll_of(all.iter().map(Vec::as_slice));
    assert_eq!(max.to_vec(), registers(&union).unwrap());
    assert_eq!(count_registers(&max), count(&union).unwrap());
}

#[test]
fn headers_and_runs_are_checked() {
    assert_eq!(validate(b"HYLL"), Err(NotHll));
    assert_eq!(validate(b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), Err(NotHll));
    assert_eq!(validate(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), Err(NotHll));
    assert_eq!(validate(b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), Err(NotHll));
    let mut long = new_sparse();
    long.extend_from_slice(b"hello");
    assert_eq!(count(&long), Err(Corrupt));
    let mut short = new_sparse();
    short.pop();
    assert_eq!(count(&short), Err(Corrupt));
    let mut max = Box::new([0u8; REGISTERS]);
    assert_eq!(merge_into(&mut max, &long), Err(Corrupt));
    assert_eq!(to_dense(&mut long), Err(Corrupt));
    // A value run after the registers are all covered (redis-server 7.0 refuses it
    // in every command).
    let mut trailing = new_sparse();
    trailing.push(val_op(3, 1));
    assert_eq!(merge_into(&mut max, &trailing), Err(Corrupt));
    assert_eq!(to_dense(&mut trailing.clone()), Err(Corrupt));
    assert_eq!(count(&trailing), Err(Corrupt));
}

#[test]
fn a_cut_short_run_is_replaced_as_redis_does() {
    // A corrupt string ending in the first byte of a two-byte zero run: redis-server
    // 7.0 splits the run as if whole and drops the last byte of what it writes.
    let header = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80";
    let mut hll = [&header[..], b"\x20\x80\x43\x94\x80\x50\xde\x80\xa5\x67"].concat();
    assert!(add(&mut hll, b"0.17110234680286218", MAX_BYTES).unwrap());
    assert_eq!(hll, [&header[..], b"\x20\x80\x43\x94\x80\x50\xde\x80\xa5\x64\x15\x8c\x42"].concat());
}

#[test]
fn corrupt_bytes_never_panic() {
    let elements = numbers(0..700);
    let base = hll_of(elements.iter().map(Vec::as_slice));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let mut hll = base.clone();
        for _ in 0..(next() % 5 + 1) {
            let at = HEADER + (next() as usize % (hll.len() - HEADER));
            hll[at] = next() as u8;
        }
        let _ = count(&hll);
        let _ = registers(&hll);
        let _ = add(&mut hll, &next().to_le_bytes(), MAX_BYTES);
        let _ = to_dense(&mut hll);
    }
}

#[test]
fn cache_flag_is_the_top_bit() {
    let mut hll = new_sparse();
    invalidate_cache(&mut hll);
    assert_eq!(hll[15], 0x80);
    assert_eq!(cached_count(&hll), None);
    set_cached_count(&mut hll, 0x0102);
    assert_eq!((hll[8], hll[9], hll[15]), (2, 1, 0));
}
