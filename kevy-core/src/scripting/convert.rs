//! Conversions between command replies and Lua values, with Redis's rules.
//!
//! Reply -> Lua (what `redis.call` returns): integer -> number, bulk -> string, status
//! -> `{ok=...}`, error -> `{err=...}`, array -> table, null -> false (RESP2) or nil
//! (RESP3). Under `redis.setresp(3)` also map -> `{map={...}}`, set -> `{set={...}}`,
//! double -> `{double=n}`, boolean -> boolean.
//!
//! Lua -> reply (what the script returns): number -> integer (truncated), string ->
//! bulk, true -> 1, false -> null (booleans under RESP3), nil -> null, table with a
//! string `err` -> error, `ok` -> status, `double`/`map`/`set` -> those types, else an
//! array of `t[1], t[2], ...` up to the first nil.

use mlua::{Lua, Result, Table, Value};

use crate::commands::errors;
use crate::resp::{Reply, ReplyWriter};

/// Tables nested deeper than this are cut (a table may even contain itself).
const MAX_DEPTH: usize = 1000;

/// Converts a command's reply for the script, which speaks RESP3 when `resp3`.
pub fn reply_to_lua(lua: &Lua, r: &Reply, resp3: bool) -> Result<Value> {
    Ok(match r {
        Reply::Nil => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Status(s) => Value::Table(single(lua, "ok", Value::String(lua.create_string(s)?))?),
        Reply::Error(e) => Value::Table(error_table(lua, e)?),
        Reply::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
            }
            Value::Table(t)
        }
        Reply::Map(pairs) => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            Value::Table(single(lua, "map", Value::Table(m))?)
        }
        Reply::Set(items) => {
            let s = lua.create_table()?;
            for item in items {
                s.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            Value::Table(single(lua, "set", Value::Table(s))?)
        }
        Reply::Double(d) => Value::Table(single(lua, "double", Value::Number(*d))?),
        Reply::Bool(b) => Value::Boolean(*b),
    })
}

fn single(lua: &Lua, key: &str, v: Value) -> Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(key, v)?;
    Ok(t)
}

/// `{err=text}` with trailing CR/LF removed, as Redis stores command errors.
pub fn error_table(lua: &Lua, text: &[u8]) -> Result<Table> {
    let end = text.iter().rposition(|b| !matches!(b, b'\r' | b'\n')).map_or(0, |i| i + 1);
    single(lua, "err", Value::String(lua.create_string(&text[..end])?))
}

/// C's `(long long)` cast of a double on x86-64: truncation, and the "integer
/// indefinite" value for NaN and out-of-range numbers.
pub fn lua_number_to_i64(n: f64) -> i64 {
    if n.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Writes the script's return value as the reply. `script_resp3`: the script called
/// `redis.setresp(3)` (booleans then stay booleans).
pub fn lua_to_reply(v: &Value, out: &mut ReplyWriter<'_>, script_resp3: bool) {
    write_value(v, out, script_resp3, 0);
}

fn write_value(v: &Value, out: &mut ReplyWriter<'_>, resp3: bool, depth: usize) {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => match (resp3, b) {
            (false, true) => out.int(1),
            (false, false) => out.null(),
            (true, b) => out.boolean(*b),
        },
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(lua_number_to_i64(*n)),
        Value::Table(t) if depth < MAX_DEPTH => write_table(t, out, resp3, depth + 1),
        Value::Table(_) => out.error(errors::LUA_STACK_LIMIT),
        _ => out.null(),
    }
}

fn string_field(t: &Table, key: &str) -> Option<Vec<u8>> {
    match t.raw_get::<Value>(key).ok()? {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn write_table(t: &Table, out: &mut ReplyWriter<'_>, resp3: bool, depth: usize) {
    if let Some(err) = string_field(t, "err") {
        out.error(&String::from_utf8_lossy(&err));
        return;
    }
    if let Some(ok) = string_field(t, "ok") {
        out.simple(&String::from_utf8_lossy(&ok).replace(['\r', '\n'], " "));
        return;
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return out.double(d),
        Ok(Value::Integer(d)) => return out.double(d as f64),
        _ => {}
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(|p| p.ok()).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_value(k, out, resp3, depth);
            write_value(v, out, resp3, depth);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = s.pairs::<Value, Value>().filter_map(|p| p.ok().map(|(k, _)| k)).collect();
        out.set(members.len());
        for m in &members {
            write_value(m, out, resp3, depth);
        }
        return;
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for item in &items {
        write_value(item, out, resp3, depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_of(lua: &Lua, code: &str, resp3_client: bool, script_resp3: bool) -> Vec<u8> {
        let v: Value = lua.load(code).eval().unwrap();
        let mut buf = Vec::new();
        lua_to_reply(&v, &mut ReplyWriter::new(&mut buf, resp3_client), script_resp3);
        buf
    }

    #[test]
    fn lua_values_become_redis_replies() {
        let lua = Lua::new();
        assert_eq!(reply_of(&lua, "return 3.99", false, false), b":3\r\n");
        assert_eq!(reply_of(&lua, "return -3.99", false, false), b":-3\r\n");
        assert_eq!(reply_of(&lua, "return 1e30", false, false), b":-9223372036854775808\r\n");
        assert_eq!(reply_of(&lua, "return {1,2,nil,4}", false, false), b"*2\r\n:1\r\n:2\r\n");
        assert_eq!(reply_of(&lua, "return false", false, false), b"$-1\r\n");
        assert_eq!(reply_of(&lua, "return false", true, false), b"_\r\n");
        assert_eq!(reply_of(&lua, "return false", true, true), b"#f\r\n");
        assert_eq!(reply_of(&lua, "return true", false, true), b":1\r\n");
        assert_eq!(reply_of(&lua, "return {ok='a\\r\\nb'}", false, false), b"+a  b\r\n");
        assert_eq!(reply_of(&lua, "return {err='-boom'}", false, false), b"--boom\r\n");
        assert_eq!(reply_of(&lua, "return {double=3.25}", true, false), b",3.25\r\n");
        assert_eq!(reply_of(&lua, "return {map={a=1}}", false, false), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(reply_of(&lua, "return {set={a=true}}", true, false), b"~1\r\n$1\r\na\r\n");
        assert!(reply_of(&lua, "local t = {}; t[1] = t; return t", false, false).len() > 1000);
    }

    #[test]
    fn replies_become_lua_values() {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, &Reply::Array(vec![Reply::Nil, Reply::Int(2)]), false).unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.raw_get::<Value>(1).unwrap(), Value::Boolean(false));
        let e = reply_to_lua(&lua, &Reply::Error(b"ERR x\r\n".to_vec()), false).unwrap();
        assert_eq!(e.as_table().unwrap().raw_get::<String>("err").unwrap(), "ERR x");
        assert_eq!(reply_to_lua(&lua, &Reply::Nil, true).unwrap(), Value::Nil);
    }
}
