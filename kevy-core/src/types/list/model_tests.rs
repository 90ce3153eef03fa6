//! The packed list against a plain `VecDeque` model: random operations under several
//! node sizes, with elements from one byte to larger than a node, checking contents
//! and the node invariants after every step.

use std::collections::VecDeque;

use super::*;

type Model = VecDeque<Vec<u8>>;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn index(&mut self, len: usize) -> i64 {
        self.below(2 * len + 6) as i64 - len as i64 - 3
    }
}

/// An element: mostly few distinct short ones (so LREM/LPOS/LINSERT find matches),
/// integers of every width, and now and then one bigger than a node.
fn element(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0..=7 => [b"a".as_slice(), b"b", b"c", b"", b"hello"][rng.below(5)].to_vec(),
        8..=11 => ["0", "7", "-1", "300", "-5000", "70000", "-9000000", "4000000000", "-9223372036854775808"][rng.below(9)]
            .as_bytes()
            .to_vec(),
        12..=14 => ["01", "-0", "+3", "1.5"][rng.below(4)].as_bytes().to_vec(),
        15..=17 => vec![b'm'; 60 + rng.below(300)],
        18 => vec![b'L'; 3000 + rng.below(2000)],
        _ => vec![b'X'; 9000 + rng.below(70000)],
    }
}

impl List {
    /// Panics unless the list is well formed under `fill`: no empty node, counts that
    /// add up and match the entries, and no node with several elements over its limit.
    fn check(&self, fill: Fill) {
        let mut total = 0;
        for node in &self.nodes {
            assert!(node.count() > 0, "empty node");
            assert_eq!(node.iter().count(), node.count());
            assert_eq!(node.iter().rev().count(), node.count());
            if node.count() > 1 {
                assert!(fill.allows(node.used(), node.count()), "node of {} over the limit", node.used());
            }
            total += node.count();
        }
        assert_eq!(total, self.len);
    }
}

fn contents(list: &List) -> Vec<Vec<u8>> {
    list.iter().map(|e| e.to_vec()).collect()
}

fn step(rng: &mut Rng, list: &mut List, model: &mut Model) {
    let len = model.len();
    match rng.below(14) {
        0 | 1 => {
            let e = element(rng);
            list.push_front(&e);
            model.push_front(e);
        }
        2 | 3 => {
            let e = element(rng);
            list.push_back(&e);
            model.push_back(e);
        }
        4 => assert_eq!(list.pop_front(), model.pop_front()),
        5 => assert_eq!(list.pop_back(), model.pop_back()),
        6 => {
            let (left, n) = (rng.below(2) == 0, rng.below(5));
            let want: Vec<_> = (0..n.min(len)).filter_map(|_| if left { model.pop_front() } else { model.pop_back() }).collect();
            assert_eq!(pop_n(list, left, n), want);
        }
        7 if len > 0 => {
            let (at, e) = (rng.below(len), element(rng));
            list.set(at, &e);
            model[at] = e;
        }
        8 => {
            let (at, e) = (rng.below(len + 1), element(rng));
            list.insert(at, &e);
            model.insert(at, e);
        }
        9 => {
            let (pivot, e, after) = (element(rng), element(rng), rng.below(2) == 0);
            let found = model.iter().position(|x| *x == pivot);
            if let Some(i) = found {
                model.insert(if after { i + 1 } else { i }, e.clone());
            }
            assert_eq!(insert_at_pivot(list, &pivot, &e, after), found.is_some());
        }
        10 => {
            let (item, count) = (element(rng), rng.below(7) as i64 - 3);
            assert_eq!(remove_matches(list, &item, count), model_remove(model, &item, count));
        }
        11 if rng.below(4) == 0 => {
            let (start, end) = (rng.index(len), rng.index(len));
            let kept = clamp_range(start, end, len);
            *model = kept.map(|(f, t)| model.range(f..=t).cloned().collect()).unwrap_or_default();
            assert_eq!(trim(list, start, end), kept.is_some());
        }
        12 => {
            let (item, rank) = (element(rng), [1, 2, -1, -2, i64::MIN][rng.below(5)]);
            let (count, maxlen) = (rng.below(3), rng.below(len + 2));
            assert_eq!(positions(list, &item, rank, count, maxlen), model_positions(model, &item, rank, count, maxlen));
        }
        _ if len > 0 => {
            let at = rng.below(len);
            assert_eq!(list.get(at).map(|e| e.to_vec()).as_ref(), model.get(at));
            let to = at + rng.below(len - at);
            let got: Vec<_> = list.range(at..=to).map(|e| e.to_vec()).collect();
            assert_eq!(got, model.range(at..=to).cloned().collect::<Vec<_>>());
        }
        _ => {}
    }
}

fn model_remove(model: &mut Model, item: &[u8], count: i64) -> usize {
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let mut at: Vec<usize> = model.iter().enumerate().filter(|(_, e)| e.as_slice() == item).map(|(i, _)| i).collect();
    if count < 0 {
        at.reverse();
    }
    at.truncate(limit);
    at.sort_unstable();
    for i in at.iter().rev() {
        model.remove(*i);
    }
    at.len()
}

fn model_positions(model: &Model, item: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
    let len = model.len();
    let order: Vec<usize> = if rank < 0 { (0..len).rev().collect() } else { (0..len).collect() };
    let scan = if maxlen == 0 { len } else { maxlen.min(len) };
    let skip = if rank == i64::MIN { 0 } else { rank.unsigned_abs() as usize - 1 };
    let hits = order.into_iter().take(scan).filter(|&i| model[i] == item).skip(skip);
    if count == 0 || rank == i64::MIN {
        hits.collect()
    } else {
        hits.take(count).collect()
    }
}

/// Pushes a run of short elements at one end, so lists grow to many full nodes.
fn grow(rng: &mut Rng, list: &mut List, model: &mut Model) {
    let left = rng.below(2) == 0;
    for _ in 0..rng.below(200) {
        let e = format!("{}{}", ["", "k", "-"][rng.below(3)], rng.below(100_000)).into_bytes();
        if left {
            list.push_front(&e);
            model.push_front(e);
        } else {
            list.push_back(&e);
            model.push_back(e);
        }
    }
}

/// `steps` random operations under `fill`; the first half mostly grows the list.
fn run(fill: i32, seed: u64, steps: usize) {
    TEST_FILL.set(Some(fill));
    let (mut rng, mut list, mut model) = (Rng(seed), List::new(), Model::new());
    let mut most_nodes = 0;
    for n in 0..steps {
        if n < steps / 2 && rng.below(3) == 0 {
            grow(&mut rng, &mut list, &mut model);
        } else {
            step(&mut rng, &mut list, &mut model);
        }
        assert_eq!(list.len(), model.len(), "step {n}");
        most_nodes = most_nodes.max(list.nodes.len());
        if n % 23 == 0 {
            list.check(Fill(fill));
            assert_eq!(contents(&list), model.iter().cloned().collect::<Vec<_>>(), "fill {fill} step {n}");
            let copy = list.clone();
            copy.check(Fill(fill));
            assert_eq!(copy, list);
        }
    }
    list.check(Fill(fill));
    assert_eq!(contents(&list), model.into_iter().collect::<Vec<_>>());
    assert!(most_nodes >= 10, "fill {fill}: the list reached only {most_nodes} nodes");
    TEST_FILL.set(None);
}

#[test]
fn random_operations_match_a_deque() {
    for (fill, seed) in [(-2, 1), (-1, 2), (-5, 3), (1, 4), (2, 5), (3, 6), (0, 7), (16, 8), (-2, 9)] {
        run(fill, seed, 3000);
    }
}

#[test]
fn pushes_fill_nodes_to_their_limit() {
    TEST_FILL.set(Some(-2));
    let mut list = List::new();
    for i in 0..10_000 {
        list.push_back(format!("e{i}").as_bytes());
    }
    list.check(Fill(-2));
    // 7-byte entries ("e1234" + encoding + back-length) in 8 KB nodes.
    assert!(list.nodes.len() <= 10_000 * 7 / 8000 + 2, "{} nodes", list.nodes.len());
    for node in list.nodes.iter().take(list.nodes.len() - 1) {
        assert!(node.used() > 8000, "a full node uses {}", node.used());
        assert!(node.allocated() < 8192, "and allocates {}", node.allocated());
    }
    TEST_FILL.set(Some(4));
    let mut counted = List::new();
    counted.extend((0..10).map(|i| i.to_string()));
    assert_eq!(counted.nodes.iter().map(Node::count).collect::<Vec<_>>(), [4, 4, 2]);
    counted.insert(2, b"x");
    counted.check(Fill(4));
    assert_eq!(contents(&counted)[..4], [b"0".to_vec(), b"1".to_vec(), b"x".to_vec(), b"2".to_vec()]);
    TEST_FILL.set(None);
}

#[test]
fn big_elements_stand_alone_and_small_ones_merge_back() {
    TEST_FILL.set(Some(-1));
    let mut list: List = ["a", "b", "c"].into_iter().collect();
    let big = vec![b'z'; 5000];
    list.insert(1, &big);
    assert_eq!(list.nodes.len(), 3);
    list.check(Fill(-1));
    assert_eq!(remove_matches(&mut list, &big, 0), 1);
    assert_eq!(list.nodes.len(), 1, "the halves merge once the big element is gone");
    list.set(0, &big);
    list.check(Fill(-1));
    assert_eq!(list.nodes.len(), 2);
    assert_eq!(contents(&list), [big.clone(), b"b".to_vec(), b"c".to_vec()]);
    TEST_FILL.set(None);
}

#[test]
fn pops_give_room_back() {
    TEST_FILL.set(Some(-2));
    let mut list = List::new();
    for _ in 0..1000 {
        list.push_back(b"abcdef");
    }
    for _ in 0..990 {
        list.pop_front();
    }
    assert!(list.nodes[0].allocated() < 256, "{} bytes kept for 10 elements", list.nodes[0].allocated());
    TEST_FILL.set(None);
}

#[test]
fn listpacks_carry_redis_headers() {
    let list: List = ["1", "hello"].into_iter().collect();
    let lp: Vec<_> = list.listpacks().collect();
    assert_eq!(lp.len(), 1);
    // 1 -> [0x01, backlen 1]; "hello" -> [0x85, h e l l o, backlen 6].
    assert_eq!(lp[0].entries, b"\x01\x01\x85hello\x06");
    assert_eq!(lp[0].header, [16, 0, 0, 0, 2, 0]);
}

#[test]
fn the_knob_is_clamped_as_redis_clamps_it() {
    let now = || MAX_LISTPACK_SIZE.load(Ordering::Relaxed);
    set_max_listpack_size(-100);
    assert_eq!(now(), -5);
    set_max_listpack_size(i64::from(i32::MAX));
    assert_eq!(now(), 32767);
    set_max_listpack_size(0);
    assert_eq!(now(), 0);
    set_max_listpack_size(-2);
}
