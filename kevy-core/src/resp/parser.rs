//! Incremental request parser: RESP multibulk (what clients send) and inline commands
//! (what `telnet` and `nc` send). It never copies multibulk arguments: it records their
//! spans in the connection's read buffer. Inline arguments need unquoting, so they are
//! copied into a scratch buffer instead.

use super::args::ArgSpans;

/// Longest inline line or `*`/`$` header Redis accepts before it gives up (64 KiB).
const MAX_INLINE: usize = 64 * 1024;

/// Limits a connection enforces while parsing (from the live config).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bulk_len: u64,
    pub max_multibulk_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_multibulk_len: i32::MAX as u64 }
    }
}

/// The outcome of one parse attempt at the front of the unread input.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command: `consumed` bytes of input; its args are in the span list,
    /// relative to the input (`inline == false`) or to the scratch buffer (`inline == true`).
    Command { consumed: usize, inline: bool },
    /// Input that carries no command (an empty inline line, `*0`, `*-1`): skip it.
    Empty { consumed: usize },
    /// More bytes are needed. `hint` is the total input length that would complete the
    /// command when it is known (a large bulk). It is only what the client announced:
    /// the caller may reserve towards it in steps, never allocate it at once.
    Incomplete { hint: usize },
    /// A protocol error: Redis replies with this text and closes the connection.
    Error(&'static str),
}

/// Parses the first command in `input`. On `Command`, `spans` (and `scratch` for inline
/// commands) describe the arguments.
#[inline]
pub fn parse(input: &[u8], limits: &Limits, spans: &mut ArgSpans, scratch: &mut Vec<u8>) -> Parsed {
    spans.clear();
    match input.first() {
        None => Parsed::Incomplete { hint: 0 },
        Some(b'*') => parse_multibulk(input, limits, spans),
        Some(_) => parse_inline(input, spans, scratch),
    }
}

pub use crate::num::parse_i64;

/// The texts of the two malformed-count errors (the dispatcher swaps them for the
/// unauthenticated limits' texts before AUTH).
pub const INVALID_MULTIBULK: &str = "ERR Protocol error: invalid multibulk length";
pub const INVALID_BULK: &str = "ERR Protocol error: invalid bulk length";

/// A header line (`*N` or `$N`) read in one pass.
enum Header {
    /// The value and the index just past its `\r\n`.
    Value(i64, usize),
    /// The line has not fully arrived (as Redis sees it).
    Partial,
    /// Not a number as Redis's string2ll reads it.
    Invalid,
}

/// Reads the header line whose type byte (`*` or `$`) is at `at`: the decimal number
/// after it, up to its `\r` (the byte after the `\r` is taken to be `\n`, as Redis
/// does). Redis finds that `\r` with strchr, which stops at a NUL byte: a NUL before
/// the `\r` leaves the line unfinished, so the client waits (until the 64 KiB header
/// limit) exactly as it would on redis-server.
#[inline(always)]
fn header(input: &[u8], at: usize) -> Header {
    // Fast path: one or two digits, what nearly every request header holds.
    if let Some(&[_, a, b, c, _]) = input.get(at..at + 5) {
        if b == b'\r' && a.is_ascii_digit() {
            return Header::Value((a - b'0') as i64, at + 4);
        }
        if c == b'\r' && (b'1'..=b'9').contains(&a) && b.is_ascii_digit() {
            return Header::Value(((a - b'0') * 10 + (b - b'0')) as i64, at + 5);
        }
    }
    header_slow(input, at)
}

/// [`header`] past its fast path: longer numbers, partial and invalid lines.
#[inline(never)]
fn header_slow(input: &[u8], at: usize) -> Header {
    let Some(cr) = input[at..].iter().position(|&c| c == b'\r' || c == 0).map(|i| at + i) else {
        return Header::Partial;
    };
    if input[cr] == 0 || cr + 1 >= input.len() {
        return Header::Partial;
    }
    // `cr == at` when the type byte itself is the `\r` (the caller rejects that byte).
    match input.get(at + 1..cr).and_then(parse_i64) {
        Some(n) => Header::Value(n, cr + 2),
        None => Header::Invalid,
    }
}

fn parse_multibulk(input: &[u8], limits: &Limits, spans: &mut ArgSpans) -> Parsed {
    let (count, mut pos) = match header(input, 0) {
        Header::Value(n, next) if n <= limits.max_multibulk_len as i64 => (n, next),
        Header::Partial if input.len() <= MAX_INLINE => return Parsed::Incomplete { hint: 0 },
        Header::Partial => return Parsed::Error("ERR Protocol error: too big mbulk count string"),
        _ => return Parsed::Error(INVALID_MULTIBULK),
    };
    if count <= 0 {
        return Parsed::Empty { consumed: pos };
    }
    for _ in 0..count {
        if pos >= input.len() {
            return Parsed::Incomplete { hint: 0 };
        }
        // Like Redis, the line must be complete before its first byte is judged.
        let line = header(input, pos);
        if !matches!(line, Header::Partial) && input[pos] != b'$' {
            return Parsed::Error(expected_dollar(input[pos]));
        }
        let (len, start) = match line {
            Header::Value(n, next) if n >= 0 && n as u64 <= limits.max_bulk_len => (n as usize, next),
            Header::Partial if input.len() - pos <= MAX_INLINE => return Parsed::Incomplete { hint: 0 },
            Header::Partial => return Parsed::Error("ERR Protocol error: too big bulk count string"),
            _ => return Parsed::Error(INVALID_BULK),
        };
        if input.len() < start + len + 2 {
            return Parsed::Incomplete { hint: start + len + 2 };
        }
        spans.push(start, len);
        pos = start + len + 2;
    }
    Parsed::Command { consumed: pos, inline: false }
}

/// Redis's text for a multibulk element that does not start with '$'.
fn expected_dollar(got: u8) -> &'static str {
    // Interned per byte so the error stays a static string.
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..=255u8)
            // Redis's error replies turn CR and LF into spaces.
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .map(|b| format!("ERR Protocol error: expected '$', got '{}'", b as char))
            .collect()
    });
    texts[got as usize].as_str()
}

fn parse_inline(input: &[u8], spans: &mut ArgSpans, scratch: &mut Vec<u8>) -> Parsed {
    // Redis looks for the newline with strchr, which stops at a NUL byte: a line with
    // a NUL in it never ends, and the client waits until the 64 KiB inline limit.
    let end = input.iter().position(|&b| b == b'\n' || b == 0).filter(|&i| input[i] == b'\n');
    let Some(nl) = end else {
        if input.len() > MAX_INLINE {
            return Parsed::Error("ERR Protocol error: too big inline request");
        }
        return Parsed::Incomplete { hint: 0 };
    };
    let line = if nl > 0 && input[nl - 1] == b'\r' { &input[..nl - 1] } else { &input[..nl] };
    scratch.clear();
    if !split_inline(line, spans, scratch) {
        return Parsed::Error("ERR Protocol error: unbalanced quotes in request");
    }
    if spans.is_empty() {
        Parsed::Empty { consumed: nl + 1 }
    } else {
        Parsed::Command { consumed: nl + 1, inline: true }
    }
}

/// Splits an inline line into arguments as Redis's `sdssplitargs` does: whitespace
/// separates, "double quotes" take C escapes (\n \r \t \b \a \\ \" \xHH), 'single
/// quotes' take only \'. A closing quote must be followed by whitespace or the end.
fn split_inline(line: &[u8], spans: &mut ArgSpans, out: &mut Vec<u8>) -> bool {
    // sdssplitargs reads a C string: a NUL ends the line (parse_inline never passes
    // one, but the loop below must not depend on that).
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut i = 0;
    loop {
        while i < line.len() && c_isspace(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return true;
        }
        let start = out.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                if i >= line.len() {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' && is_hex(line[i + 2]) && is_hex(line[i + 3]) {
                    out.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if in_sq {
                if i >= line.len() {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                if i >= line.len() {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
            }
            i += 1;
        }
        spans.push(start, out.len() - start);
    }
}

/// C's isspace in the C locale, which sdssplitargs uses between arguments and after a
/// closing quote (it includes vertical tab and form feed, unlike Rust's ASCII test).
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Parsed, Vec<Vec<u8>>) {
        let mut spans = ArgSpans::default();
        let mut scratch = Vec::new();
        let p = parse(input, &Limits::default(), &mut spans, &mut scratch);
        let base: &[u8] = match p {
            Parsed::Command { inline: true, .. } => &scratch,
            _ => input,
        };
        let args = spans.iter().map(|(s, l)| base[s..s + l].to_vec()).collect();
        (p, args)
    }

    #[test]
    fn multibulk_whole_and_partial() {
        let cmd = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let (p, args) = run(cmd);
        assert_eq!(p, Parsed::Command { consumed: cmd.len(), inline: false });
        assert_eq!(args, vec![b"GET".to_vec(), b"k".to_vec()]);
        for cut in 0..cmd.len() {
            assert!(matches!(run(&cmd[..cut]).0, Parsed::Incomplete { .. }), "cut {cut}");
        }
    }

    #[test]
    fn pipeline_parses_first_only() {
        let (p, _) = run(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(p, Parsed::Command { consumed: 14, inline: false });
    }

    #[test]
    fn inline_with_quotes() {
        let (p, args) = run(b"SET \"a b\" 'c\\'d' \"\\x41\\n\"\r\n");
        assert!(matches!(p, Parsed::Command { inline: true, .. }));
        assert_eq!(args, vec![b"SET".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]);
        assert_eq!(run(b"SET \"a\r\n").0, Parsed::Error("ERR Protocol error: unbalanced quotes in request"));
        assert_eq!(run(b"\r\n").0, Parsed::Empty { consumed: 2 });
    }

    #[test]
    fn limits_and_errors() {
        assert_eq!(run(b"*x\r\n").0, Parsed::Error("ERR Protocol error: invalid multibulk length"));
        assert_eq!(run(b"*1\r\n$600000000\r\n").0, Parsed::Error("ERR Protocol error: invalid bulk length"));
        assert_eq!(run(b"*1\r\n+a\r\n").0, Parsed::Error("ERR Protocol error: expected '$', got '+'"));
        assert_eq!(run(b"*0\r\n").0, Parsed::Empty { consumed: 4 });
        assert_eq!(run(b"*1\r\n$100\r\n").0, Parsed::Incomplete { hint: 10 + 100 + 2 });
    }

    #[test]
    fn parse_i64_like_redis() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn nul_bytes_behave_as_on_redis() {
        // strchr stops at the NUL: the line never ends, so the client waits.
        for input in [&b"PING\0\r\n"[..], b"SET k \0 v\n", b"\0\n", b"*1\0\r\n", b"*1\r\n$4\0\r\n", b"*1\r\n\0\r\n"] {
            assert_eq!(run(input).0, Parsed::Incomplete { hint: 0 }, "{input:?}");
        }
        let mut long = b"PING\0".to_vec();
        long.resize(70_000, b'x');
        long.extend_from_slice(b"\r\n");
        assert_eq!(run(&long).0, Parsed::Error("ERR Protocol error: too big inline request"));
        // Inside a bulk a NUL is just a byte.
        assert_eq!(run(b"*1\r\n$3\r\na\0b\r\n").1, vec![b"a\0b".to_vec()]);
        // Vertical tab and form feed separate arguments (C isspace) but do not end one.
        assert_eq!(run(b"\x0bPING \x0c\r\n").1, vec![b"PING".to_vec()]);
        assert_eq!(run(b"PI\x0bNG\r\n").1, vec![b"PI\x0bNG".to_vec()]);
        assert_eq!(run(b"ECHO \"a\"\x0b\r\n").1, vec![b"ECHO".to_vec(), b"a".to_vec()]);
        assert_eq!(run(b"*1\r\n\r\n").0, Parsed::Error("ERR Protocol error: expected '$', got ' '"));
        assert_eq!(run(b"*1\r\n+a").0, Parsed::Incomplete { hint: 0 });
    }

    /// Random bytes (every value, with protocol bytes more likely) parsed the way a
    /// connection does: every step consumes input or stops (Incomplete / Error).
    fn drain_random(cases: usize, mut seed: u64) {
        let special = b"*$\r\n0123456789-\0 \"'\\x\x0b";
        let mut spans = ArgSpans::default();
        let mut scratch = Vec::new();
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..cases {
            let len = (next() % 48) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 { (r >> 8) as u8 } else { special[((r >> 8) % special.len() as u64) as usize] }
                })
                .collect();
            let mut pos = 0;
            let limits = Limits { max_bulk_len: 1 << 20, ..Limits::default() };
            while pos < input.len() {
                match parse(&input[pos..], &limits, &mut spans, &mut scratch) {
                    Parsed::Command { consumed, .. } | Parsed::Empty { consumed } => {
                        assert!(consumed > 0 && pos + consumed <= input.len(), "{input:?} at {pos}");
                        pos += consumed;
                    }
                    Parsed::Incomplete { .. } | Parsed::Error(_) => break,
                }
            }
        }
    }

    #[test]
    fn random_input_never_panics_and_progresses() {
        // On a thread, so a parser that loops forever fails the test instead of hanging it.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drain_random(50_000, 0x1234_5678);
            let _ = done.send(());
        });
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(120));
        assert!(outcome.is_ok(), "parser hung or panicked on random input");
    }
}
