//! Function libraries on a thread's Lua state: loading a library's code (which calls
//! `redis.register_function`) and calling a registered function for FCALL.
//!
//! A library loads with a restricted `redis` (register_function, log, setresp, the
//! constants) and no other globals, as in Redis; once loaded, its environment points at
//! the full globals, so its callbacks see `redis.call`, `cjson`... when they run. Each
//! shard thread loads a library the first time it runs one of its functions, so
//! module-level variables of a library are per shard.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use mlua::{ChunkMode, Function, MultiValue, Table, Value};

use crate::commands::errors;
use super::engine::{self, raise, Entry, State};
use super::library::{valid_name, FunctionMeta, Library, FLAGS};
use super::Scripts;
use crate::commands::Ctx;

type Registered = RefCell<Vec<(FunctionMeta, Function)>>;

/// Loads `code` into this thread's state; returns its functions. Err is the reply text.
fn load(st: &State, code: &[u8]) -> Result<Vec<(FunctionMeta, Function)>, String> {
    let lua = &st.lua;
    let fail = |e: mlua::Error| errors::function_register_failed(&engine::root_message(&e));
    let load_redis = lua.create_table().map_err(fail)?;
    for k in ["log", "setresp", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"] {
        load_redis.raw_set(k, st.redis.raw_get::<Value>(k).map_err(fail)?).map_err(fail)?;
    }
    let (env, finish): (Table, Function) = st.library_env.call(load_redis.clone()).map_err(fail)?;
    let chunk = lua
        .load(engine::strip_shebang(code))
        .set_name(engine::FUNCTION_NAME)
        .set_mode(ChunkMode::Text)
        .set_environment(env)
        .into_function()
        .map_err(|e| {
            let msg = match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => engine::root_message(&other),
            };
            errors::function_compile_failed(&msg)
        })?;
    let registered: Registered = RefCell::new(Vec::new());
    let outcome: mlua::Result<MultiValue> = lua.scope(|scope| {
        let register = scope.create_function(|_, args: MultiValue| register(&registered, args))?;
        load_redis.raw_set("register_function", register)?;
        let result = st.xpcall.call::<MultiValue>((chunk, st.handler.clone()));
        load_redis.raw_set("register_function", Value::Nil)?;
        result
    });
    let mut values = outcome.map_err(fail)?.into_iter();
    if !matches!(values.next(), Some(Value::Boolean(true))) {
        let err = match values.next() {
            Some(Value::Table(t)) => t.raw_get::<mlua::String>("err").map(|s| s.to_string_lossy()).unwrap_or_default(),
            _ => errors::UNKNOWN_ERROR.to_string(),
        };
        return Err(errors::function_register_failed(&err));
    }
    finish.call::<()>(()).map_err(fail)?;
    Ok(registered.into_inner())
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
fn register(registered: &Registered, args: MultiValue) -> mlua::Result<()> {
    let wrong_args = errors::REGISTER_WRONG_ARGS;
    let (name, callback, flags, description) = match (args.len(), args.front()) {
        (2, _) => {
            let Value::Function(f) = &args[1] else {
                return raise(errors::REGISTER_NOT_FUNCTION);
            };
            (args[0].clone(), f.clone(), Vec::new(), None)
        }
        (1, Some(Value::Table(t))) => named_arguments(t)?,
        _ => return raise(wrong_args),
    };
    let name = match name {
        Value::String(s) => s.to_string_lossy(),
        _ => return raise(errors::REGISTER_NAME_NOT_STRING),
    };
    if !valid_name(&name) {
        // Redis's text says "Library" here too.
        return raise(errors::BAD_LIBRARY_NAME);
    }
    let mut list = registered.borrow_mut();
    if list.iter().any(|(m, _)| m.name == name) {
        return raise(errors::FUNCTION_EXISTS_IN_LIBRARY);
    }
    list.push((FunctionMeta { name, flags, description }, callback));
    Ok(())
}

type Declared = (Value, Function, Vec<String>, Option<String>);

fn named_arguments(t: &Table) -> mlua::Result<Declared> {
    let (mut name, mut callback, mut flags, mut description) = (Value::Nil, None, Vec::new(), None);
    for pair in t.clone().pairs::<String, Value>() {
        let (k, v) = pair.or_else(|_| raise(errors::REGISTER_KEY_NOT_STRING))?;
        match (k.as_str(), v) {
            ("function_name", v) => name = v,
            ("callback", Value::Function(f)) => callback = Some(f),
            ("callback", _) => return raise(errors::REGISTER_CALLBACK_NOT_FUNCTION),
            ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
            ("description", _) => return raise(errors::REGISTER_DESCRIPTION_NOT_STRING),
            ("flags", Value::Table(list)) => {
                for f in list.sequence_values::<Value>() {
                    match f? {
                        Value::String(s) if FLAGS.contains(&s.to_string_lossy().as_str()) => flags.push(s.to_string_lossy()),
                        _ => return raise(errors::REGISTER_UNKNOWN_FLAG),
                    }
                }
            }
            ("flags", _) => return raise(errors::REGISTER_FLAGS_NOT_TABLE),
            _ => return raise(errors::REGISTER_UNKNOWN_ARG),
        }
    }
    let Some(callback) = callback else {
        return raise(errors::REGISTER_NO_CALLBACK);
    };
    Ok((name, callback, flags, description))
}

/// FUNCTION LOAD: loads `code` on this thread to check it and learn its functions.
pub fn check_library(scripts: &Scripts, name: String, code: &[u8]) -> Result<Library, String> {
    engine::with_state(scripts, |st| {
        let funcs = load(st, code)?;
        if funcs.is_empty() {
            return Err(errors::NO_FUNCTIONS_REGISTERED.to_string());
        }
        Ok(Library { name, code: Arc::from(code), functions: funcs.into_iter().map(|(m, _)| m).collect() })
    })?
}

/// The callback of function `fname` of `lib` on this thread, loading the library here
/// first when this thread has not got it (or has an older version).
fn callback(st: &mut State, lib: &Arc<Library>, fname: &str) -> Result<Function, String> {
    let fresh = st.libraries.get(&lib.name).is_some_and(|(l, _)| Arc::ptr_eq(l, lib));
    if !fresh {
        let funcs: HashMap<String, Function> = load(st, &lib.code)?.into_iter().map(|(m, f)| (m.name, f)).collect();
        st.libraries.insert(lib.name.clone(), (Arc::clone(lib), funcs));
    }
    st.libraries[&lib.name].1.get(fname).cloned().ok_or_else(|| errors::FUNCTION_NOT_FOUND.to_string())
}

/// FCALL: runs function `meta` of `lib` and writes its reply.
pub fn call(ctx: &mut Ctx<'_>, lib: &Arc<Library>, meta: &FunctionMeta, keys: &[&[u8]], args: &[&[u8]], read_only: bool) {
    let shared = ctx.shared;
    let names = [super::reach::Name::Function(meta.name.as_bytes())];
    let outcome = super::reach::scoped(&names, keys, ctx.db.shards(), || {
        engine::with_state(super::of(shared), |st| {
            let f = callback(st, lib, &meta.name)?;
            engine::run_entry(st, ctx, Entry::Callback(f), &meta.name, keys, args, read_only || meta.no_writes())
        })
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(msg)) | Err(msg) => ctx.out.error(&msg),
    }
}
