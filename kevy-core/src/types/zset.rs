//! The sorted set: members ordered by (score, member bytes), with O(log n) insert,
//! delete, rank and "how many come before" queries.
//!
//! Two views of the same elements, as in Redis:
//! - a skiplist whose links carry spans (how many elements each link jumps over), so a
//!   walk down the levels counts ranks as it goes. Nodes live in one arena (`Vec`) and
//!   link by index; freed slots are reused.
//! - a hash index from member to node, holding only node indexes (members are stored
//!   once, in the nodes).
//!
//! The structure reports the encoding Redis would use (`listpack` while small,
//! `skiplist` once an element count or member length passes Redis's defaults, and for
//! good after that) and copies one listpack quirk: a small set stores -0 as 0.

use std::fmt;

use hashbrown::HashTable;

// Members hash with the one process-wide seed of types/ (fixed for the process, so SCAN
// positions stay put between calls).
use super::dense::hash_bytes as hash_of;

/// Redis's `zset-max-listpack-entries` default: more elements means `skiplist`.
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default: a longer member means `skiplist`.
pub const LISTPACK_MAX_VALUE: usize = 64;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// One forward link of a node at one level: the next node and how many elements the
/// link moves over (the distance in ranks).
#[derive(Clone, Copy, Debug, Default)]
struct Link {
    next: u32,
    span: u32,
}

#[derive(Clone)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    /// The previous node at level 0 (NIL for the first).
    prev: u32,
    /// One link per level; empty for a free slot.
    links: Box<[Link]>,
}


/// A node's height, drawn from the member's hash: level k+1 with probability 1/4^k.
fn level_for(hash: u64) -> usize {
    1 + ((hash as u32).trailing_zeros() as usize / 2).min(MAX_LEVEL - 1)
}

/// The SCAN position of a member: 48 bits of its hash, never 0 (0 ends a walk).
fn scan_position(member: &[u8]) -> u64 {
    (hash_of(member) >> 16).max(1)
}

/// Does (s1, m1) sort before (s2, m2)?
#[inline]
fn before(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// A sorted set value.
pub struct ZSet {
    /// `nodes[0]` is the head: no element, links for the levels used so far.
    nodes: Vec<Node>,
    free: Vec<u32>,
    index: HashTable<u32>,
    /// Levels in use (at least 1).
    level: usize,
    tail: u32,
    len: usize,
    /// Encoded as Redis's skiplist (else listpack). Never goes back.
    big: bool,
    /// SCAN's order: (position, node) sorted, built when a walk starts.
    scan_order: Option<Box<[(u64, u32)]>>,
}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        ZSet {
            nodes: self.nodes.clone(),
            free: self.free.clone(),
            index: self.index.clone(),
            level: self.level,
            tail: self.tail,
            len: self.len,
            big: self.big,
            scan_order: None,
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s))).finish()
    }
}

impl ZSet {
    pub fn new() -> Self {
        let head = Node {
            member: Box::default(),
            score: 0.0,
            prev: NIL,
            links: Box::new([Link { next: NIL, span: 0 }]),
        };
        ZSet {
            nodes: vec![head],
            free: Vec::new(),
            index: HashTable::new(),
            level: 1,
            tail: NIL,
            len: 0,
            big: false,
            scan_order: None,
        }
    }

    /// An empty set in the skiplist encoding from the start (what Redis creates when it
    /// knows a set will be big).
    pub fn skiplist() -> Self {
        ZSet { big: true, ..ZSet::new() }
    }

    /// A set holding `entries` (later duplicates win), encoded as Redis encodes a set
    /// it builds whole (ZUNIONSTORE, ZRANGESTORE...): listpack when it fits.
    pub fn from_entries(entries: Vec<(Vec<u8>, f64)>) -> Self {
        let mut set = ZSet::new();
        set.big = entries.len() > LISTPACK_MAX_ENTRIES || entries.iter().any(|(m, _)| m.len() > LISTPACK_MAX_VALUE);
        for (member, score) in entries {
            set.insert(&member, score);
        }
        set
    }

    /// The name OBJECT ENCODING reports for this value.
    pub fn encoding_name(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }
    /// Is this set small enough for Redis's compact (listpack) encoding?
    pub fn is_listpack(&self) -> bool {
        !self.big
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }
    fn link(&self, id: u32, level: usize) -> Link {
        self.nodes[id as usize].links[level]
    }
    fn link_mut(&mut self, id: u32, level: usize) -> &mut Link {
        &mut self.nodes[id as usize].links[level]
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.index.find(hash_of(member), |&i| &*self.nodes[i as usize].member == member).copied()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|id| self.node(id).score)
    }

    /// Sets `member`'s score, adding it if new. Returns the score it had before.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        debug_assert!(!score.is_nan());
        if let Some(id) = self.find(member) {
            let old = self.node(id).score;
            let score = self.stored(score);
            if score != old {
                let update = self.path(old, member).0;
                self.unlink(id, &update);
                self.nodes[id as usize].score = score;
                self.relink(id);
            }
            return Some(old);
        }
        if !self.big && (self.len + 1 > LISTPACK_MAX_ENTRIES || member.len() > LISTPACK_MAX_VALUE) {
            self.big = true;
        }
        let score = self.stored(score);
        let hash = hash_of(member);
        let id = self.alloc(member, score, level_for(hash));
        self.relink(id);
        let nodes = &self.nodes;
        self.index.insert_unique(hash, id, |&i| hash_of(&nodes[i as usize].member));
        None
    }

    /// The score as stored: a listpack keeps -0 as the integer 0.
    fn stored(&self, score: f64) -> f64 {
        if !self.big && score == 0.0 {
            0.0
        } else {
            score
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let id = self.find(member)?;
        Some(self.detach(id).1)
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.count_while(|s, m| before(s, m, score, member)))
    }

    /// How many elements, from the lowest, satisfy `pred` (which must hold for a
    /// prefix of the order, like "score < 5"). O(log n).
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = self.node(l.next);
                if !pred(n.score, &n.member) {
                    break;
                }
                rank += l.span as usize;
                x = l.next;
            }
        }
        rank
    }

    /// The element at 0-based `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        let id = self.node_at(rank);
        (id != NIL).then(|| (&*self.node(id).member, self.node(id).score))
    }

    /// Elements from 0-based `rank`, toward higher ranks or (`reverse`) lower ones.
    pub fn iter_from(&self, rank: usize, reverse: bool) -> Iter<'_> {
        let left = if rank >= self.len {
            0
        } else if reverse {
            rank + 1
        } else {
            self.len - rank
        };
        Iter { set: self, at: self.node_at(rank), reverse, left }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, at: self.link(HEAD, 0).next, reverse: false, left: self.len }
    }

    /// Removes and returns the lowest (or with `last`, the highest) element.
    pub fn pop(&mut self, last: bool) -> Option<(Vec<u8>, f64)> {
        let id = if last { self.tail } else { self.link(HEAD, 0).next };
        if id == NIL {
            return None;
        }
        let (member, score) = self.detach(id);
        Some((member.into_vec(), score))
    }

    /// Removes the elements of 0-based ranks `start..=end` (clamped); returns how many.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len {
            return 0;
        }
        let end = end.min(self.len - 1);
        let mut update = [HEAD; MAX_LEVEL];
        let (mut x, mut traversed) = (HEAD, 0usize);
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL || traversed + l.span as usize > start {
                    break;
                }
                traversed += l.span as usize;
                x = l.next;
            }
            update[i] = x;
        }
        for _ in start..=end {
            let id = self.link(update[0], 0).next;
            self.unlink(id, &update);
            self.release(id);
        }
        end - start + 1
    }

    /// One SCAN step from `cursor`: about `count` elements and the cursor to resume
    /// at (0 when done). A small (listpack) set is returned whole, as Redis does.
    ///
    /// A walk visits members by a hash position, so elements present for the whole
    /// walk are returned exactly once whatever changes meanwhile. The order is a
    /// snapshot taken when a walk starts (cursor 0); later elements may be missed.
    pub fn scan(&mut self, cursor: u64, count: usize) -> (Vec<(&[u8], f64)>, u64) {
        if !self.big {
            return (self.iter().collect(), 0);
        }
        if cursor == 0 || self.scan_order.is_none() {
            let mut order: Vec<(u64, u32)> = self.node_ids().map(|id| (scan_position(&self.node(id).member), id)).collect();
            order.sort_unstable();
            self.scan_order = Some(order.into_boxed_slice());
        }
        let order = self.scan_order.take().expect("built above");
        let mut picked = Vec::new();
        let mut i = order.partition_point(|&(p, _)| p < cursor);
        let mut next = 0;
        while i < order.len() {
            let (pos, id) = order[i];
            if picked.len() >= count.max(1) && order[i - 1].0 != pos {
                next = pos;
                break;
            }
            let live = self.nodes.get(id as usize).is_some_and(|n| !n.links.is_empty() && id != HEAD);
            if live && scan_position(&self.node(id).member) == pos {
                picked.push(id);
            }
            i += 1;
        }
        if next != 0 {
            self.scan_order = Some(order);
        }
        (picked.into_iter().map(|id| (&*self.node(id).member, self.node(id).score)).collect(), next)
    }

    /// Live node ids, in arena order.
    fn node_ids(&self) -> impl Iterator<Item = u32> + '_ {
        (1..self.nodes.len() as u32).filter(|&id| !self.node(id).links.is_empty())
    }

    fn alloc(&mut self, member: &[u8], score: f64, level: usize) -> u32 {
        let node = Node {
            member: member.into(),
            score,
            prev: NIL,
            links: vec![Link::default(); level].into_boxed_slice(),
        };
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// The last node before (score, member) at each level, and the rank of each.
    fn path(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i + 1 == self.level { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = self.node(l.next);
                if !before(n.score, &n.member, score, member) {
                    break;
                }
                rank[i] += l.span;
                x = l.next;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Links node `id` (not in the list) at the place its score and member give it.
    fn relink(&mut self, id: u32) {
        let height = self.node(id).links.len();
        let (mut update, mut rank) = {
            let n = self.node(id);
            self.path(n.score, &n.member)
        };
        if height > self.level {
            let head = &mut self.nodes[HEAD as usize];
            if head.links.len() < height {
                let mut links = head.links.to_vec();
                links.resize(height, Link { next: NIL, span: 0 });
                head.links = links.into_boxed_slice();
            }
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = height;
        }
        for i in 0..height {
            let u = self.link(update[i], i);
            let crossed = rank[0] - rank[i];
            *self.link_mut(id, i) = Link { next: u.next, span: u.span - crossed };
            *self.link_mut(update[i], i) = Link { next: id, span: crossed + 1 };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            self.link_mut(u, i).span += 1;
        }
        self.nodes[id as usize].prev = if update[0] == HEAD { NIL } else { update[0] };
        match self.link(id, 0).next {
            NIL => self.tail = id,
            next => self.nodes[next as usize].prev = id,
        }
        self.len += 1;
    }

    /// Takes node `id` out of the list; `update` is its predecessor at each level.
    fn unlink(&mut self, id: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if ul.next == id {
                let xl = self.link(id, i);
                *self.link_mut(u, i) = Link { next: xl.next, span: ul.span + xl.span - 1 };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let (prev, next) = (self.node(id).prev, self.link(id, 0).next);
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n as usize].prev = prev,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Unlinks node `id` and frees it; returns its member and score.
    fn detach(&mut self, id: u32) -> (Box<[u8]>, f64) {
        let update = {
            let n = self.node(id);
            self.path(n.score, &n.member).0
        };
        self.unlink(id, &update);
        self.release(id)
    }

    /// Drops an unlinked node from the index and frees its slot.
    fn release(&mut self, id: u32) -> (Box<[u8]>, f64) {
        let hash = hash_of(&self.node(id).member);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == id) {
            entry.remove();
        }
        let node = &mut self.nodes[id as usize];
        node.links = Box::default();
        let out = (std::mem::take(&mut node.member), node.score);
        if self.len == 0 {
            // Everything is free: start the arena over.
            self.nodes.truncate(1);
            self.free.clear();
            self.scan_order = None;
        } else {
            self.free.push(id);
        }
        out
    }

    /// The node at 0-based `rank`, or NIL.
    fn node_at(&self, rank: usize) -> u32 {
        if rank >= self.len {
            return NIL;
        }
        let target = rank + 1;
        let (mut x, mut traversed) = (HEAD, 0usize);
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL || traversed + l.span as usize > target {
                    break;
                }
                traversed += l.span as usize;
                x = l.next;
            }
            if traversed == target {
                return x;
            }
        }
        NIL
    }
}

/// Walks elements one rank at a time in either direction.
pub struct Iter<'a> {
    set: &'a ZSet,
    at: u32,
    reverse: bool,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == NIL || self.left == 0 {
            return None;
        }
        let node = self.set.node(self.at);
        self.at = if self.reverse { node.prev } else { node.links[0].next };
        self.left -= 1;
        Some((&node.member, node.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl ZSet {
    /// The heap this sorted set holds (MEMORY USAGE): the node array, free list,
    /// member index and SCAN order exactly, each node's member and links sampled.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use crate::heap_cost::{alloc_cost, hashbrown_bytes, sampled};
        let arrays = alloc_cost(self.nodes.capacity() * std::mem::size_of::<Node>())
            + alloc_cost(self.free.capacity() * 4)
            + hashbrown_bytes(self.index.capacity(), 4)
            + self.scan_order.as_ref().map_or(0, |o| alloc_cost(o.len() * 16));
        let head = alloc_cost(self.nodes.first().map_or(0, |h| h.links.len() * std::mem::size_of::<Link>()));
        let live = self.nodes.iter().skip(1).filter(|n| !n.links.is_empty());
        let per_node = live.map(|n| alloc_cost(n.member.len()) + alloc_cost(n.links.len() * std::mem::size_of::<Link>()));
        arrays + head + sampled(self.len, samples, per_node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for the model tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The naive model: a Vec kept sorted by (score, member).
    fn model_sorted(model: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        let mut v = model.to_vec();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
        v
    }

    fn check(set: &ZSet, model: &[(Vec<u8>, f64)]) {
        let sorted = model_sorted(model);
        assert_eq!(set.len(), sorted.len());
        let got: Vec<(Vec<u8>, f64)> = set.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(got, sorted);
        let back: Vec<(Vec<u8>, f64)> = set.iter_from(set.len().saturating_sub(1), true).map(|(m, s)| (m.to_vec(), s)).collect();
        let mut rev = sorted.clone();
        rev.reverse();
        assert_eq!(back, rev);
        for (rank, (m, s)) in sorted.iter().enumerate() {
            assert_eq!(set.rank(m), Some(rank));
            assert_eq!(set.score(m), Some(*s));
            assert_eq!(set.get(rank), Some((&m[..], *s)));
        }
    }

    #[test]
    fn random_operations_match_a_sorted_vec() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut set = ZSet::new();
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        for step in 0..6000 {
            let member = format!("m{}", rng.below(400)).into_bytes();
            let score = (rng.below(50) as f64) - 25.0;
            match rng.below(10) {
                0..=4 => {
                    let old = set.insert(&member, score);
                    let pos = model.iter().position(|(m, _)| *m == member);
                    assert_eq!(old, pos.map(|p| model[p].1));
                    match pos {
                        Some(p) => model[p].1 = score,
                        None => model.push((member, score)),
                    }
                }
                5..=6 => {
                    let pos = model.iter().position(|(m, _)| *m == member);
                    assert_eq!(set.remove(&member), pos.map(|p| model.remove(p).1));
                }
                7 => {
                    let sorted = model_sorted(&model);
                    let (a, b) = (rng.below(60) as usize, rng.below(60) as usize);
                    let removed = set.remove_ranks(a, b);
                    let expect: Vec<_> = sorted.iter().enumerate().filter(|(i, _)| *i >= a && *i <= b).map(|(_, e)| e.0.clone()).collect();
                    assert_eq!(removed, expect.len());
                    model.retain(|(m, _)| !expect.contains(m));
                }
                8 => {
                    let last = rng.below(2) == 1;
                    let sorted = model_sorted(&model);
                    let expect = if last { sorted.last() } else { sorted.first() }.cloned();
                    assert_eq!(set.pop(last), expect);
                    if let Some((m, _)) = expect {
                        model.retain(|(x, _)| *x != m);
                    }
                }
                _ => {
                    let sorted = model_sorted(&model);
                    let below = sorted.iter().filter(|(_, s)| *s < score).count();
                    assert_eq!(set.count_while(|s, _| s < score), below);
                }
            }
            if step % 97 == 0 {
                check(&set, &model);
            }
        }
        check(&set, &model);
    }

    #[test]
    fn large_sets_keep_ranks_and_spans() {
        let mut rng = Rng(42);
        let mut set = ZSet::new();
        let mut model = std::collections::BTreeMap::new();
        for _ in 0..30_000 {
            let m = rng.below(20_000);
            let score = rng.below(1000) as f64;
            if rng.below(4) == 0 {
                assert_eq!(set.remove(format!("{m:05}").as_bytes()).is_some(), model.remove(&m).is_some());
            } else {
                set.insert(format!("{m:05}").as_bytes(), score);
                model.insert(m, score);
            }
        }
        let mut sorted: Vec<(f64, String)> = model.iter().map(|(m, s)| (*s, format!("{m:05}"))).collect();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(set.len(), sorted.len());
        for (rank, (score, m)) in sorted.iter().enumerate().step_by(37) {
            assert_eq!(set.rank(m.as_bytes()), Some(rank));
            assert_eq!(set.get(rank), Some((m.as_bytes(), *score)));
            assert_eq!(set.count_while(|s, _| s < *score), sorted.partition_point(|e| e.0 < *score));
        }
        let removed = set.remove_ranks(100, 5099);
        assert_eq!(removed, 5000);
        assert_eq!(set.get(100).map(|e| e.0), Some(sorted[5100].1.as_bytes()));
        assert_eq!(set.iter().count(), sorted.len() - 5000);
    }

    #[test]
    fn encoding_follows_redis_thresholds() {
        let mut set = ZSet::new();
        for i in 0..LISTPACK_MAX_ENTRIES {
            set.insert(format!("{i}").as_bytes(), i as f64);
        }
        assert_eq!(set.encoding_name(), "listpack");
        set.insert(b"one more", 1.0);
        assert_eq!(set.encoding_name(), "skiplist");
        set.remove(b"one more");
        assert_eq!(set.encoding_name(), "skiplist");
        let mut long = ZSet::new();
        long.insert(&[b'x'; LISTPACK_MAX_VALUE], 1.0);
        assert_eq!(long.encoding_name(), "listpack");
        long.insert(&[b'x'; LISTPACK_MAX_VALUE + 1], 1.0);
        assert_eq!(long.encoding_name(), "skiplist");
        let built = ZSet::from_entries(vec![(b"a".to_vec(), -0.0), (b"b".to_vec(), 2.0)]);
        assert_eq!(built.encoding_name(), "listpack");
        assert!(built.score(b"a").unwrap().is_sign_positive());
    }

    #[test]
    fn negative_zero_kept_only_when_big() {
        let mut small = ZSet::new();
        small.insert(b"a", -0.0);
        assert!(small.score(b"a").unwrap().is_sign_positive());
        let mut big = ZSet::from_entries((0..200).map(|i| (format!("{i}").into_bytes(), 1.0)).collect());
        big.insert(b"a", -0.0);
        assert!(big.score(b"a").unwrap().is_sign_negative());
        // Equal scores (0 == -0) leave the stored one as it is.
        big.insert(b"a", 0.0);
        assert!(big.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn scan_returns_each_lasting_element_once() {
        let mut set = ZSet::from_entries((0..1000).map(|i| (format!("k{i}").into_bytes(), i as f64)).collect());
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            let (items, next) = set.scan(cursor, 10);
            assert!(items.len() <= 12);
            seen.extend(items.iter().map(|(m, _)| m.to_vec()));
            steps += 1;
            // Changes during the walk: remove some (never seen ones are allowed to go
            // missing) and add others.
            set.remove(format!("k{}", steps * 7).as_bytes());
            set.insert(format!("new{steps}").as_bytes(), 0.5);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        let lasting: Vec<Vec<u8>> =
            (0..1000).filter(|i| i % 7 != 0 || *i / 7 > steps).map(|i| format!("k{i}").into_bytes()).collect();
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "no duplicates");
        for m in lasting {
            assert!(seen.contains(&m));
        }
        let mut small = ZSet::from_entries(vec![(b"b".to_vec(), 2.0), (b"a".to_vec(), 1.0)]);
        let (items, next) = small.scan(123, 1);
        assert_eq!((items, next), (vec![(&b"a"[..], 1.0), (&b"b"[..], 2.0)], 0));
    }

    #[test]
    fn empty_and_edges() {
        let mut set = ZSet::new();
        assert_eq!(set.get(0), None);
        assert_eq!(set.iter_from(0, false).count(), 0);
        assert_eq!(set.pop(false), None);
        assert_eq!(set.remove_ranks(0, 10), 0);
        assert_eq!(set.count_while(|_, _| true), 0);
        set.insert(b"", 1.0);
        set.insert(&vec![b'z'; 1 << 20], f64::INFINITY);
        set.insert(b"n", f64::NEG_INFINITY);
        assert_eq!(set.rank(b""), Some(1));
        assert_eq!(set.iter_from(1, true).map(|(m, _)| m.len()).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(set.remove_ranks(0, 100), 3);
        assert!(set.is_empty());
        assert_eq!(set, ZSet::new());
    }
}
