//! String commands. (Being filled in: GET, SET so far.)

use super::{errors, flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use crate::store::{Keyspace, Value, NO_EXPIRE};

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: super::Handler, summary: &'static str) -> Command {
    Command { name, arity, flags, keys, route: Route::Keys, handler, group: "string", summary, subcommands: &[] }
}

pub const COMMANDS: &[Command] = &[
    cmd("get", 2, READONLY | FAST, KeySpec::ONE, get, "Returns the string value of a key."),
    cmd("set", -3, WRITE | DENYOOM, KeySpec::ONE, set, "Sets the string value of a key, ignoring its type."),
];

/// The string under `key`: Ok(None) when missing, Err when another type.
pub fn op_get<'k>(ks: &'k mut Keyspace, key: &[u8], now_ms: u64) -> Result<Option<&'k [u8]>, &'static str> {
    match ks.read(key, now_ms) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Str(s) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            _ => Err(errors::WRONGTYPE),
        },
    }
}

/// GET key
fn get(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    match op_get(ctx.db.ks(key), key, ctx.now_ms) {
        Ok(Some(v)) => ctx.out.bulk(v),
        Ok(None) => ctx.out.null(),
        Err(e) => ctx.out.error(e),
    }
}

/// SET key value
fn set(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let key = args.get(1);
    ctx.db.ks(key).insert(key, Value::Str(args.get(2).to_vec()), NO_EXPIRE);
    ctx.out.ok();
}
