//! The `cjson` library Redis bundles (lua-cjson 2.1 with Redis's settings), in Rust.
//!
//! `cjson.encode(value)`: numbers as `%.14g`, strings with `"` `\` `/` and control
//! bytes escaped (other bytes raw), a table whose keys are all positive integers is an
//! array (holes become `null`; an excessively sparse one is an error), any other table
//! is an object in Lua's iteration order, the empty table is `{}`.
//! `cjson.decode(text)`: JSON to Lua; `null` becomes `cjson.null`.

use mlua::{Lua, LightUserData, MultiValue, Result, Table, Value};

/// Nesting deeper than this is refused both ways, as lua-cjson's default.
const MAX_DEPTH: usize = 1000;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(mlua::Error::RuntimeError(msg.into()))
}

/// `cjson.null`: a light userdata holding NULL, as lua-cjson's.
pub fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// Registers `encode`, `decode` and `null` into `t`.
pub fn register(lua: &Lua, t: &Table) -> Result<()> {
    t.set(
        "encode",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return fail("bad argument #1 to 'encode' (expected 1 argument)");
            }
            let mut out = Vec::new();
            encode(&args[0], &mut out, 0)?;
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return fail("bad argument #1 to 'decode' (expected 1 argument)");
            }
            let text = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(n) => fmt_g(*n, 14).into_bytes(),
                Value::Integer(n) => n.to_string().into_bytes(),
                other => return fail(format!("bad argument #1 to 'decode' (string expected, got {})", other.type_name())),
            };
            let mut p = Parser { text: &text, pos: 0, lua };
            let v = p.value(0)?;
            p.skip_blanks();
            if p.pos < text.len() {
                return p.unexpected("the end");
            }
            Ok(v)
        })?,
    )?;
    t.set("null", null())?;
    Ok(())
}

/// `printf("%.{prec}g", d)`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", prec - 1, d);
    let (mantissa, exp) = sci.split_once('e').expect("scientific format");
    let exp: i32 = exp.parse().expect("exponent");
    if exp < -4 || exp >= prec as i32 {
        let m = crate::resp::float::trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        crate::resp::float::trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> Result<()> {
    if !n.is_finite() {
        return fail("Cannot serialise number: must not be NaN or Inf");
    }
    out.extend_from_slice(fmt_g(n, 14).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => encode_number(*n as f64, out)?,
        Value::Number(n) => encode_number(*n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => encode_table(t, out, depth + 1)?,
        other => return fail(format!("Cannot serialise {}: type not supported", other.type_name())),
    }
    Ok(())
}

/// lua-cjson's array test: the length when every key is a positive integer and the
/// array is not excessively sparse, else None (an object).
fn array_length(t: &Table) -> Result<Option<usize>> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(n) => n as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n < 1.0 || n.floor() != n || n > usize::MAX as f64 {
            return Ok(None);
        }
        max = max.max(n as usize);
        items += 1;
    }
    // Sparse ratio 2, safe size 10: lua-cjson's defaults.
    if max > 10 && max > items * 2 {
        return fail("Cannot serialise table: excessively sparse array");
    }
    Ok(Some(max))
}

fn encode_table(t: &Table, out: &mut Vec<u8>, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return fail(format!("Cannot serialise, excessive nesting ({depth})"));
    }
    match array_length(t)? {
        Some(len) if len > 0 => {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                encode(&t.raw_get::<Value>(i)?, out, depth)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &k {
                    Value::String(s) => encode_string(&s.as_bytes(), out),
                    Value::Integer(n) => encode_string(fmt_g(*n as f64, 14).as_bytes(), out),
                    Value::Number(n) => encode_string(fmt_g(*n, 14).as_bytes(), out),
                    _ => return fail("Cannot serialise table: table key must be a number or string"),
                }
                out.push(b':');
                encode(&v, out, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

struct Parser<'t> {
    text: &'t [u8],
    pos: usize,
    lua: &'t Lua,
}

impl Parser<'_> {
    fn skip_blanks(&mut self) {
        while self.text.get(self.pos).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The token at the current position, named as lua-cjson names them.
    fn token_name(&self) -> &'static str {
        match self.text.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(b't' | b'f') if self.rest_starts(b"true") || self.rest_starts(b"false") => "T_BOOLEAN",
            Some(b'n') if self.rest_starts(b"null") => "T_NULL",
            _ => "invalid token",
        }
    }

    fn rest_starts(&self, word: &[u8]) -> bool {
        self.text[self.pos..].starts_with(word)
    }

    fn unexpected<T>(&self, what: &str) -> Result<T> {
        fail(format!("Expected {what} but found {} at character {}", self.token_name(), self.pos + 1))
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        self.skip_blanks();
        match self.text.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.rest_starts(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            _ if self.rest_starts(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            _ if self.rest_starts(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            _ => self.unexpected("value"),
        }
    }

    fn nesting(&self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return fail(format!("Found too many nested data structures ({depth}) at character {}", self.pos + 1));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.nesting(depth)?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_blanks();
        if self.text.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value(depth)?;
            t.raw_set(i, v)?;
            i += 1;
            self.skip_blanks();
            match self.text.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return self.unexpected("comma or array end"),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.nesting(depth)?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.skip_blanks();
        if self.text.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_blanks();
            if self.text.get(self.pos) != Some(&b'"') {
                return self.unexpected("object key string");
            }
            let key = self.lua.create_string(self.string()?)?;
            self.skip_blanks();
            if self.text.get(self.pos) != Some(&b':') {
                return self.unexpected("colon");
            }
            self.pos += 1;
            let v = self.value(depth)?;
            t.raw_set(key, v)?;
            self.skip_blanks();
            match self.text.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                _ => return self.unexpected("comma or object end"),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        while self.text.get(self.pos).is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.pos = start;
                fail(format!("Expected value but found invalid number at character {}", start + 1))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let bad = |at: usize| fail(format!("Expected value but found invalid token at character {}", at + 1));
        loop {
            let Some(&b) = self.text.get(self.pos) else { return bad(start) };
            self.pos += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.text.get(self.pos) else { return bad(start) };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = self.hex4() else { return bad(start) };
                            if (0xD800..0xDC00).contains(&cp) && self.rest_starts(b"\\u") {
                                self.pos += 2;
                                let Some(low) = self.hex4() else { return bad(start) };
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return bad(start),
                    }
                }
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_g;

    #[test]
    fn g14_like_printf() {
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(1e20, 14), "1e+20");
        assert_eq!(fmt_g(123456789012345678.0, 14), "1.2345678901235e+17");
        assert_eq!(fmt_g(3.0, 14), "3");
        assert_eq!(fmt_g(0.0001, 14), "0.0001");
        assert_eq!(fmt_g(0.00001, 14), "1e-05");
    }
}
