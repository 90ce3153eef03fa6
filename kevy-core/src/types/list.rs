//! Lists: Redis's quicklist, a chain of packed nodes (what `Value::List` holds). Each
//! node is one allocation holding many elements back to back in listpack entry form
//! (`list/entry.rs`, `list/node.rs`), so a short element costs a few bytes instead of
//! an allocation of its own. Nodes sit in a deque: a push or pop at either end is
//! O(1); an index walks node counts from the nearer end, then entries inside one node.
//!
//! How full a node may grow is `list-max-listpack-size` (Redis's meaning: negative,
//! -1..-5, a byte size of 4, 8, 16, 32 or 64 KB; positive, an element count, within
//! 8 KB). An element too big for a node gets a node of its own. The knob is read when
//! a node is written, so `CONFIG SET` governs the nodes built from then on.
//!
//! Below the type are the list commands' algorithms, with Redis's index conventions
//! (negative indexes count from the tail, -1 being the last element).

mod entry;
mod node;
#[cfg(test)]
mod model_tests;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

pub use entry::Elem;
use node::Node;

/// `list-max-listpack-size`, process-wide (Redis's default: -2, 8 KB nodes).
static MAX_LISTPACK_SIZE: AtomicI32 = AtomicI32::new(-2);

/// Sets `list-max-listpack-size` for the nodes written from now on, clamped as Redis
/// clamps it (-5..=32767).
pub fn set_max_listpack_size(fill: i64) {
    MAX_LISTPACK_SIZE.store(fill.clamp(-5, (1 << 15) - 1) as i32, Ordering::Relaxed);
}

/// Listpack sizes for fill -1..-5, and the byte cap of a node sized by count.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SIZE_SAFETY_LIMIT: usize = 8192;
/// A listpack's header (total bytes u32, element count u16) and end byte.
const LISTPACK_OVERHEAD: usize = 7;

/// How full a node may be, under one reading of `list-max-listpack-size`.
#[derive(Clone, Copy)]
struct Fill(i32);

#[cfg(test)]
thread_local! {
    /// A fill for this test thread only, so tests that shape nodes run in parallel.
    static TEST_FILL: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

impl Fill {
    fn now() -> Fill {
        #[cfg(test)]
        if let Some(fill) = TEST_FILL.get() {
            return Fill(fill);
        }
        Fill(MAX_LISTPACK_SIZE.load(Ordering::Relaxed))
    }

    /// The most entry bytes a node holds.
    fn max_bytes(self) -> usize {
        let listpack = if self.0 < 0 { SIZE_LEVELS[(-self.0 - 1) as usize] } else { SIZE_SAFETY_LIMIT };
        listpack - LISTPACK_OVERHEAD
    }

    /// May a node hold `count` elements in `bytes` entry bytes?
    fn allows(self, bytes: usize, count: usize) -> bool {
        bytes <= self.max_bytes() && (self.0 < 0 || count <= self.0 as usize)
    }

    /// May `node` take one more element of `size` bytes?
    fn takes(self, node: &Node, size: usize) -> bool {
        self.allows(node.used() + size, node.count() + 1)
    }
}

/// A node written as a listpack: header, then `entries`, then `LISTPACK_END`.
pub struct Listpack<'a> {
    pub header: [u8; 6],
    pub entries: &'a [u8],
}

pub const LISTPACK_END: u8 = 0xff;

/// A list value, head first.
#[derive(Clone, Default)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_front(&mut self, item: &[u8]) {
        let (e, fill) = (Elem::of(item), Fill::now());
        let size = entry::size(e);
        match self.nodes.front_mut() {
            Some(node) if fill.takes(node, size) => node.push_front(e, fill.max_bytes()),
            _ => {
                let mut node = Node::new();
                node.push_front(e, fill.max_bytes());
                self.nodes.push_front(node);
            }
        }
        self.len += 1;
    }

    pub fn push_back(&mut self, item: &[u8]) {
        let (e, fill) = (Elem::of(item), Fill::now());
        let size = entry::size(e);
        match self.nodes.back_mut() {
            Some(node) if fill.takes(node, size) => node.push_back(e, fill.max_bytes()),
            _ => {
                let mut node = Node::new();
                node.push_back(e, fill.max_bytes());
                self.nodes.push_back(node);
            }
        }
        self.len += 1;
    }

    /// Removes the first (`front`) or last element, handing it to `f` on its way out
    /// (a reply can take it without a copy). None when the list is empty.
    pub fn pop_with<R>(&mut self, front: bool, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        let node = if front { self.nodes.front_mut()? } else { self.nodes.back_mut()? };
        let item = node.pop_with(front, f);
        if node.count() == 0 {
            if front {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
        }
        self.len -= 1;
        Some(item)
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop_with(true, |e| e.to_vec())
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop_with(false, |e| e.to_vec())
    }

    /// The node holding element `index` (< len) and the element's place in it, found
    /// from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index < self.len / 2 {
            let mut left = index;
            for (k, node) in self.nodes.iter().enumerate() {
                if left < node.count() {
                    return (k, left);
                }
                left -= node.count();
            }
        } else {
            let mut right = self.len - index; // elements from `index` to the end
            for (k, node) in self.nodes.iter().enumerate().rev() {
                if right <= node.count() {
                    return (k, node.count() - right);
                }
                right -= node.count();
            }
        }
        unreachable!("index {index} out of a list of {}", self.len)
    }

    pub fn get(&self, index: usize) -> Option<Elem<'_>> {
        (index < self.len).then(|| {
            let (k, i) = self.locate(index);
            self.nodes[k].get(i)
        })
    }

    /// Every element, head first (reversible).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Elem<'_>> + '_ {
        self.nodes.iter().flat_map(Node::iter)
    }

    /// The elements `from..=to`, head first (none when `from` is past the end).
    pub fn range(&self, range: std::ops::RangeInclusive<usize>) -> impl Iterator<Item = Elem<'_>> + '_ {
        let (from, to) = (*range.start(), *range.end());
        let (k, i) = if from < self.len { self.locate(from) } else { (self.nodes.len(), 0) };
        let first = self.nodes.get(k).map(|n| n.iter_from(i)).into_iter().flatten();
        first.chain(self.nodes.range((k + 1).min(self.nodes.len())..).flat_map(Node::iter)).take((to + 1).saturating_sub(from))
    }

    /// Replaces element `index` (< len). A node that outgrows its limit is split so
    /// the new element stands alone.
    pub fn set(&mut self, index: usize, item: &[u8]) {
        let (k, i) = self.locate(index);
        let (e, fill) = (Elem::of(item), Fill::now());
        let node = &mut self.nodes[k];
        node.replace(i, e, fill.max_bytes());
        if node.count() > 1 && !fill.allows(node.used(), node.count()) {
            let mut rest = node.split_off(i);
            let after = rest.split_off(1);
            let at = if i == 0 { k } else { k + 1 };
            if i == 0 {
                self.nodes.remove(k);
            }
            self.nodes.insert(at, rest);
            if after.count() > 0 {
                self.nodes.insert(at + 1, after);
            }
        }
    }

    /// Inserts `item` before element `pos` (`len`: at the end). A full node is split
    /// there and the element goes between the halves, then neighbours merge where they
    /// fit (Redis's quicklist does the same).
    pub fn insert(&mut self, pos: usize, item: &[u8]) {
        if pos == 0 {
            return self.push_front(item);
        }
        if pos >= self.len {
            return self.push_back(item);
        }
        let (k, i) = self.locate(pos);
        let (e, fill) = (Elem::of(item), Fill::now());
        let size = entry::size(e);
        self.len += 1;
        if fill.takes(&self.nodes[k], size) {
            return self.nodes[k].insert(i, e, fill.max_bytes());
        }
        if i == 0 && fill.takes(&self.nodes[k - 1], size) {
            return self.nodes[k - 1].push_back(e, fill.max_bytes());
        }
        let mut middle = Node::new();
        middle.push_back(e, fill.max_bytes());
        if i == 0 {
            self.nodes.insert(k, middle);
            return;
        }
        let right = self.nodes[k].split_off(i);
        self.nodes.insert(k + 1, middle);
        self.nodes.insert(k + 2, right);
        self.merge_pair(k + 1, fill);
        self.merge_pair(k, fill);
    }

    /// Merges nodes `k` and `k + 1` when one node may hold both: the bigger takes the
    /// smaller's elements.
    fn merge_pair(&mut self, k: usize, fill: Fill) -> bool {
        let (Some(a), Some(b)) = (self.nodes.get(k), self.nodes.get(k + 1)) else {
            return false;
        };
        if !fill.allows(a.used() + b.used(), a.count() + b.count()) {
            return false;
        }
        if a.used() >= b.used() {
            let b = self.nodes.remove(k + 1).expect("node k + 1");
            self.nodes[k].append(&b, fill.max_bytes());
        } else {
            let a = self.nodes.remove(k).expect("node k");
            self.nodes[k].prepend(&a, fill.max_bytes());
        }
        true
    }

    /// Drops empty nodes and merges neighbours that fit together (after removals in
    /// the middle), in one pass.
    fn compact(&mut self) {
        let fill = Fill::now();
        let mut kept: VecDeque<Node> = VecDeque::with_capacity(self.nodes.len());
        for node in self.nodes.drain(..).filter(|n| n.count() > 0) {
            match kept.back_mut() {
                Some(last) if fill.allows(last.used() + node.used(), last.count() + node.count()) => {
                    last.append(&node, fill.max_bytes())
                }
                _ => kept.push_back(node),
            }
        }
        self.nodes = kept;
    }

    /// Removes the first `n` elements.
    fn drop_front(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let count = self.nodes[0].count();
            if count <= n {
                self.nodes.pop_front();
                n -= count;
            } else {
                self.nodes[0].drain_front(n);
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements.
    fn drop_back(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let last = self.nodes.len() - 1;
            let count = self.nodes[last].count();
            if count <= n {
                self.nodes.pop_back();
                n -= count;
            } else {
                self.nodes[last].truncate(count - n);
                n = 0;
            }
        }
    }

    pub fn clear(&mut self) {
        self.nodes.clear();
        self.len = 0;
    }

    /// The nodes as listpacks (RDB's quicklist-2 form).
    pub fn listpacks(&self) -> impl Iterator<Item = Listpack<'_>> + '_ {
        self.nodes.iter().map(|node| {
            let mut header = [0u8; 6];
            let total = (node.used() + LISTPACK_OVERHEAD) as u32;
            header[..4].copy_from_slice(&total.to_le_bytes());
            header[4..].copy_from_slice(&(node.count().min(u16::MAX as usize) as u16).to_le_bytes());
            Listpack { header, entries: node.entries() }
        })
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(|e| String::from_utf8_lossy(&e.to_vec()).into_owned())).finish()
    }
}

impl<T: AsRef<[u8]>> Extend<T> for List {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.push_back(item.as_ref());
        }
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for List {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> List {
        let mut list = List::new();
        list.extend(items);
        list
    }
}

impl From<Vec<Vec<u8>>> for List {
    fn from(items: Vec<Vec<u8>>) -> List {
        items.into_iter().collect()
    }
}

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
    (0..n).filter_map(|_| if left { list.pop_front() } else { list.pop_back() }).collect()
}

/// Inserts `item` before (or `after`) the first element equal to `pivot`. False when
/// there is no such element.
pub fn insert_at_pivot(list: &mut List, pivot: &[u8], item: &[u8], after: bool) -> bool {
    let pivot = Elem::of(pivot);
    let found = list.iter().position(|e| e.same(&pivot));
    match found {
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
    let item = Elem::of(item);
    let mut removed = 0;
    let nodes: Box<dyn Iterator<Item = &mut Node>> =
        if count < 0 { Box::new(list.nodes.iter_mut().rev()) } else { Box::new(list.nodes.iter_mut()) };
    for node in nodes {
        if removed == limit {
            break;
        }
        // From the tail, the node's matches to keep are its first (matches - quota).
        let quota = limit - removed;
        let skip = if count < 0 { node.iter().filter(|e| e.same(&item)).count().saturating_sub(quota) } else { 0 };
        let mut seen = 0;
        removed += node.retain(|e| {
            if !e.same(&item) {
                return true;
            }
            seen += 1;
            seen <= skip || seen - skip > quota
        });
    }
    if removed > 0 {
        list.len -= removed;
        list.compact();
    }
    removed
}

/// Keeps only the inclusive range `start..=end` (LTRIM). Returns false when nothing is
/// left, in which case the list is emptied.
pub fn trim(list: &mut List, start: i64, end: i64) -> bool {
    match clamp_range(start, end, list.len()) {
        Some((from, to)) => {
            list.drop_back(list.len() - 1 - to);
            list.drop_front(from);
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
    let item = Elem::of(item);
    let elems: Box<dyn Iterator<Item = Elem<'_>>> = if from_tail { Box::new(list.iter().rev()) } else { Box::new(list.iter()) };
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (scanned, e) in elems.take(scan).enumerate() {
        if !e.same(&item) {
            continue;
        }
        matches += 1;
        if matches >= rank {
            found.push(if from_tail { len - 1 - scanned } else { scanned });
            if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count as i64 {
                break;
            }
        }
    }
    found
}

/// The heap a list holds (MEMORY USAGE): the node deque's array and every node's
/// buffer, exactly. Nodes hold hundreds of elements each, so walking them all costs
/// little and `samples` is not needed; it stays in the signature MEMORY USAGE calls.
pub fn heap_bytes(list: &List, _samples: usize) -> usize {
    use crate::heap_cost::alloc_cost;
    let array = alloc_cost(list.nodes.capacity() * std::mem::size_of::<Node>());
    array + list.nodes.iter().map(|n| alloc_cost(n.buffer_bytes())).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        items.iter().map(|s| s.as_bytes()).collect()
    }

    fn strs(l: &List) -> Vec<String> {
        l.iter().map(|e| String::from_utf8_lossy(&e.to_vec()).into_owned()).collect()
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
        assert!(insert_at_pivot(&mut l, b"a", b"x", true));
        assert!(insert_at_pivot(&mut l, b"a", b"y", false));
        assert!(!insert_at_pivot(&mut l, b"z", b"y", false));
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
