//! A list node: many elements packed back to back in one allocation, in listpack
//! entry form (`entry.rs`). The entries sit in the middle of the buffer with free
//! room on both sides, so a push or pop at either end touches only that end: a pop
//! moves an offset, a push writes into the room (growing the buffer when there is
//! none). Redis's listpack moves the whole node on a push or pop at its head.

use super::entry::{self, Elem};

/// Free bytes a grown buffer gets at least, beyond what the write needs.
const MIN_ROOM: usize = 16;

/// Buffers up to this size are never shrunk after removals.
const SHRINK_FLOOR: usize = 256;

pub struct Node {
    /// Entries live in `buf[head..tail]`; the rest is room for pushes.
    buf: Box<[u8]>,
    head: usize,
    tail: usize,
    count: usize,
}

impl Clone for Node {
    /// A copy without the free room.
    fn clone(&self) -> Node {
        Node::from_entries(self.entries(), self.count)
    }
}

impl Node {
    /// An empty node (no allocation until the first push).
    pub fn new() -> Node {
        Node { buf: Box::default(), head: 0, tail: 0, count: 0 }
    }

    fn from_entries(entries: &[u8], count: usize) -> Node {
        Node { buf: entries.into(), head: 0, tail: entries.len(), count }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The entries, back to back: a listpack's body.
    pub fn entries(&self) -> &[u8] {
        &self.buf[self.head..self.tail]
    }

    /// Bytes the entries take.
    pub fn used(&self) -> usize {
        self.tail - self.head
    }

    /// Bytes allocated (entries plus room).
    #[cfg(test)]
    pub fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// Moves the entries into a buffer with `front` free bytes before them and `back`
    /// after.
    fn relocate(&mut self, front: usize, back: usize) {
        let used = self.used();
        let mut buf = vec![0u8; front + used + back].into_boxed_slice();
        buf[front..front + used].copy_from_slice(self.entries());
        self.buf = buf;
        self.head = front;
        self.tail = front + used;
    }

    /// Ensures `n` free bytes before the entries (`front`) or after them. A grown
    /// buffer gets half its size again as room, but never more than it needs to reach
    /// `limit` bytes of entries (the node cannot hold more), so full nodes carry no
    /// waste.
    fn reserve(&mut self, n: usize, front: bool, limit: usize) {
        let (room_front, room_back) = (self.head, self.buf.len() - self.tail);
        if (if front { room_front } else { room_back }) >= n {
            return;
        }
        let need = self.used() + n;
        let extra = (need / 2 + MIN_ROOM).min(limit.saturating_sub(need));
        if front {
            self.relocate(n + extra, room_back.min(extra));
        } else {
            self.relocate(room_front.min(extra), n + extra);
        }
    }

    /// Gives back most of the room once the entries use under a third of the buffer.
    fn shrink_if_sparse(&mut self) {
        let used = self.used();
        if self.buf.len() > SHRINK_FLOOR && used * 3 < self.buf.len() && self.count > 0 {
            let room = used / 4 + MIN_ROOM;
            self.relocate(room / 2, room - room / 2);
        }
    }

    pub fn push_front(&mut self, e: Elem<'_>, limit: usize) {
        let n = entry::size(e);
        self.reserve(n, true, limit);
        self.head -= n;
        entry::write(e, &mut self.buf[self.head..self.head + n]);
        self.count += 1;
    }

    pub fn push_back(&mut self, e: Elem<'_>, limit: usize) {
        let n = entry::size(e);
        self.reserve(n, false, limit);
        entry::write(e, &mut self.buf[self.tail..self.tail + n]);
        self.tail += n;
        self.count += 1;
    }

    /// Removes the first (`front`) or last element, handing it to `f` on its way out
    /// (the node must not be empty).
    pub fn pop_with<R>(&mut self, front: bool, f: impl FnOnce(Elem<'_>) -> R) -> R {
        let item = if front {
            let (e, next) = entry::read(&self.buf, self.head);
            let item = f(e);
            self.head = next;
            item
        } else {
            let start = entry::start_before(&self.buf, self.tail);
            let item = f(entry::read(&self.buf, start).0);
            self.tail = start;
            item
        };
        self.count -= 1;
        self.shrink_if_sparse();
        item
    }

    /// The offset of element `i` (`count` gives the end), walked from the nearer end.
    pub fn offset_of(&self, i: usize) -> usize {
        if i <= self.count / 2 {
            (0..i).fold(self.head, |at, _| entry::read(&self.buf, at).1)
        } else {
            (i..self.count).fold(self.tail, |at, _| entry::start_before(&self.buf, at))
        }
    }

    pub fn get(&self, i: usize) -> Elem<'_> {
        entry::read(&self.buf, self.offset_of(i)).0
    }

    /// The elements from element `i` on.
    pub fn iter_from(&self, i: usize) -> NodeIter<'_> {
        NodeIter { buf: &self.buf, at: self.offset_of(i), end: self.tail }
    }

    pub fn iter(&self) -> NodeIter<'_> {
        NodeIter { buf: &self.buf, at: self.head, end: self.tail }
    }

    /// Inserts `e` before element `i` (`count`: at the end), moving the shorter side.
    pub fn insert(&mut self, i: usize, e: Elem<'_>, limit: usize) {
        let n = entry::size(e);
        let before = self.offset_of(i) - self.head;
        let after = self.used() - before;
        let (room_front, room_back) = (self.head, self.buf.len() - self.tail);
        let use_front = room_front >= n && (before <= after || room_back < n);
        if !use_front && room_back < n {
            self.reserve(n, before <= after, limit);
            return self.insert(i, e, limit);
        }
        let at = self.head + before;
        let slot = if use_front {
            self.buf.copy_within(self.head..at, self.head - n);
            self.head -= n;
            at - n
        } else {
            self.buf.copy_within(at..self.tail, at + n);
            self.tail += n;
            at
        };
        entry::write(e, &mut self.buf[slot..slot + n]);
        self.count += 1;
    }

    /// Removes element `i`, moving the shorter side.
    pub fn remove(&mut self, i: usize) {
        let at = self.offset_of(i);
        let end = entry::read(&self.buf, at).1;
        let n = end - at;
        if at - self.head <= self.tail - end {
            self.buf.copy_within(self.head..at, self.head + n);
            self.head += n;
        } else {
            self.buf.copy_within(end..self.tail, at);
            self.tail -= n;
        }
        self.count -= 1;
        self.shrink_if_sparse();
    }

    /// Replaces element `i` with `e`.
    pub fn replace(&mut self, i: usize, e: Elem<'_>, limit: usize) {
        self.remove(i);
        self.insert(i, e, limit);
    }

    /// Removes the first `n` elements.
    pub fn drain_front(&mut self, n: usize) {
        self.head = self.offset_of(n);
        self.count -= n;
        self.shrink_if_sparse();
    }

    /// Keeps the first `n` elements.
    pub fn truncate(&mut self, n: usize) {
        self.tail = self.offset_of(n);
        self.count = n;
        self.shrink_if_sparse();
    }

    /// Splits off the elements from `i` on into a new node.
    pub fn split_off(&mut self, i: usize) -> Node {
        let at = self.offset_of(i);
        let right = Node::from_entries(&self.buf[at..self.tail], self.count - i);
        self.tail = at;
        self.count = i;
        self.shrink_if_sparse();
        right
    }

    /// Appends `other`'s elements after this node's.
    pub fn append(&mut self, other: &Node, limit: usize) {
        let n = other.used();
        self.reserve(n, false, limit);
        self.buf[self.tail..self.tail + n].copy_from_slice(other.entries());
        self.tail += n;
        self.count += other.count;
    }

    /// Puts `other`'s elements before this node's.
    pub fn prepend(&mut self, other: &Node, limit: usize) {
        let n = other.used();
        self.reserve(n, true, limit);
        self.buf[self.head - n..self.head].copy_from_slice(other.entries());
        self.head -= n;
        self.count += other.count;
    }

    /// Keeps the elements for which `keep` holds, in order. Returns how many went.
    pub fn retain(&mut self, mut keep: impl FnMut(Elem<'_>) -> bool) -> usize {
        let (mut read, mut write, mut removed) = (self.head, self.head, 0);
        while read < self.tail {
            let (e, next) = entry::read(&self.buf, read);
            if keep(e) {
                self.buf.copy_within(read..next, write);
                write += next - read;
            } else {
                removed += 1;
            }
            read = next;
        }
        self.tail = write;
        self.count -= removed;
        self.shrink_if_sparse();
        removed
    }
}

/// The elements of one node, in order (or reversed: it steps back by back-lengths).
#[derive(Clone)]
pub struct NodeIter<'a> {
    buf: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        (self.at < self.end).then(|| {
            let (e, next) = entry::read(self.buf, self.at);
            self.at = next;
            e
        })
    }
}

impl DoubleEndedIterator for NodeIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        (self.at < self.end).then(|| {
            self.end = entry::start_before(self.buf, self.end);
            entry::read(self.buf, self.end).0
        })
    }
}
