//! A decoded reply: what an in-process call ([`crate::Server::call`]) returns and what a
//! custom command may answer with. Replies are produced by the same handlers that serve
//! sockets, encoded in RESP3 (so doubles, maps, sets and booleans keep their type), then
//! decoded here.

use super::ReplyWriter;

/// One RESP3 reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The null reply (`_`, or RESP2's `$-1` / `*-1`).
    Nil,
    /// A simple string (`+OK`).
    Status(Vec<u8>),
    /// An error reply, its code included (`ERR ...`, `WRONGTYPE ...`).
    Error(Vec<u8>),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A bulk string (also verbatim text without its format prefix, and big numbers).
    Bulk(Vec<u8>),
    Array(Vec<Reply>),
    /// Key/value pairs in server order.
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
}

impl Reply {
    /// Is this an error reply?
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Decodes one reply from the front of `buf`; returns it and the bytes it took.
    /// None when `buf` does not start with a complete, well-formed reply.
    pub fn decode(buf: &[u8]) -> Option<(Reply, usize)> {
        let mut pos = 0;
        let r = decode_at(buf, &mut pos, 0)?;
        Some((r, pos))
    }

    /// The reply a handler just encoded into `bytes` (an internal error reply if they
    /// are not one, which would be a bug in the handler).
    pub fn from_encoded(bytes: &[u8]) -> Reply {
        Reply::decode(bytes).map_or_else(|| Reply::Error(b"ERR internal error: unreadable reply".to_vec()), |r| r.0)
    }

    /// Encodes this reply through `out` (in the protocol `out` speaks).
    pub fn encode(&self, out: &mut ReplyWriter<'_>) {
        match self {
            Reply::Nil => out.null(),
            Reply::Status(s) => out.simple(&String::from_utf8_lossy(s).replace(['\r', '\n'], " ")),
            Reply::Error(e) => out.error(&String::from_utf8_lossy(e)),
            Reply::Int(n) => out.int(*n),
            Reply::Double(d) => out.double(*d),
            Reply::Bool(b) => out.boolean(*b),
            Reply::Bulk(b) => out.bulk(b),
            Reply::Array(items) => {
                out.array(items.len());
                items.iter().for_each(|i| i.encode(out));
            }
            Reply::Set(items) => {
                out.set(items.len());
                items.iter().for_each(|i| i.encode(out));
            }
            Reply::Map(pairs) => {
                out.map(pairs.len());
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }
}

/// Replies nested deeper than this are refused (a malformed buffer, not a real reply).
const MAX_DEPTH: usize = 512;

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

fn int_of(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn decode_at(buf: &[u8], pos: &mut usize, depth: usize) -> Option<Reply> {
    if depth > MAX_DEPTH {
        return None;
    }
    let kind = *buf.get(*pos)?;
    *pos += 1;
    let head = line(buf, pos)?;
    let items = |pos: &mut usize, n: i64| -> Option<Vec<Reply>> {
        (0..n).map(|_| decode_at(buf, pos, depth + 1)).collect()
    };
    Some(match kind {
        b'+' => Reply::Status(head.to_vec()),
        b'-' => Reply::Error(head.to_vec()),
        b':' => Reply::Int(int_of(head)?),
        b',' => Reply::Double(parse_double(head)?),
        b'#' => Reply::Bool(head == b"t"),
        b'_' => Reply::Nil,
        b'(' => Reply::Bulk(head.to_vec()),
        b'$' | b'=' | b'!' => {
            let n = int_of(head)?;
            if n < 0 {
                return Some(Reply::Nil);
            }
            let body = buf.get(*pos..*pos + n as usize)?;
            if buf.get(*pos + n as usize..*pos + n as usize + 2)? != b"\r\n" {
                return None;
            }
            *pos += n as usize + 2;
            match kind {
                b'!' => Reply::Error(body.to_vec()),
                b'=' => Reply::Bulk(body.get(4..).unwrap_or_default().to_vec()),
                _ => Reply::Bulk(body.to_vec()),
            }
        }
        b'*' | b'>' => match int_of(head)? {
            n if n < 0 => Reply::Nil,
            n => Reply::Array(items(pos, n)?),
        },
        b'~' => Reply::Set(items(pos, int_of(head)?.max(0))?),
        b'%' | b'|' => {
            let flat = items(pos, int_of(head)?.max(0) * 2)?;
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            if kind == b'|' {
                // An attribute annotates the reply that follows it: keep the reply.
                return decode_at(buf, pos, depth + 1);
            }
            Reply::Map(pairs)
        }
        _ => return None,
    })
}

fn parse_double(text: &[u8]) -> Option<f64> {
    match text {
        b"inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" => Some(f64::NAN),
        _ => std::str::from_utf8(text).ok()?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: Reply) {
        let mut buf = Vec::new();
        r.encode(&mut ReplyWriter::new(&mut buf, true));
        assert_eq!(Reply::decode(&buf), Some((r, buf.len())));
    }

    #[test]
    fn decodes_every_resp3_type() {
        round_trip(Reply::Nil);
        round_trip(Reply::Status(b"OK".to_vec()));
        round_trip(Reply::Error(b"ERR bad".to_vec()));
        round_trip(Reply::Int(-42));
        round_trip(Reply::Double(1.5));
        round_trip(Reply::Double(f64::INFINITY));
        round_trip(Reply::Bool(true));
        round_trip(Reply::Bulk(b"a\r\nb".to_vec()));
        round_trip(Reply::Array(vec![Reply::Int(1), Reply::Array(vec![Reply::Nil])]));
        round_trip(Reply::Set(vec![Reply::Bulk(b"x".to_vec())]));
        round_trip(Reply::Map(vec![(Reply::Bulk(b"k".to_vec()), Reply::Double(2.0))]));
    }

    #[test]
    fn decodes_resp2_nulls_and_verbatim() {
        assert_eq!(Reply::decode(b"$-1\r\n"), Some((Reply::Nil, 5)));
        assert_eq!(Reply::decode(b"*-1\r\n"), Some((Reply::Nil, 5)));
        assert_eq!(Reply::decode(b"=8\r\ntxt:abcd\r\n").map(|r| r.0), Some(Reply::Bulk(b"abcd".to_vec())));
    }

    #[test]
    fn refuses_incomplete_or_malformed() {
        assert_eq!(Reply::decode(b"$5\r\nab\r\n"), None);
        assert_eq!(Reply::decode(b"*2\r\n:1\r\n"), None);
        assert_eq!(Reply::decode(b"?x\r\n"), None);
        assert_eq!(Reply::decode(b":notanumber\r\n"), None);
    }
}
