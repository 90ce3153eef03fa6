//! The `bit` library Redis bundles (LuaBitOp): 32-bit operations on Lua numbers.
//!
//! Numbers are brought to 32 bits as LuaBitOp does: add 2^52 + 2^51 and keep the low
//! word of the double, which reduces modulo 2^32 and rounds halves to even. Results are
//! signed 32-bit values.

use mlua::{Lua, MultiValue, Result, Table, Value};

/// Reduces a Lua number to a signed 32-bit value, as LuaBitOp's `tobit`.
pub fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

/// A numeric argument (numbers and numeric strings, as `luaL_checknumber`).
fn arg(args: &MultiValue, i: usize, name: &str) -> Result<i32> {
    let v = args.get(i).unwrap_or(&Value::Nil);
    let n = match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| parse_lua_number(&s)),
        _ => None,
    };
    n.map(tobit).ok_or_else(|| {
        let got = if i >= args.len() { "no value" } else { v.type_name() };
        mlua::Error::RuntimeError(format!("bad argument #{} to '{name}' (number expected, got {got})", i + 1))
    })
}

/// Lua's string-to-number coercion: decimal or 0x hex, blanks around allowed.
pub fn parse_lua_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    if t.is_empty() || t.contains(|c: char| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E')) {
        return None;
    }
    t.parse().ok()
}

fn num(v: i32) -> Value {
    Value::Number(v as f64)
}

/// Registers the `bit` functions into `t`.
pub fn register(lua: &Lua, t: &Table) -> Result<()> {
    t.set("tobit", lua.create_function(|_, a: MultiValue| Ok(num(arg(&a, 0, "tobit")?)))?)?;
    t.set("bnot", lua.create_function(|_, a: MultiValue| Ok(num(!arg(&a, 0, "bnot")?)))?)?;
    t.set("bswap", lua.create_function(|_, a: MultiValue| Ok(num(arg(&a, 0, "bswap")?.swap_bytes())))?)?;
    t.set(
        "tohex",
        lua.create_function(|lua, a: MultiValue| {
            let x = arg(&a, 0, "tohex")? as u32;
            let n = if a.len() > 1 && !a[1].is_nil() { arg(&a, 1, "tohex")? } else { 8 };
            let upper = n < 0;
            let digits = n.unsigned_abs().min(8) as usize;
            let text = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
            lua.create_string(&text[8 - digits..])
        })?,
    )?;
    fn fold(lua: &Lua, name: &'static str, op: fn(i32, i32) -> i32) -> Result<mlua::Function> {
        lua.create_function(move |_, a: MultiValue| {
            let mut acc = arg(&a, 0, name)?;
            for i in 1..a.len() {
                acc = op(acc, arg(&a, i, name)?);
            }
            Ok(num(acc))
        })
    }
    t.set("band", fold(lua, "band", |a, b| a & b)?)?;
    t.set("bor", fold(lua, "bor", |a, b| a | b)?)?;
    t.set("bxor", fold(lua, "bxor", |a, b| a ^ b)?)?;
    fn shift(lua: &Lua, name: &'static str, op: fn(i32, u32) -> i32) -> Result<mlua::Function> {
        lua.create_function(move |_, a: MultiValue| {
            let x = arg(&a, 0, name)?;
            let n = arg(&a, 1, name)? as u32 & 31;
            Ok(num(op(x, n)))
        })
    }
    t.set("lshift", shift(lua, "lshift", |x, n| ((x as u32) << n) as i32)?)?;
    t.set("rshift", shift(lua, "rshift", |x, n| ((x as u32) >> n) as i32)?)?;
    t.set("arshift", shift(lua, "arshift", |x, n| x >> n)?)?;
    t.set("rol", shift(lua, "rol", |x, n| (x as u32).rotate_left(n) as i32)?)?;
    t.set("ror", shift(lua, "ror", |x, n| (x as u32).rotate_right(n) as i32)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobit_wraps_and_rounds_like_luabitop() {
        assert_eq!(tobit(4294967301.0), 5);
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(parse_lua_number(" 12 "), Some(12.0));
        assert_eq!(parse_lua_number("0x10"), Some(16.0));
        assert_eq!(parse_lua_number("x"), None);
        assert_eq!(parse_lua_number("1e3"), Some(1000.0));
    }
}
