//! Glob-style matching as Redis's `stringmatchlen`: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`
//! and `\` escapes. Used by KEYS, SCAN MATCH, CONFIG GET and (later) PSUBSCRIBE.

/// Does `text` match `pattern`? `nocase` folds ASCII case.
pub fn matches(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    if text.is_empty() {
        // Redis's matcher never enters its loop for an empty string: only an empty
        // pattern matches it (KEYS and SCAN treat a lone `*` as "everything" first).
        return pattern.is_empty();
    }
    let mut budget = 1_000_000u32; // guards against pathological backtracking
    match_from(pattern, text, nocase, &mut budget)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_from(mut p: &[u8], mut s: &[u8], nocase: bool, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    while !p.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if match_from(&p[1..], &s[i..], nocase, budget) {
                        return true;
                    }
                    if *budget == 0 {
                        return false;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                if s.is_empty() {
                    return false;
                }
                let (matched, rest) = match_class(&p[1..], s[0], nocase);
                if !matched {
                    return false;
                }
                p = rest;
                s = &s[1..];
                continue;
            }
            b'\\' if p.len() >= 2 => {
                if s.is_empty() || !eq(p[1], s[0], nocase) {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
            c => {
                if s.is_empty() || !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
    }
    s.is_empty()
}

/// Matches one byte against a `[...]` class; `p` starts after '['. Returns whether it
/// matched and the pattern after the closing ']'.
fn match_class(mut p: &[u8], c: u8, nocase: bool) -> (bool, &[u8]) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut matched = false;
    loop {
        match p {
            [] => break,
            [b'\\', x, ..] => {
                if eq(*x, c, nocase) {
                    matched = true;
                }
                p = &p[2..];
            }
            [b']', ..] => {
                p = &p[1..];
                break;
            }
            [a, b'-', b, ..] if *b != b']' || p.len() > 3 => {
                let (mut lo, mut hi) = (*a, *b);
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                let (lc, cc) = if nocase { (lo.to_ascii_lowercase(), c.to_ascii_lowercase()) } else { (lo, c) };
                let hc = if nocase { hi.to_ascii_lowercase() } else { hi };
                if cc >= lc && cc <= hc {
                    matched = true;
                }
                p = &p[3..];
            }
            [x, ..] => {
                if eq(*x, c, nocase) {
                    matched = true;
                }
                p = &p[1..];
            }
        }
    }
    (matched != negate, p)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| matches(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("proto*", "proto-max-bulk-len"));
        assert!(!m("abc", "ab"));
        assert!(matches(b"HZ", b"hz", true));
        assert!(!m("*", "") && !m("***", "") && m("", ""));
    }
}
