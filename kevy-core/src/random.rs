//! Randomness for the commands that pick at random (RANDOMKEY, HRANDFIELD,
//! SRANDMEMBER, SPOP, ZRANDMEMBER): a fast per-thread generator and distinct picks.

use std::cell::Cell;
use std::collections::HashSet;

/// A pseudo-random number from this thread's generator (splitmix64, seeded once per
/// thread from the process's random hash keys).
pub fn random_u64() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new().build_hasher().finish()
        });
    }
    let x = STATE.with(|s| {
        let x = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(x);
        x
    });
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A random number in `0..n` (n > 0).
pub fn random_below(n: usize) -> usize {
    (random_u64() % n as u64) as usize
}

/// `count` distinct positions among `len`, in random order (what HRANDFIELD,
/// SRANDMEMBER and ZRANDMEMBER with a positive count pick); all of them, in order,
/// when `count >= len`. `random(n)` gives a number in `0..n`.
pub fn pick_distinct(len: usize, count: usize, mut random: impl FnMut(usize) -> usize) -> Vec<usize> {
    if count >= len {
        return (0..len).collect();
    }
    if count * 3 > len {
        // Many of them: shuffle the first `count` places into a random selection.
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + random(len - i);
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = HashSet::with_capacity(count);
    let mut picks = Vec::with_capacity(count);
    while picks.len() < count {
        let p = random(len);
        if seen.insert(p) {
            picks.push(p);
        }
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_picks() {
        let mut r = 0usize;
        let mut rng = |n: usize| {
            r = r.wrapping_mul(31).wrapping_add(7);
            r % n
        };
        assert_eq!(pick_distinct(3, 5, &mut rng), [0, 1, 2]);
        assert_eq!(pick_distinct(3, 3, &mut rng), [0, 1, 2]);
        for (len, count) in [(10, 9), (10, 4), (1000, 5), (1000, 900)] {
            let mut picks = pick_distinct(len, count, &mut rng);
            assert_eq!(picks.len(), count);
            picks.sort();
            picks.dedup();
            assert_eq!(picks.len(), count, "distinct");
            assert!(picks.iter().all(|&p| p < len));
        }
    }

    #[test]
    fn random_is_in_range_and_varies() {
        let picks: HashSet<usize> = (0..200).map(|_| random_below(10)).collect();
        assert!(picks.len() > 5 && picks.iter().all(|&p| p < 10));
    }
}
