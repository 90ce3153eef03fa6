//! The base functions that could write through the sandbox, wrapped as Redis 7.0's
//! patched Lua behaves: read-only tables refuse `rawset`, `setmetatable` and
//! `table.insert` ("Attempt to modify a readonly table"), and `loadstring` / `load`
//! never load precompiled bytecode (a chunk starting with ESC parses as text, so it
//! fails as Redis's does: `unexpected symbol near 'char(27)'`).
//!
//! Read-only tables are empty views whose reads fall through to a backing table (the
//! prelude's `readonly`); `backing` maps each view to what it shows, so `rawget`,
//! `next` and `pairs` see a view's contents as Redis's real read-only tables show
//! theirs. `views` holds what `getmetatable` shows for a view (the globals' metatable).
//!
//! The wrappers are Rust functions, not Lua ones: a Lua wrapper reached by a tail call
//! (`return rawset(...)`) would take the script's frame off the stack, and with it the
//! line that error replies name.

use std::cell::Cell;

use mlua::{Function, Lua, MultiValue, Table, Value};

/// The error of a write to a read-only table.
pub const READONLY: &str = "Attempt to modify a readonly table";

/// An error raised as a C function of Redis's Lua raises it: a plain message with no
/// `user_script:<line>:` position (the error handler still adds the `ERR ` prefix and
/// the `script: ...` suffix).
#[derive(Debug)]
pub(super) struct Plain(pub String);

impl std::fmt::Display for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Plain {}

fn readonly_error<T>() -> mlua::Result<T> {
    Err(mlua::Error::external(Plain(READONLY.to_string())))
}

/// Lua's name for the type of argument `v` (`no value` when it was not passed).
fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// Lua's `bad argument #n to 'f' (...)` (the error handler adds the script line).
fn bad_argument(n: usize, function: &str, what: &str) -> mlua::Error {
    mlua::Error::RuntimeError(format!("bad argument #{n} to '{function}' ({what})"))
}

fn table_arg(args: &MultiValue, n: usize, function: &str) -> mlua::Result<Table> {
    match args.get(n - 1) {
        Some(Value::Table(t)) => Ok(t.clone()),
        other => Err(bad_argument(n, function, &format!("table expected, got {}", type_name(other)))),
    }
}

fn value_arg(args: &MultiValue, n: usize, function: &str) -> mlua::Result<Value> {
    args.get(n - 1).cloned().ok_or_else(|| bad_argument(n, function, "value expected"))
}

/// An optional string argument (a chunk name): absent, nil, a string or a number.
fn check_optional_string(args: &MultiValue, n: usize, function: &str) -> mlua::Result<()> {
    match args.get(n - 1) {
        None | Some(Value::Nil | Value::String(_) | Value::Integer(_) | Value::Number(_)) => Ok(()),
        other => Err(bad_argument(n, function, &format!("string expected, got {}", type_name(other)))),
    }
}

/// The read-only views and what they show.
#[derive(Clone)]
struct Views {
    backing: Table,
    shown_metatable: Table,
}

impl Views {
    /// The table behind view `t`, if `t` is a read-only view.
    fn backing_of(&self, t: &Table) -> mlua::Result<Option<Table>> {
        match self.backing.raw_get::<Value>(t.clone())? {
            Value::Table(b) => Ok(Some(b)),
            _ => Ok(None),
        }
    }

    /// `t` itself, or the table behind it when it is a view.
    fn contents(&self, t: Table) -> mlua::Result<Table> {
        Ok(self.backing_of(&t)?.unwrap_or(t))
    }

    fn refuse_readonly(&self, t: &Table) -> mlua::Result<()> {
        match self.backing_of(t)? {
            Some(_) => readonly_error(),
            None => Ok(()),
        }
    }
}

/// The original base function `name` (before the sandbox replaced it).
fn original(lua: &Lua, name: &str) -> mlua::Result<Function> {
    lua.globals().raw_get(name)
}

/// Builds the wrappers; returns a table of global name -> wrapper for the prelude to
/// install, and puts the guarded `table.insert` in the (still writable) `table`
/// library. `backing` and `shown_metatable` are the prelude's weak-keyed registries.
pub(super) fn wrappers(lua: &Lua, backing: &Table, shown_metatable: &Table) -> mlua::Result<Table> {
    let views = Views { backing: backing.clone(), shown_metatable: shown_metatable.clone() };
    let out = lua.create_table()?;
    let next = next_wrapper(lua, &views)?;
    out.raw_set("next", next.clone())?;
    out.raw_set("pairs", pairs_wrapper(lua, next)?)?;
    out.raw_set("rawget", rawget_wrapper(lua, &views)?)?;
    out.raw_set("rawset", rawset_wrapper(lua, &views)?)?;
    out.raw_set("getmetatable", getmetatable_wrapper(lua, &views)?)?;
    out.raw_set("setmetatable", setmetatable_wrapper(lua, &views)?)?;
    out.raw_set("loadstring", loadstring_wrapper(lua)?)?;
    out.raw_set("load", load_wrapper(lua)?)?;
    let table_lib: Table = lua.globals().raw_get("table")?;
    let raw_insert: Function = table_lib.raw_get("insert")?;
    let insert = lua.create_function(move |_, args: MultiValue| {
        views.refuse_readonly(&table_arg(&args, 1, "insert")?)?;
        raw_insert.call::<MultiValue>(args)
    })?;
    table_lib.raw_set("insert", insert)?;
    Ok(out)
}

fn next_wrapper(lua: &Lua, views: &Views) -> mlua::Result<Function> {
    let (views, raw_next) = (views.clone(), original(lua, "next")?);
    lua.create_function(move |_, args: MultiValue| {
        let t = views.contents(table_arg(&args, 1, "next")?)?;
        let key = args.get(1).cloned().unwrap_or(Value::Nil);
        raw_next.call::<MultiValue>((t, key))
    })
}

/// `pairs(t)`: `next, t, nil` as Lua's, with the `next` that sees through views.
fn pairs_wrapper(lua: &Lua, next: Function) -> mlua::Result<Function> {
    lua.create_function(move |_, args: MultiValue| {
        let t = table_arg(&args, 1, "pairs")?;
        Ok((next.clone(), t, Value::Nil))
    })
}

fn rawget_wrapper(lua: &Lua, views: &Views) -> mlua::Result<Function> {
    let (views, raw_rawget) = (views.clone(), original(lua, "rawget")?);
    lua.create_function(move |_, args: MultiValue| {
        let t = views.contents(table_arg(&args, 1, "rawget")?)?;
        let key = value_arg(&args, 2, "rawget")?;
        raw_rawget.call::<Value>((t, key))
    })
}

fn rawset_wrapper(lua: &Lua, views: &Views) -> mlua::Result<Function> {
    let (views, raw_rawset) = (views.clone(), original(lua, "rawset")?);
    lua.create_function(move |_, args: MultiValue| {
        let t = table_arg(&args, 1, "rawset")?;
        let key = value_arg(&args, 2, "rawset")?;
        let value = value_arg(&args, 3, "rawset")?;
        views.refuse_readonly(&t)?;
        raw_rawset.call::<Value>((t, key, value))
    })
}

fn getmetatable_wrapper(lua: &Lua, views: &Views) -> mlua::Result<Function> {
    let (views, raw_getmetatable) = (views.clone(), original(lua, "getmetatable")?);
    lua.create_function(move |_, args: MultiValue| {
        let v = value_arg(&args, 1, "getmetatable")?;
        if let Value::Table(t) = &v {
            if views.backing_of(t)?.is_some() {
                return views.shown_metatable.raw_get::<Value>(t.clone());
            }
        }
        raw_getmetatable.call::<Value>(v)
    })
}

fn setmetatable_wrapper(lua: &Lua, views: &Views) -> mlua::Result<Function> {
    let (views, raw_setmetatable) = (views.clone(), original(lua, "setmetatable")?);
    lua.create_function(move |_, args: MultiValue| {
        let t = table_arg(&args, 1, "setmetatable")?;
        let mt = match args.get(1) {
            Some(v @ (Value::Nil | Value::Table(_))) => v.clone(),
            _ => return Err(bad_argument(2, "setmetatable", "nil or table expected")),
        };
        views.refuse_readonly(&t)?;
        raw_setmetatable.call::<Value>((t, mt))
    })
}

/// A chunk that would load as bytecode, made to parse as text: a leading blank keeps
/// the first token (ESC) and the line, so the error reads as Redis's.
fn as_text(lua: &Lua, chunk: &mlua::String) -> mlua::Result<Option<mlua::String>> {
    let bytes = chunk.as_bytes();
    if bytes.first() != Some(&0x1b) {
        return Ok(None);
    }
    let mut text = Vec::with_capacity(bytes.len() + 1);
    text.push(b' ');
    text.extend_from_slice(&bytes);
    Ok(Some(lua.create_string(&text)?))
}

fn loadstring_wrapper(lua: &Lua) -> mlua::Result<Function> {
    let raw_loadstring = original(lua, "loadstring")?;
    lua.create_function(move |lua, args: MultiValue| {
        let chunk = match args.front() {
            Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => v.clone(),
            other => return Err(bad_argument(1, "loadstring", &format!("string expected, got {}", type_name(other)))),
        };
        check_optional_string(&args, 2, "loadstring")?;
        let name = match args.get(1) {
            None | Some(Value::Nil) => chunk.clone(),
            Some(v) => v.clone(),
        };
        let text = match &chunk {
            Value::String(s) => as_text(lua, s)?.map(Value::String).unwrap_or(chunk),
            _ => chunk,
        };
        raw_loadstring.call::<MultiValue>((text, name))
    })
}

/// `load(reader [, name])`: the reader's first piece goes through [`as_text`].
fn load_wrapper(lua: &Lua) -> mlua::Result<Function> {
    let raw_load = original(lua, "load")?;
    lua.create_function(move |lua, args: MultiValue| {
        let reader = match args.front() {
            Some(Value::Function(f)) => f.clone(),
            other => return Err(bad_argument(1, "load", &format!("function expected, got {}", type_name(other)))),
        };
        check_optional_string(&args, 2, "load")?;
        let first = Cell::new(true);
        let text_reader = lua.create_function(move |lua, ()| {
            let piece = reader.call::<Value>(())?;
            if !first.replace(false) {
                return Ok(piece);
            }
            Ok(match &piece {
                Value::String(s) => as_text(lua, s)?.map(Value::String).unwrap_or(piece),
                _ => piece,
            })
        })?;
        raw_load.call::<MultiValue>((text_reader, args.get(1).cloned().unwrap_or(Value::Nil)))
    })
}
