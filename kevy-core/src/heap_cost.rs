//! What allocations cost on the heap, as glibc malloc lays them out: the arithmetic
//! MEMORY USAGE, the data structures' `heap_bytes` and the counting allocator share.
//! A leaf: it imports nothing from the crate, so types/ (below store/) can use it.

/// The heap a glibc `malloc(bytes)` takes: the request plus an 8-byte header, rounded
/// up to 16, at least 32. Zero bytes are no allocation (Rust allocates nothing).
#[inline]
pub const fn alloc_cost(bytes: usize) -> usize {
    if bytes == 0 {
        return 0;
    }
    let chunk = (bytes + 8 + 15) & !15;
    if chunk < 32 {
        32
    } else {
        chunk
    }
}

/// Bytes of a hashbrown table of `capacity` (as `capacity()` reports it) holding
/// `slot`-byte items: one slot and one control byte per bucket, plus a group of
/// trailing control bytes. Buckets are a power of two with 7/8 usable (under 8
/// buckets, all but one).
pub fn hashbrown_bytes(capacity: usize, slot: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 { (capacity + 1).next_power_of_two() } else { (capacity * 8 / 7).next_power_of_two() };
    alloc_cost(buckets * (slot + 1) + 16)
}

/// `len` times the average of `costs` over its first `samples` items (0: all of them),
/// as Redis's `objectComputeSize` samples a collection's elements.
pub fn sampled(len: usize, samples: usize, costs: impl Iterator<Item = usize>) -> usize {
    let limit = if samples == 0 { usize::MAX } else { samples };
    let (mut taken, mut total) = (0usize, 0usize);
    for cost in costs.take(limit) {
        taken += 1;
        total += cost;
    }
    if taken == 0 {
        return 0;
    }
    (total as u128 * len as u128 / taken as u128) as usize
}
