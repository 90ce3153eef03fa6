//! Generic key commands. (Being filled in: DEL, EXISTS so far.)

use super::{flags::*, Command, Ctx, KeySpec, Route};
use crate::resp::Args;

const fn cmd(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: super::Handler, summary: &'static str) -> Command {
    Command { name, arity, flags, keys, route: Route::Keys, handler, group: "generic", summary, subcommands: &[] }
}

pub const COMMANDS: &[Command] = &[
    cmd("del", -2, WRITE, KeySpec::ALL, del, "Deletes one or more keys."),
    cmd("exists", -2, READONLY | FAST, KeySpec::ALL, exists, "Determines whether one or more keys exist."),
];

/// DEL key [key ...]
fn del(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut n = 0;
    for key in args.from(1) {
        if ctx.db.ks(key).take(key, ctx.now_ms).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

/// EXISTS key [key ...]
fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut n = 0;
    for key in args.from(1) {
        if ctx.db.ks(key).contains(key, ctx.now_ms) {
            n += 1;
        }
    }
    ctx.out.int(n);
}
