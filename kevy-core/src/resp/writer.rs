//! Reply encoder for RESP2 and RESP3. Handlers write replies through [`ReplyWriter`]
//! straight into the connection's output buffer; the writer picks the wire form for the
//! protocol the connection negotiated with `HELLO`.

use super::float::fmt_g17;

/// Writes replies into a byte buffer in the connection's protocol.
pub struct ReplyWriter<'a> {
    buf: &'a mut Vec<u8>,
    resp3: bool,
}

impl<'a> ReplyWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>, resp3: bool) -> Self {
        ReplyWriter { buf, resp3 }
    }
    pub fn is_resp3(&self) -> bool {
        self.resp3
    }
    /// Switches protocol mid-reply (HELLO answers in the protocol it selects).
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }
    /// Bytes written so far into the underlying buffer (used to undo a partial reply).
    pub fn mark(&self) -> usize {
        self.buf.len()
    }
    pub fn truncate(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }
    /// The bytes written since `mark` (to tell whether a command replied with an error).
    pub fn written_since(&self, mark: usize) -> &[u8] {
        self.buf.get(mark..).unwrap_or_default()
    }

    fn line(&mut self, prefix: u8, body: &[u8]) {
        self.buf.push(prefix);
        self.buf.extend_from_slice(body);
        self.buf.extend_from_slice(b"\r\n");
    }
    fn len_line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        push_int(self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }
    /// A simple string (`+text`). The text must not hold CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }
    /// An error reply; `msg` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    /// CR/LF inside the message are replaced by spaces, as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.buf.extend(msg.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn int(&mut self, n: i64) {
        self.len_line(b':', n);
    }
    pub fn bulk(&mut self, data: &[u8]) {
        self.len_line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }
    /// A bulk string holding a decimal integer (what GET returns for a counter).
    pub fn bulk_int(&mut self, n: i64) {
        let mut tmp = Vec::with_capacity(20);
        push_int(&mut tmp, n);
        self.bulk(&tmp);
    }
    /// The nil bulk string (`$-1` / `_`).
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }
    /// The nil array (`*-1` / `_`).
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }
    pub fn array(&mut self, n: usize) {
        self.len_line(b'*', n as i64);
    }
    /// A map of `n` pairs (a flat array of 2n items in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.len_line(b'%', n as i64);
        } else {
            self.len_line(b'*', 2 * n as i64);
        }
    }
    /// A set of `n` items (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        self.len_line(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }
    /// A push frame of `n` items (an array in RESP2).
    pub fn push(&mut self, n: usize) {
        self.len_line(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }
    /// A double: `,x` in RESP3, a bulk string in RESP2, formatted as Redis's `%.17g`.
    pub fn double(&mut self, d: f64) {
        let text = fmt_g17(d);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }
    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }
    /// Verbatim text (`=N\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.len_line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }
    /// Pre-encoded reply bytes (a reply computed on another shard).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

/// Appends the decimal form of `n`.
pub fn push_int(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut ReplyWriter)) -> (String, String) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        f(&mut ReplyWriter::new(&mut a, false));
        f(&mut ReplyWriter::new(&mut b, true));
        (String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap())
    }

    #[test]
    fn encodes_both_protocols() {
        assert_eq!(both(|w| w.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|w| w.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|w| w.double(1.5)), ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into()));
        assert_eq!(both(|w| w.int(i64::MIN)), (":-9223372036854775808\r\n".into(), ":-9223372036854775808\r\n".into()));
        assert_eq!(both(|w| w.error("ERR a\r\nb")).0, "-ERR a  b\r\n");
    }
}
