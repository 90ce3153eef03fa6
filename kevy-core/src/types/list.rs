//! Lists: a deque of byte strings, head first (what `Value::List` holds). These are the
//! list commands' algorithms over that deque, with Redis's index conventions (negative
//! indexes count from the tail, -1 being the last element).

use std::collections::VecDeque;

/// A list value, head first.
pub type List = VecDeque<Vec<u8>>;

/// The position of Redis index `index` in a list of `len` elements, if inside.
pub fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// Resolves Redis's inclusive, possibly negative range `start..=end` over `len`
/// elements (LRANGE, LTRIM): None when it selects nothing.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    (start <= end && start < len).then_some((start as usize, end as usize))
}

/// Takes up to `count` elements off the head (`left`) or the tail, in pop order.
pub fn pop_n(list: &mut List, left: bool, count: usize) -> Vec<Vec<u8>> {
    let n = count.min(list.len());
    if left {
        list.drain(..n).collect()
    } else {
        (0..n).filter_map(|_| list.pop_back()).collect()
    }
}

/// Inserts `item` before (or `after`) the first element equal to `pivot`. False when
/// there is no such element.
pub fn insert_at_pivot(list: &mut List, pivot: &[u8], item: Vec<u8>, after: bool) -> bool {
    match list.iter().position(|e| e.as_slice() == pivot) {
        Some(i) => {
            list.insert(if after { i + 1 } else { i }, item);
            true
        }
        None => false,
    }
}

/// Removes elements equal to `item` (LREM): `count > 0` the first `count` from the head,
/// `count < 0` the first `-count` from the tail, 0 all of them. Returns how many.
pub fn remove_matches(list: &mut List, item: &[u8], count: i64) -> usize {
    let limit = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
    // From the tail: the matches to keep are the first (total - limit) from the head.
    let keep = if count < 0 {
        list.iter().filter(|e| e.as_slice() == item).count().saturating_sub(limit)
    } else {
        0
    };
    let (mut seen, mut removed) = (0, 0);
    list.retain(|e| {
        if e.as_slice() != item {
            return true;
        }
        seen += 1;
        let drop = seen > keep && removed < limit;
        removed += drop as usize;
        !drop
    });
    removed
}

/// Keeps only the inclusive range `start..=end` (LTRIM). Returns false when nothing is
/// left, in which case the list is emptied.
pub fn trim(list: &mut List, start: i64, end: i64) -> bool {
    match clamp_range(start, end, list.len()) {
        Some((from, to)) => {
            list.truncate(to + 1);
            list.drain(..from);
            true
        }
        None => {
            list.clear();
            false
        }
    }
}

/// Positions of elements equal to `item` (LPOS). A negative `rank` searches from the
/// tail and skips `-rank - 1` matches, a positive one from the head skipping
/// `rank - 1`; at most `count` positions (0: all), within the first `maxlen` elements
/// scanned (0: all). Positions are always counted from the head.
///
/// The arithmetic wraps as Redis's does, so that RANK -9223372036854775808 answers as
/// Redis 7.0 does (from the tail, every match).
pub fn positions(list: &List, item: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
    let from_tail = rank < 0;
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let scan = if maxlen == 0 { list.len() } else { maxlen.min(list.len()) };
    let len = list.len();
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for scanned in 0..scan {
        let at = if from_tail { len - 1 - scanned } else { scanned };
        if list[at].as_slice() != item {
            continue;
        }
        matches += 1;
        if matches >= rank {
            found.push(at);
            if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count as i64 {
                break;
            }
        }
    }
    found
}

/// The heap a list holds (MEMORY USAGE): its deque's array, exactly, and each
/// element's allocation, sampled over `samples` elements (0: all). The list type
/// answers this so that its layout can change without touching MEMORY USAGE.
pub fn heap_bytes(list: &List, samples: usize) -> usize {
    use crate::store::usage::{alloc_cost, sampled};
    let array = alloc_cost(list.capacity() * std::mem::size_of::<Vec<u8>>());
    array + sampled(list.len(), samples, list.iter().map(|e| alloc_cost(e.capacity())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn strs(l: &List) -> Vec<String> {
        l.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect()
    }

    #[test]
    fn indexes_and_ranges() {
        assert_eq!(resolve_index(0, 3), Some(0));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-3, 3), Some(0));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_index(i64::MAX, 3), None);
        assert_eq!(clamp_range(0, -1, 4), Some((0, 3)));
        assert_eq!(clamp_range(-2, 100, 4), Some((2, 3)));
        assert_eq!(clamp_range(5, 10, 4), None);
        assert_eq!(clamp_range(2, 1, 4), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 4), Some((0, 3)));
        assert_eq!(clamp_range(0, i64::MIN, 4), None);
    }

    #[test]
    fn pops_in_order() {
        let mut l = list(&["a", "b", "c", "d"]);
        assert_eq!(pop_n(&mut l, false, 2), vec![b"d".to_vec(), b"c".to_vec()]);
        assert_eq!(pop_n(&mut l, true, 5), vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(l.is_empty());
        assert!(pop_n(&mut l, true, 1).is_empty());
    }

    #[test]
    fn inserts_at_first_pivot() {
        let mut l = list(&["a", "b", "a"]);
        assert!(insert_at_pivot(&mut l, b"a", b"x".to_vec(), true));
        assert!(insert_at_pivot(&mut l, b"a", b"y".to_vec(), false));
        assert!(!insert_at_pivot(&mut l, b"z", b"y".to_vec(), false));
        assert_eq!(strs(&l), ["y", "a", "x", "b", "a"]);
    }

    #[test]
    fn removes_by_count() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", -1), 1);
        assert_eq!(strs(&l), ["a", "b", "a", "c"]);
        assert_eq!(remove_matches(&mut l, b"a", 1), 1);
        assert_eq!(strs(&l), ["b", "a", "c"]);
        let mut l = list(&["a", "b", "a", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", 0), 3);
        assert_eq!(strs(&l), ["b"]);
        let mut l = list(&["a", "a"]);
        assert_eq!(remove_matches(&mut l, b"a", i64::MIN), 2);
        assert_eq!(remove_matches(&mut l, b"a", i64::MAX), 0);
    }

    #[test]
    fn trims() {
        let mut l = list(&["a", "b", "c", "d"]);
        assert!(trim(&mut l, 1, -2));
        assert_eq!(strs(&l), ["b", "c"]);
        assert!(!trim(&mut l, 5, 1));
        assert!(l.is_empty());
    }

    #[test]
    fn finds_positions() {
        let l = list(&["a", "b", "c", "a", "b", "c", "a"]);
        assert_eq!(positions(&l, b"a", 1, 1, 0), [0]);
        assert_eq!(positions(&l, b"a", 2, 1, 0), [3]);
        assert_eq!(positions(&l, b"a", -1, 1, 0), [6]);
        assert_eq!(positions(&l, b"a", -2, 0, 0), [3, 0]);
        assert_eq!(positions(&l, b"a", 1, 0, 0), [0, 3, 6]);
        assert_eq!(positions(&l, b"a", 1, 2, 0), [0, 3]);
        assert_eq!(positions(&l, b"a", 1, 0, 3), [0]);
        assert_eq!(positions(&l, b"a", 10, 0, 0), Vec::<usize>::new());
        assert_eq!(positions(&l, b"a", i64::MIN, 1, 0), [6, 3, 0]);
        assert_eq!(positions(&l, b"z", 1, 0, 0), Vec::<usize>::new());
    }
}
