//! The Lua engine: one Lua 5.1 state per thread, built on first use.
//!
//! A state holds the sandbox and the libraries (`redis`, `cjson`, `bit`, plus Lua's
//! base, string, table and math), and the functions compiled so far, by SHA-1. The
//! sandbox is Redis 7.0's: reading a missing global is an error, and the globals, the
//! library tables and the string metatable are read-only (see PRELUDE and sandbox.rs),
//! so no script or FUNCTION library changes what later ones on the thread get.
//!
//! `redis.call` runs a command on the keyspaces the EVAL holds (the shards of its
//! KEYS, or every shard); one that needs another shard is rerun or takes its lock as
//! `super::reach` decides.
//! Errors are tables `{err=...}` passed to an error handler that records where in the
//! script they were raised, so the final reply reads as Redis's
//! `ERR ... script: <sha>, on @user_script:<line>.`.
//!
//! A count hook (every 100k Lua instructions) stops the script when SCRIPT KILL asked
//! or the server stops, and past `busy-reply-threshold` lends the thread to the shard's
//! other connections (`super::busy`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mlua::{ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use crate::commands::errors;
use super::sandbox::Plain;
use super::{convert, Running, Scripts};
use crate::commands::{flags, Ctx, Route};
use crate::resp::{OwnedArgs, Reply};
use crate::store::routing::shard_of;

/// Lua instructions between two checks for SCRIPT KILL (Redis checks as often).
const HOOK_EVERY: u32 = 100_000;
/// The chunk name of user scripts: errors read `user_script:<line>: ...`.
const SCRIPT_NAME: &str = "@user_script";
/// The chunk name of function libraries.
pub(super) const FUNCTION_NAME: &str = "@user_function";

/// What a script run needs from its command.
pub struct Invocation<'a> {
    /// The script's SHA-1 (lower-case hex) and body.
    pub sha: &'a str,
    pub body: &'a [u8],
    pub keys: Vec<&'a [u8]>,
    pub argv: Vec<&'a [u8]>,
    /// EVAL_RO / EVALSHA_RO, or a `#!lua flags=no-writes` script: no write commands.
    pub read_only: bool,
}

/// The Lua side of the library, set up once per state with full access to the real
/// globals; `hidden` holds what only the library may reach (the current script's raw
/// call, its protocol). Locals keep the library safe from scripts that replace globals.
///
/// The sandbox, as Redis 7.0's: the globals and every library table are read-only
/// (writes fail with "Attempt to modify a readonly table"), and so are the string
/// metatable and the globals' metatable as `getmetatable` shows them. A read-only table
/// is an empty view over its contents (`readonly`), so every write reaches __newindex;
/// the globals table itself is such a view over `vals`. `safe` holds the Rust wrappers
/// of the base functions that would write past a view or load bytecode (sandbox.rs).
const PRELUDE: &str = r#"
local redis_raw, cjson_raw, bit_raw, unwrap, backing, shown_metatable, safe = ...
local G = _G
local raw_pcall, raw_xpcall = pcall, xpcall
local error, type, select, setmetatable, getmetatable, tostring, rawget, next =
  error, type, select, setmetatable, getmetatable, tostring, rawget, next
local sub, find, gsub = string.sub, string.find, string.gsub

-- What Redis 7.0 hides: files, output, function environments, userdata factories.
G.loadfile, G.dofile, G.print, G.getfenv, G.setfenv, G.newproxy = nil, nil, nil, nil, nil, nil
for name, f in next, safe do G[name] = f end

-- Errors the library raises reach xpcall handlers as Redis's {err=...} tables; pcall
-- returns the text of an {err=...} table, as Redis 7's pcall does.
local function fix(ok, ...)
  if ok then return ok, ... end
  local e = unwrap((...))
  if type(e) == 'table' and rawget(e, 'err') ~= nil then e = rawget(e, 'err') end
  return ok, e
end
G.pcall = function(f, ...) return fix(raw_pcall(f, ...)) end
G.xpcall = function(f, h) return raw_xpcall(f, function(e) return h(unwrap(e)) end) end

local function readonly_error() error("Attempt to modify a readonly table", 2) end
local function missing_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- A read-only view of t: empty, reads fall through to t; `backing` lets rawget, next
-- and pairs see through it and rawset, setmetatable and table.insert refuse it.
local function readonly(t)
  local view = setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
  backing[view] = t
  return view
end

local r = redis_raw
r.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  if sub(e, 1, 1) ~= '-' then e = '-' .. e end
  local code, msg
  local sp = find(e, ' ', 1, true)
  if sp then code, msg = sub(e, 2, sp - 1), sub(e, sp + 1) else code, msg = 'ERR', sub(e, 2) end
  msg = gsub(gsub(msg, '^[\r\n]+', ''), '[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end
r.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = s}
end
r.LOG_DEBUG, r.LOG_VERBOSE, r.LOG_NOTICE, r.LOG_WARNING = 0, 1, 2, 3
r.REPL_NONE, r.REPL_AOF, r.REPL_SLAVE, r.REPL_REPLICA, r.REPL_ALL = 0, 1, 2, 2, 3
r.set_repl = function() end
r.replicate_commands = function() return true end
r.breakpoint = function() return false end
r.debug = function() end

G.redis = readonly(r)
G.cjson = readonly(cjson_raw)
G.bit = readonly(bit_raw)
G.table = readonly(table)
G.math = readonly(math)
G.coroutine = readonly(coroutine)
G.string = readonly(string)
-- Method calls on strings index the read-only string table; getmetatable('') shows a
-- read-only copy of the metatable (the real one is out of reach).
local string_mt = getmetatable('')
string_mt.__index = G.string
string_mt.__metatable = readonly({__index = G.string})

-- The globals move to `vals`, leaving the globals table an empty read-only view.
local vals = {}
for k, v in next, G do vals[k] = v end
for k in next, vals do G[k] = nil end
vals._G = G
setmetatable(vals, {__index = missing_global, __metatable = false})
setmetatable(G, {__index = vals, __newindex = readonly_error, __metatable = false})
backing[G] = vals
shown_metatable[G] = readonly({__index = missing_global})

-- Runs a function's callback with its keys and arguments under the error handler.
local function call_with(f, keys, args, handler)
  return raw_xpcall(function() return f(keys, args) end, handler)
end

-- The environment of a function library: while its code loads it sees only `load_redis`
-- (register_function, log...); `finish` then points it at the full globals.
local function library_env(load_redis)
  setmetatable(load_redis, {__index = missing_global})
  local api = setmetatable({redis = readonly(load_redis)}, {__index = missing_global, __newindex = readonly_error})
  local mt = {__index = api, __newindex = readonly_error, __metatable = false}
  return setmetatable({}, mt), function() mt.__index = G end
end

-- Scripts run with the read-only globals; `vals` is where KEYS and ARGV go.
return G, vals, call_with, library_env
"#;

/// One thread's Lua state.
pub(super) struct State {
    pub(super) lua: Lua,
    /// The `Scripts` (server) and flush generation it was built for.
    owner: usize,
    generation: u64,
    /// The environment of user scripts: the read-only globals.
    env: Table,
    /// What the globals show (the table behind the read-only view): KEYS and ARGV go here.
    vals: Table,
    /// The library table behind the read-only `redis`: `call` and `pcall` are set in
    /// it for each run (they borrow the running command).
    pub(super) redis: Table,
    pub(super) xpcall: Function,
    pub(super) handler: Function,
    /// `call_with(f, keys, args, handler)` and `library_env(load_redis)` of the prelude.
    pub(super) call_with: Function,
    pub(super) library_env: Function,
    /// Compiled scripts by SHA-1.
    functions: HashMap<String, Function>,
    /// Function libraries loaded here: the shared library they came from (to notice a
    /// replaced one) and their callbacks by function name.
    pub(super) libraries: HashMap<String, (Arc<super::library::Library>, HashMap<String, Function>)>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    /// The protocol the running script asked for with `redis.setresp` (2 or 3).
    static SCRIPT_RESP: Cell<u8> = const { Cell::new(2) };
}

/// An error raised as Redis raises its `{err=...}` tables: the text is final (no
/// `user_script:<line>:` prefix), the handler adds where it happened.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

pub(super) fn raise<T>(msg: impl Into<String>) -> mlua::Result<T> {
    Err(mlua::Error::external(Raised(msg.into())))
}

/// Text of a Lua string or number argument (as `lua_tolstring`), else empty.
fn text_of(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(n) => n.to_string().into_bytes(),
        Value::Number(n) => super::cjson::fmt_g(*n, 14).into_bytes(),
        _ => Vec::new(),
    }
}

/// `redis.setresp`, `redis.sha1hex`, `redis.log`.
fn register_redis_functions(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.set(
        "setresp",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return raise(errors::SETRESP_ARITY);
            }
            match &args[0] {
                Value::Integer(v @ (2 | 3)) => SCRIPT_RESP.with(|r| r.set(*v as u8)),
                _ => return raise(errors::SETRESP_VERSION),
            }
            Ok(())
        })?,
    )?;
    redis.set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(errors::SHA1HEX_ARITY);
            }
            lua.create_string(super::sha1_hex(&text_of(&args[0])))
        })?,
    )?;
    redis.set(
        "log",
        lua.create_function(|_, args: MultiValue| {
            if args.len() < 2 {
                return raise(errors::LOG_ARITY);
            }
            let level = match &args[0] {
                Value::Integer(n) => *n as f64,
                Value::Number(n) => *n,
                _ => return raise(errors::LOG_LEVEL_NOT_NUMBER),
            };
            if !(0.0..=3.0).contains(&level) {
                return raise(errors::LOG_LEVEL_INVALID);
            }
            // Redis's default loglevel is notice: debug and verbose lines are dropped.
            if level >= 2.0 {
                let words: Vec<String> =
                    args.iter().skip(1).map(|v| String::from_utf8_lossy(&text_of(v)).into_owned()).collect();
                let lvl = if level >= 3.0 { crate::log::Level::Warning } else { crate::log::Level::Notice };
                crate::log::emit(lvl, &words.join(" "));
            }
            Ok(())
        })?,
    )?;
    Ok(())
}

type Built = (Lua, Table, Table, Table, Function, Function, Function, Function);

/// A table with weak keys: what it says about a table does not keep the table alive.
fn weak_keyed(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.raw_set("__mode", "k")?;
    t.set_metatable(Some(mt));
    Ok(t)
}

fn build() -> mlua::Result<Built> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
    let redis = lua.create_table()?;
    redis.set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.set("REDIS_VERSION_NUM", version_num(crate::REDIS_VERSION))?;
    register_redis_functions(&lua, &redis)?;
    let cjson = lua.create_table()?;
    super::cjson::register(&lua, &cjson)?;
    let bit = lua.create_table()?;
    super::bit::register(&lua, &bit)?;
    let xpcall: Function = lua.globals().raw_get("xpcall")?;
    let unwrap = lua.create_function(unwrap_error)?;
    let (backing, shown_metatable) = (weak_keyed(&lua)?, weak_keyed(&lua)?);
    let safe = super::sandbox::wrappers(&lua, &backing, &shown_metatable)?;
    let (env, vals, call_with, library_env): (Table, Table, Function, Function) = lua
        .load(PRELUDE)
        .set_name("=kevy")
        .call((redis.clone(), cjson, bit, unwrap, backing, shown_metatable, safe))?;
    let handler = lua.create_function(on_error)?;
    Ok((lua, env, vals, redis, xpcall, handler, call_with, library_env))
}

/// `7.0.15` -> 0x07000f, as `redis.REDIS_VERSION_NUM`.
fn version_num(v: &str) -> i64 {
    v.split('.').take(3).fold(0, |acc, p| (acc << 8) | p.parse::<i64>().unwrap_or(0))
}

/// The message handler of every script run: turns any error into a table `{err=...}`
/// and records the script line it was raised at (the innermost frame of the script).
fn on_error(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        Value::Error(e) => {
            let msg = root_message(&e);
            let text = if raised(&e) {
                msg
            } else if caused_by::<Plain>(&e) {
                errors::with_err_code(&msg)
            } else {
                match script_position(lua) {
                    Some((source, line)) => errors::script_error_at(&source[1..], line, &msg),
                    None => errors::with_err_code(&msg),
                }
            };
            convert::error_table(lua, text.as_bytes())?
        }
        other => {
            let text = match &other {
                Value::String(s) => s.to_string_lossy(),
                Value::Integer(n) => n.to_string(),
                Value::Number(n) => super::cjson::fmt_g(*n, 14),
                Value::Nil => "nil".to_string(),
                Value::Boolean(b) => b.to_string(),
                v => v.type_name().to_string(),
            };
            convert::error_table(lua, errors::with_err_code(&text).as_bytes())?
        }
    };
    if let Some((source, line)) = script_position(lua) {
        t.raw_set("source", source)?;
        t.raw_set("line", line)?;
    }
    Ok(t)
}

/// What a script's pcall/xpcall handler gets for an error the library raised: the
/// `{err=...}` table Redis would have raised, or the message of a Lua-style error.
fn unwrap_error(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let Value::Error(e) = err else { return Ok(err) };
    let msg = root_message(&e);
    if raised(&e) {
        return Ok(Value::Table(convert::error_table(lua, msg.as_bytes())?));
    }
    if caused_by::<Plain>(&e) {
        return Ok(Value::String(lua.create_string(msg)?));
    }
    let text = match script_position(lua) {
        Some((source, line)) => format!("{}:{line}: {msg}", &source[1..]),
        None => msg,
    };
    Ok(Value::String(lua.create_string(text)?))
}

/// The chunk name and line of the innermost frame of user code (a script or a function
/// library), if one is on the stack.
fn script_position(lua: &Lua) -> Option<(&'static str, i32)> {
    for level in 0..256 {
        let frame = lua.inspect_stack(level)?;
        let source = match frame.source().source.as_deref() {
            Some(SCRIPT_NAME) => SCRIPT_NAME,
            Some(FUNCTION_NAME) => FUNCTION_NAME,
            _ => continue,
        };
        return Some((source, frame.curr_line()));
    }
    None
}

/// Was `e` raised with [`raise`] (a final error text)?
fn raised(e: &mlua::Error) -> bool {
    caused_by::<Raised>(e)
}

/// Is `e` (or the error a callback raised inside it) a `T`?
fn caused_by<T: std::error::Error + Send + Sync + 'static>(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::CallbackError { cause, .. } => caused_by::<T>(cause),
        other => other.downcast_ref::<T>().is_some(),
    }
}

/// The message of the error a Rust callback (or the kill hook) raised.
pub(super) fn root_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        mlua::Error::ExternalError(inner) => inner.to_string(),
        mlua::Error::RuntimeError(msg) => msg.clone(),
        mlua::Error::MemoryError(msg) => msg.clone(),
        other => other.to_string(),
    }
}

/// Compiles `body` into this thread's state (SCRIPT LOAD checks scripts this way).
/// The error is the reply text.
pub fn compile(scripts: &Scripts, sha: &str, body: &[u8]) -> Result<(), String> {
    with_state(scripts, |st| function(st, sha, body).map(|_| ()))?
}

/// Runs a script for `ctx`'s command and writes its reply.
pub fn run(ctx: &mut Ctx<'_>, inv: &Invocation<'_>) {
    let shared = ctx.shared;
    let scripts = super::of(shared);
    let names = [super::reach::Name::Body(inv.body), super::reach::Name::Sha(inv.sha.as_bytes())];
    let outcome = super::reach::scoped(&names, &inv.keys, ctx.db.shards(), || with_state(scripts, |st| run_in(st, ctx, inv)));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(msg)) | Err(msg) => ctx.out.error(&msg),
    }
}

/// Runs `f` on this thread's state, (re)building it for `scripts` when needed.
pub(super) fn with_state<R>(scripts: &Scripts, f: impl FnOnce(&mut State) -> R) -> Result<R, String> {
    STATE.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return Err(errors::SCRIPT_IN_SCRIPT.to_string());
        };
        let owner = scripts as *const Scripts as usize;
        let generation = scripts.generation();
        if slot.as_ref().is_none_or(|s| s.owner != owner || s.generation != generation) {
            let (lua, env, vals, redis, xpcall, handler, call_with, library_env) =
                build().map_err(|e| errors::lua_start_failed(&e.to_string()))?;
            *slot = Some(State {
                lua,
                owner,
                generation,
                env,
                vals,
                redis,
                xpcall,
                handler,
                call_with,
                library_env,
                functions: HashMap::new(),
                libraries: HashMap::new(),
            });
        }
        Ok(f(slot.as_mut().expect("state was just built")))
    })
}

/// The compiled function of a script, compiling it on first use.
fn function(st: &mut State, sha: &str, body: &[u8]) -> Result<Function, String> {
    if let Some(f) = st.functions.get(sha) {
        return Ok(f.clone());
    }
    let f = st
        .lua
        .load(text_only(strip_shebang(body)))
        .set_name(SCRIPT_NAME)
        .set_mode(ChunkMode::Text)
        .set_environment(st.env.clone())
        .into_function()
        .map_err(|e| {
            let msg = match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => root_message(&other),
            };
            errors::script_compile_failed(&msg)
        })?;
    st.functions.insert(sha.to_string(), f.clone());
    Ok(f)
}

/// A body that starts as bytecode does (ESC) gets a leading blank: it then parses as
/// text and fails as in Redis, which never loads bytecode ("unexpected symbol near
/// 'char(27)'" on line 1).
fn text_only(mut body: Vec<u8>) -> Vec<u8> {
    if body.first() == Some(&0x1b) {
        body.insert(0, b' ');
    }
    body
}

/// A `#!lua ...` first line is the script's flags, not Lua: it is blanked (the line
/// count stays, so error lines match the body).
pub(super) fn strip_shebang(body: &[u8]) -> Vec<u8> {
    if !body.starts_with(b"#!") {
        return body.to_vec();
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    body[end..].to_vec()
}

/// The flags of a `#!lua flags=a,b` first line; None when the body has no shebang.
/// Err(reply text) for a shebang that is not `#!lua`.
pub fn shebang_flags(body: &[u8]) -> Result<Option<Vec<String>>, String> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]);
    let mut parts = line.split_whitespace();
    if parts.next() != Some("lua") {
        return Err(errors::shebang_engine(line.split_whitespace().next().unwrap_or("")));
    }
    let mut flags = Vec::new();
    for p in parts {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(errors::shebang_option(p));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            if !matches!(f, "no-writes" | "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys") {
                return Err(errors::shebang_flag(f));
            }
            flags.push(f.to_string());
        }
    }
    Ok(Some(flags))
}

fn run_in(st: &mut State, ctx: &mut Ctx<'_>, inv: &Invocation<'_>) -> Result<(), String> {
    let f = function(st, inv.sha, inv.body)?;
    let entry = Entry::Script(f);
    run_entry(st, ctx, entry, inv.sha, &inv.keys, &inv.argv, inv.read_only)
}

/// What a run calls: a script chunk (KEYS and ARGV as globals) or a function's
/// callback (keys and args as its arguments).
pub(super) enum Entry {
    Script(Function),
    Callback(Function),
}

/// Runs `entry` for `ctx`'s command and writes its reply; `name` (a SHA-1 or a function
/// name) goes into error texts. Err is an error reply of the engine itself.
pub(super) fn run_entry(
    st: &mut State,
    ctx: &mut Ctx<'_>,
    entry: Entry,
    name: &str,
    keys: &[&[u8]],
    argv: &[&[u8]],
    read_only: bool,
) -> Result<(), String> {
    let lua = &st.lua;
    let lua_err = |e: mlua::Error| errors::script_run_failed(&root_message(&e));
    let globals = &st.vals;
    let keys = string_list(lua, keys).map_err(lua_err)?;
    let argv = string_list(lua, argv).map_err(lua_err)?;
    if matches!(entry, Entry::Script(_)) {
        globals.raw_set("KEYS", keys.clone()).map_err(lua_err)?;
        globals.raw_set("ARGV", argv.clone()).map_err(lua_err)?;
    }
    SCRIPT_RESP.with(|r| r.set(2));

    let shared = ctx.shared;
    let held: Vec<usize> = (0..ctx.db.shards()).filter(|&i| ctx.db.shard(i).is_some()).collect();
    let function = matches!(entry, Entry::Callback(_));
    let command = if function { fcall_command(name, &keys, &argv) } else { Vec::new() };
    let guard = super::of(shared).start(held, function, name, command);
    stop_when_killed(lua, Arc::clone(&guard.run));
    let outcome = call_in_scope(st, ctx, entry, (keys, argv), read_only, &guard.run);
    lua.remove_hook();
    if guard.run.kill.load(Ordering::Acquire) {
        super::reach::cancel_retry(); // a killed script is not run again
    }
    let script_resp3 = SCRIPT_RESP.with(Cell::get) == 3;
    drop(guard);
    let mut values = outcome.map_err(lua_err)?.into_iter();
    let ok = matches!(values.next(), Some(Value::Boolean(true)));
    let first = values.next().unwrap_or(Value::Nil);
    if ok {
        convert::lua_to_reply(&first, &mut ctx.out, script_resp3);
    } else {
        ctx.out.error(&error_text(&first, name));
    }
    let _ = globals.raw_set("KEYS", Value::Nil);
    let _ = globals.raw_set("ARGV", Value::Nil);
    Ok(())
}

/// A Lua array of byte strings.
pub(super) fn string_list(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// FUNCTION STATS's `command` of a running function.
fn fcall_command(name: &str, keys: &Table, argv: &Table) -> Vec<Vec<u8>> {
    let strings = |t: &Table| -> Vec<Vec<u8>> {
        t.clone().sequence_values::<mlua::String>().filter_map(|v| v.ok()).map(|v| v.as_bytes().to_vec()).collect()
    };
    let (keys, argv) = (strings(keys), strings(argv));
    let mut command = vec![b"FCALL".to_vec(), name.as_bytes().to_vec(), keys.len().to_string().into_bytes()];
    command.extend(keys);
    command.extend(argv);
    command
}

/// Installs the count hook that stops the script once SCRIPT KILL (or FUNCTION KILL)
/// flagged `run` or the server stops, and serves the shard while the script is busy.
fn stop_when_killed(lua: &Lua, run: Arc<Running>) {
    super::busy::on_start();
    lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |lua, _| {
        let reason = match super::busy::on_hook(&run) {
            Err(stopped) => stopped,
            Ok(()) if run.kill.load(Ordering::Acquire) => errors::SCRIPT_KILLED,
            Ok(()) => return Ok(VmState::Continue),
        };
        // As Redis: from now on the error is raised at every line, so a script that
        // spends its time inside pcall cannot catch it for good.
        lua.set_hook(HookTriggers::new().every_line(), move |_, _| raise(reason));
        raise(reason)
    });
}

/// Calls `entry` under the error handler with `redis.call` / `redis.pcall` bound to the
/// running command for the duration of the call. Returns xpcall's results.
fn call_in_scope(
    st: &State,
    ctx: &mut Ctx<'_>,
    entry: Entry,
    (keys, argv): (Table, Table),
    read_only: bool,
    running: &Running,
) -> mlua::Result<MultiValue> {
    let redis = &st.redis;
    let shared = ctx.shared;
    // The locks the script took past its command's (`reach::grow`), held to its end.
    let grown = RefCell::new(super::reach::Grown::new());
    // redis.call and redis.pcall share the running command: one closure serves both.
    let ctx_cell = RefCell::new(ctx);
    let call = |lua: &Lua, args: &MultiValue| -> mlua::Result<(Value, bool)> {
        let resp3 = SCRIPT_RESP.with(Cell::get) == 3;
        let Ok(mut ctx) = ctx_cell.try_borrow_mut() else {
            return raise(errors::CALL_NESTED);
        };
        let mut grown = grown.borrow_mut();
        let reply = command_call(&mut ctx, (shared, &mut grown), args, (read_only, running), resp3)
            .unwrap_or_else(|m| Reply::Error(m.into_bytes()));
        let is_error = reply.is_error();
        Ok((convert::reply_to_lua(lua, &reply, resp3)?, is_error))
    };
    st.lua.scope(|scope| {
        let raising = scope.create_function(|lua, args: MultiValue| match call(lua, &args)? {
            (Value::Table(t), true) => {
                let msg = t.raw_get::<mlua::String>("err").map(|s| s.to_string_lossy()).unwrap_or_default();
                raise(msg)
            }
            (v, _) => Ok(v),
        })?;
        let protected = scope.create_function(|lua, args: MultiValue| Ok(call(lua, &args)?.0))?;
        redis.raw_set("call", raising)?;
        redis.raw_set("pcall", protected)?;
        let result = match entry {
            Entry::Script(f) => st.xpcall.call::<MultiValue>((f, st.handler.clone())),
            Entry::Callback(f) => st.call_with.call::<MultiValue>((f, keys, argv, st.handler.clone())),
        };
        redis.raw_set("call", Value::Nil)?;
        redis.raw_set("pcall", Value::Nil)?;
        super::reach::defer_grown_wakeups(shared, &mut grown.borrow_mut());
        result
    })
}

/// The reply text of a script that raised `err` (the handler's table).
pub(super) fn error_text(err: &Value, sha: &str) -> String {
    let Value::Table(t) = err else {
        return errors::SCRIPT_EXECUTION_FAILURE.to_string();
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.to_string_lossy(),
        _ => errors::UNKNOWN_ERROR.to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => format!("{msg} script: {sha}, on {source}:{line}."),
        _ => msg,
    }
}

/// One `redis.call` / `redis.pcall`: checks the command as Redis does for scripts, then
/// runs it nested in the EVAL over the keyspaces it holds. Err is an error reply text.
fn command_call<'s>(
    ctx: &mut Ctx<'_>,
    (shared, grown): (&'s dyn crate::commands::runtime::Runtime, &mut super::reach::Grown<'s>),
    args: &MultiValue,
    (read_only, running): (bool, &Running),
    resp3: bool,
) -> Result<Reply, String> {
    if args.is_empty() {
        return Err(errors::CALL_NO_ARGS.into());
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => n.to_string().into_bytes(),
            Value::Number(n) => crate::resp::float::fmt_g17(*n).into_bytes(),
            _ => return Err(errors::CALL_BAD_ARG.into()),
        });
    }
    let owned = OwnedArgs::from_slices(argv.iter());
    let cargs = owned.args();
    let table = ctx.shared.table();
    if table.lookup(cargs.get(0)).is_none() {
        return Err(errors::CALL_UNKNOWN_COMMAND.into());
    }
    let cmd = crate::commands::call::resolve(table, cargs).map_err(|msg| {
        if errors::is_wrong_arity(&msg) {
            errors::CALL_WRONG_ARITY.to_string()
        } else {
            msg
        }
    })?;
    if cmd.has(flags::NOSCRIPT) {
        return Err(errors::CALL_NOSCRIPT.into());
    }
    // Redis counts a command that may replicate (PUBLISH, PFCOUNT) as a write here.
    if read_only && cmd.has(flags::MAY_REPLICATE) {
        return Err(errors::CALL_WRITE_IN_RO.into());
    }
    if cmd.has(flags::WRITE) && read_only {
        return Err(errors::CALL_WRITE_IN_RO.into());
    }
    let shards = ctx.db.shards();
    let needed: Vec<usize> = match cmd.route {
        _ if cmd.spans_all(cargs) => (0..shards).collect(),
        Route::Pick(pick) => vec![pick(cargs, shards)],
        _ => cmd.key_positions(cargs).into_iter().map(|p| shard_of(cargs.get(p), shards)).collect(),
    };
    if shards == 1 {
        if cmd.has(flags::WRITE) {
            running.wrote.store(true, Ordering::Release);
        }
        return Ok(crate::commands::custom::call_on(ctx, cargs, resp3));
    }
    let wrote = running.wrote.load(Ordering::Acquire);
    let held = |s: usize| ctx.db.shard(s).is_some() || grown.iter().any(|(g, _)| *g == s);
    match super::reach::check(&needed, held, wrote) {
        super::reach::Check::Run => {}
        super::reach::Check::Retry => return Err(errors::SCRIPT_RERUN_ALL_SHARDS.into()),
        super::reach::Check::Grow(missing) => {
            if !super::reach::grow(shared, &missing, grown) {
                return Err(if cmd.spans_all(cargs) { errors::SCRIPT_ALL_SHARDS } else { errors::SCRIPT_UNDECLARED_KEY }.into());
            }
        }
    }
    if cmd.has(flags::WRITE) {
        running.wrote.store(true, Ordering::Release);
    }
    if grown.is_empty() {
        return Ok(crate::commands::custom::call_on(ctx, cargs, resp3));
    }
    // Over the command's shards and those the script took since.
    let mut unused = Vec::new();
    let db = ctx.db.grown(grown);
    let mut wider = Ctx::new(db, crate::resp::ReplyWriter::new(&mut unused, resp3), ctx.now_ms, None, shared, ctx.shard);
    Ok(crate::commands::custom::call_on(&mut wider, cargs, resp3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(shebang_flags(b"return 1").unwrap(), None);
        assert_eq!(shebang_flags(b"#!lua flags=no-writes\nreturn 1").unwrap(), Some(vec!["no-writes".to_string()]));
        assert_eq!(shebang_flags(b"#!lua\nreturn 1").unwrap(), Some(vec![]));
        assert!(shebang_flags(b"#!python\n").is_err());
        assert_eq!(strip_shebang(b"#!lua\nreturn 1"), b"\nreturn 1");
        assert_eq!(version_num("7.0.15"), 0x07000f);
    }
}
