//! The two sorts redis-server orders search results with, reproduced so that matches
//! at equal distances come out in the same order: a full sort is glibc's `qsort` (a
//! top-down merge sort: stable), a sort of only the first COUNT is Redis's `pqsort` (NetBSD's
//! Bentley-McIlroy quicksort, without FreeBSD's switch to insertion sort, skipping
//! partitions outside the wanted ranks: not stable). Comparators return C's -1/0/1, and neither sort relies on them being a
//! total order (a NaN distance cannot make them misbehave).

/// A C-style comparison: negative, zero or positive.
pub type Compare<T> = fn(&T, &T) -> i32;

/// Sorts `v` as glibc's merge sort does: halves of `n / 2` and `n - n / 2`, merged
/// taking from the left half on ties.
pub fn sort_all<T>(v: &mut Vec<T>, cmp: Compare<T>) {
    let mut order: Vec<usize> = (0..v.len()).collect();
    let mut tmp = vec![0; v.len()];
    merge_sort(v, &mut order, &mut tmp, cmp);
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(order.iter().map(|&i| slots[i].take().expect("a permutation")));
}

fn merge_sort<T>(v: &[T], idx: &mut [usize], tmp: &mut [usize], cmp: Compare<T>) {
    let n = idx.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(v, &mut idx[..n1], &mut tmp[..n1], cmp);
    merge_sort(v, &mut idx[n1..], &mut tmp[n1..], cmp);
    let (mut i, mut j, mut k) = (0, n1, 0);
    while i < n1 && j < n {
        if cmp(&v[idx[i]], &v[idx[j]]) <= 0 {
            tmp[k] = idx[i];
            i += 1;
        } else {
            tmp[k] = idx[j];
            j += 1;
        }
        k += 1;
    }
    // What is left of the right half is already in place.
    tmp[k..k + n1 - i].copy_from_slice(&idx[i..n1]);
    idx[..k + n1 - i].copy_from_slice(&tmp[..k + n1 - i]);
}

/// Puts in `v[..count]` what a full sort would, as Redis's `pqsort(v, ..., 0, count - 1)`
/// does.
pub fn sort_first<T>(v: &mut [T], count: usize, cmp: Compare<T>) {
    if count > 0 {
        partial(v, 0, v.len(), (0, count - 1), cmp);
    }
}

/// Does `ranks` (inclusive) meet the `n` elements from `a`?
fn meets(a: usize, n: usize, ranks: (usize, usize)) -> bool {
    let (lo, hi) = ranks;
    !((lo < a && hi < a) || (lo >= a + n && hi >= a + n))
}

fn insertion<T>(v: &mut [T], a: usize, n: usize, cmp: Compare<T>) {
    for m in a + 1..a + n {
        let mut l = m;
        while l > a && cmp(&v[l - 1], &v[l]) > 0 {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn median_of_3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: Compare<T>) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b` (the ranges do not overlap).
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// The pivot: the middle element, the median of three beyond 7 elements, Tukey's
/// ninther beyond 40.
fn pivot<T>(v: &[T], a: usize, n: usize, cmp: Compare<T>) -> usize {
    let mut m = a + n / 2;
    if n > 7 {
        let (mut l, mut last) = (a, a + n - 1);
        if n > 40 {
            let d = n / 8;
            l = median_of_3(v, l, l + d, l + 2 * d, cmp);
            m = median_of_3(v, m - d, m, m + d, cmp);
            last = median_of_3(v, last - 2 * d, last - d, last, cmp);
        }
        m = median_of_3(v, l, m, last, cmp);
    }
    m
}

/// Sorts the `n` elements from `a`, leaving alone partitions that hold no rank of
/// `ranks`.
fn partial<T>(v: &mut [T], mut a: usize, mut n: usize, ranks: (usize, usize), cmp: Compare<T>) {
    loop {
        if n < 7 {
            return insertion(v, a, n, cmp);
        }
        let m = pivot(v, a, n, cmp);
        v.swap(a, m);
        // Equal elements gather at both ends ([a+1, pa) and (pd, a+n)), then move to
        // the middle.
        let (mut pa, mut pb, mut pc, mut pd) = (a + 1, a + 1, a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let end = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        swap_runs(v, pb, end - r, r);
        let left = pb - pa;
        if left > 1 && meets(a, left, ranks) {
            partial(v, a, left, ranks, cmp);
        }
        let right = pd - pc;
        if right <= 1 {
            return;
        }
        (a, n) = (end - right, right);
        if !meets(a, n, ranks) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_key(a: &(u32, u32), b: &(u32, u32)) -> i32 {
        a.0.cmp(&b.0) as i32
    }

    #[test]
    fn the_full_sort_is_stable() {
        let mut v: Vec<(u32, u32)> = (0..100).map(|i| ((i * 7919) % 13, i)).collect();
        sort_all(&mut v, by_key);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)));
    }

    #[test]
    fn the_partial_sort_orders_the_first_ranks() {
        for n in [0, 1, 6, 7, 8, 40, 41, 100, 1000] {
            for count in [1, 3, 10, 50] {
                let mut v: Vec<(u32, u32)> = (0..n).map(|i| ((i * 7919 + 13) % 97, i)).collect();
                let mut sorted = v.clone();
                sorted.sort_by_key(|e| e.0);
                sort_first(&mut v, count, by_key);
                let k = count.min(n as usize);
                let keys = |s: &[(u32, u32)]| s.iter().map(|e| e.0).collect::<Vec<_>>();
                assert_eq!(keys(&v[..k]), keys(&sorted[..k]), "n {n} count {count}");
                let mut all: Vec<u32> = v.iter().map(|e| e.1).collect();
                all.sort();
                assert_eq!(all, (0..n).collect::<Vec<_>>());
            }
        }
    }
}
