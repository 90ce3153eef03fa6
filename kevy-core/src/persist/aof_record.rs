//! Framing of the records an append-only file holds, checked strictly: every record is
//! a RESP multibulk (`*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`), n >= 1, with
//! every CRLF where the lengths say. Nothing else is accepted (no inline commands, which
//! no AOF writer produces), so a flipped byte in a count, a length or a terminator is
//! found at its record, where the client protocol's lenient parser would re-frame the
//! rest of the file.
//!
//! Lines that start with `#` are Redis's annotations (`aof-timestamp-enabled`): skipped.

use crate::resp::ArgSpans;

/// The longest count or length a record may announce (digits): more is corruption.
const MAX_DIGITS: usize = 18;

/// What the bytes at the front of the unread input hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole record of `consumed` bytes; its arguments are in the spans, relative to
    /// the input.
    Record { consumed: usize },
    /// An annotation line of `consumed` bytes, to skip.
    Annotation { consumed: usize },
    /// The input ends inside a record that is well formed so far.
    Torn,
    /// Not a well-formed record: why, and the offset (from the input's start) of the
    /// byte found wrong.
    Bad { at: usize, why: String },
}

/// Frames the record at the front of `input` (not empty).
pub fn frame(input: &[u8], spans: &mut ArgSpans) -> Frame {
    spans.clear();
    if input.first() == Some(&b'#') {
        return match input.iter().position(|&b| b == b'\n') {
            Some(nl) => Frame::Annotation { consumed: nl + 1 },
            None => Frame::Torn,
        };
    }
    let (count, mut pos) = match header(input, 0, b'*') {
        Ok((0, _)) => return Frame::Bad { at: 1, why: "a record of no arguments".into() },
        Ok(v) => v,
        Err(f) => return f,
    };
    for _ in 0..count {
        let (len, start) = match header(input, pos, b'$') {
            Ok(v) => v,
            Err(f) => return f,
        };
        let end = start + len;
        if let Err(f) = terminator(input, end) {
            return f;
        }
        spans.push(start, len);
        pos = end + 2;
    }
    Frame::Record { consumed: pos }
}

/// Reads `<mark><digits>\r\n` at `at`: the number and where the bytes after it start.
fn header(input: &[u8], at: usize, mark: u8) -> Result<(usize, usize), Frame> {
    match input.get(at) {
        None => return Err(Frame::Torn),
        Some(&b) if b != mark => {
            return Err(Frame::Bad { at, why: format!("expected '{}', got byte 0x{b:02x}", mark as char) })
        }
        Some(_) => {}
    }
    let digits = input[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_DIGITS {
        return Err(Frame::Bad { at: at + 1, why: "a count or length too long".into() });
    }
    let end = at + 1 + digits;
    let not_a_number = || Frame::Bad { at: end, why: format!("no number and CRLF after '{}'", mark as char) };
    match terminator(input, end) {
        Err(Frame::Bad { .. }) => return Err(not_a_number()),
        Err(torn) => return Err(torn),
        Ok(()) if digits == 0 => return Err(not_a_number()),
        Ok(()) => {}
    }
    let text = std::str::from_utf8(&input[at + 1..end]).unwrap_or("0");
    Ok((text.parse().unwrap_or(0), end + 2))
}

/// Checks for a CRLF at `at`: Torn when the input ends before or inside it.
fn terminator(input: &[u8], at: usize) -> Result<(), Frame> {
    let rest = input.get(at..).unwrap_or(&[]);
    if rest.len() >= 2 {
        if &rest[..2] == b"\r\n" {
            return Ok(());
        }
        return Err(Frame::Bad { at, why: "the argument does not end where its length says (no CRLF)".into() });
    }
    if b"\r\n".starts_with(rest) {
        // Also the case of a length running past the end of the input.
        return Err(Frame::Torn);
    }
    Err(Frame::Bad { at, why: "the argument does not end where its length says (no CRLF)".into() })
}

/// Where, after the start of a torn record, a whole record starts (just after a CRLF):
/// a torn last write does not hold one, so the torn record's length was corrupted and
/// swallowed the records after it. `is_command` says whether a record names a command.
pub fn record_inside(torn: &[u8], mut is_command: impl FnMut(&[u8], &ArgSpans) -> bool) -> Option<usize> {
    let mut spans = ArgSpans::with_capacity(8);
    let mut from = 1;
    while let Some(i) = torn[from..].windows(3).position(|w| w == b"\r\n*") {
        let at = from + i + 2;
        if let Frame::Record { .. } = frame(&torn[at..], &mut spans) {
            if is_command(&torn[at..], &spans) {
                return Some(at);
            }
        }
        from = at;
    }
    None
}

/// Commands an AOF may hold that are not writes: the framing of a transaction and
/// Redis's database switch (a file format rule, not a command effect).
const FRAMING: &[&str] = &["select", "multi", "exec"];

/// Is `cmd` one of the non-write commands an AOF may hold?
pub fn is_framing(cmd: &crate::commands::Command) -> bool {
    FRAMING.contains(&cmd.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(input: &[u8]) -> Frame {
        frame(input, &mut ArgSpans::with_capacity(4))
    }

    #[test]
    fn whole_records_annotations_and_torn_tails() {
        let rec = b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        assert_eq!(framed(rec), Frame::Record { consumed: rec.len() });
        assert_eq!(framed(b"#TS:1700000000\r\n*1"), Frame::Annotation { consumed: 16 });
        for cut in 1..rec.len() {
            assert_eq!(framed(&rec[..cut]), Frame::Torn, "cut at {cut}");
        }
        assert_eq!(framed(b"*1\r\n$100\r\nabc"), Frame::Torn);
    }

    #[test]
    fn malformed_records_are_bad_at_the_wrong_byte() {
        let bad = |input: &[u8], at: usize| match framed(input) {
            Frame::Bad { at: got, .. } => assert_eq!(got, at, "{input:?}"),
            other => panic!("{input:?}: {other:?}"),
        };
        bad(b"PING\r\n", 0);
        bad(b"\0\r\n", 0);
        bad(b"*0\r\n", 1);
        bad(b"*1x\r\n", 2);
        bad(b"*1\r\n+OK\r\n", 4);
        bad(b"*1\r\n$5\r\nPING\r\n*1", 13);
        bad(b"*1\r\n$3\r\nPING\r\n", 11);
        bad(b"*-1\r\n", 1);
        bad(b"*1\r\n$99999999999999999999\r\n", 5);
    }

    #[test]
    fn a_record_inside_a_torn_one_is_found() {
        let torn = b"*1\r\n$900\r\nabc\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        assert_eq!(record_inside(torn, |_, _| true), Some(15));
        assert_eq!(record_inside(torn, |_, _| false), None);
        assert_eq!(record_inside(b"*1\r\n$900\r\nab\r\n*", |_, _| true), None);
    }
}

