//! Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL.
//!
//! EVAL's keys are `numkeys key ...` from argument 2: the dispatcher runs the script on
//! the shard owning them, or locks every shard they live on (in shard order), so a
//! script is atomic like any multi-key command. The rows are this layer's contribution
//! to the command table (`scripting::ROWS`).

use crate::commands::effects::traits;
use crate::commands::{container, errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use super::engine::{self, Invocation};
use super::sha1_hex;

const fn eval_cmd(name: &'static str, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, -3, flags, KeySpec::NONE, handler).route(Route::KeysOrAll(eval_keys, crate::scripting::reach::spans)).group("scripting").summary(summary)
}

const fn sub(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).group("scripting").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    eval_cmd("eval", NOSCRIPT | STALE, eval, "Executes a server-side Lua script.").traits(traits::MAY_WRITE),
    eval_cmd("eval_ro", READONLY | NOSCRIPT | STALE, eval_ro, "Executes a read-only server-side Lua script."),
    eval_cmd("evalsha", NOSCRIPT | STALE, evalsha, "Executes a server-side Lua script by SHA1 digest.").traits(traits::MAY_WRITE),
    eval_cmd("evalsha_ro", READONLY | NOSCRIPT | STALE, evalsha_ro, "Executes a read-only server-side Lua script by SHA1 digest."),
    Command::new("script", -2, 0, KeySpec::NONE, container).group("scripting").summary("A container for Lua scripts management commands.").subcommands(SCRIPT_SUBCOMMANDS),
];

const SCRIPT_SUBCOMMANDS: &[Command] = &[
    sub("script|exists", -3, NOSCRIPT, script_exists, "Determines whether server-side Lua scripts exist in the script cache."),
    sub("script|flush", -2, NOSCRIPT, script_flush, "Removes all server-side Lua scripts from the script cache."),
    sub("script|kill", 2, NOSCRIPT | ALLOW_BUSY, script_kill, "Terminates a server-side Lua script during execution."),
    sub("script|load", 3, NOSCRIPT | STALE, script_load, "Loads a server-side Lua script to the script cache."),
    sub("script|help", 2, LOADING | STALE, script_help, "Returns helpful text about the different subcommands."),
];

/// EVAL's keys: `numkeys` at argument 2, then the keys.
fn eval_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 2)
}

/// The number of keys of an EVAL-like command, checked as Redis does.
fn numkeys(args: Args<'_>) -> Result<usize, &'static str> {
    let n = crate::resp::parser::parse_i64(args.get(2)).ok_or(errors::NOT_INTEGER)?;
    if n < 0 {
        return Err(errors::NUMKEYS_NEGATIVE);
    }
    if n as u64 > (args.len() - 3) as u64 {
        return Err(errors::SNUMKEYS_TOO_MANY);
    }
    Ok(n as usize)
}

/// EVAL script numkeys [key ...] [arg ...]
fn eval(ctx: &mut Ctx<'_>, args: Args<'_>) {
    eval_body(ctx, args, false);
}

/// EVAL_RO script numkeys [key ...] [arg ...]
fn eval_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    eval_body(ctx, args, true);
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
fn evalsha(ctx: &mut Ctx<'_>, args: Args<'_>) {
    eval_cached(ctx, args, false);
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
fn evalsha_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    eval_cached(ctx, args, true);
}

fn eval_body(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) {
    let n = match numkeys(args) {
        Ok(n) => n,
        Err(e) => return ctx.out.error(e),
    };
    let body = args.get(1);
    let sha = sha1_hex(body);
    let scripts = super::of(ctx.shared);
    if let Err(e) = check_and_compile(ctx, &sha, body) {
        return ctx.out.error(&e);
    }
    scripts.insert_named(&sha, body);
    run(ctx, args, n, &sha, body, read_only);
}

fn eval_cached(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) {
    let n = match numkeys(args) {
        Ok(n) => n,
        Err(e) => return ctx.out.error(e),
    };
    let Some((sha, body)) = super::of(ctx.shared).get(args.get(1)) else {
        return ctx.out.error(errors::NOSCRIPT);
    };
    run(ctx, args, n, &sha, &body, read_only);
}

/// Refuses a bad shebang and compiles the body. Err is the reply text.
fn check_and_compile(ctx: &Ctx<'_>, sha: &str, body: &[u8]) -> Result<(), String> {
    engine::shebang_flags(body)?;
    engine::compile(super::of(ctx.shared), sha, body)
}

fn run(ctx: &mut Ctx<'_>, args: Args<'_>, n: usize, sha: &str, body: &[u8], read_only: bool) {
    let no_writes = match engine::shebang_flags(body) {
        Ok(flags) => flags.is_some_and(|f| f.iter().any(|f| f == "no-writes")),
        Err(e) => return ctx.out.error(&e),
    };
    let all: Vec<&[u8]> = args.from(3).collect();
    let (keys, argv) = all.split_at(n);
    let inv = Invocation { sha, body, keys: keys.to_vec(), argv: argv.to_vec(), read_only: read_only || no_writes };
    engine::run(ctx, &inv);
}

/// SCRIPT LOAD script
fn script_load(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let body = args.get(2);
    let sha = sha1_hex(body);
    if let Err(e) = check_and_compile(ctx, &sha, body) {
        return ctx.out.error(&e);
    }
    super::of(ctx.shared).insert_named(&sha, body);
    ctx.out.bulk(sha.as_bytes());
}

/// SCRIPT EXISTS sha1 [sha1 ...]
fn script_exists(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let scripts = super::of(ctx.shared);
    ctx.out.array(args.len() - 2);
    for sha in args.from(2) {
        ctx.out.int(scripts.contains(sha) as i64);
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC]
fn script_flush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() > 3 || args.opt(2).is_some_and(|a| !is(a, "sync") && !is(a, "async")) {
        return ctx.out.error(errors::SCRIPT_FLUSH_MODE);
    }
    super::of(ctx.shared).flush();
    ctx.out.ok();
}

/// SCRIPT KILL
fn script_kill(ctx: &mut Ctx<'_>, _: Args<'_>) {
    match super::of(ctx.shared).kill(false) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// SCRIPT HELP
fn script_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    const LINES: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(LINES.len());
    for l in LINES {
        ctx.out.simple(l);
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::effects::{traits, Propagate};
    use crate::commands::CommandTable;

    /// Scripts run other commands: their rows log nothing themselves (the commands a
    /// script runs are logged) and may write.
    #[test]
    fn script_rows_declare_their_effects() {
        let table = CommandTable::with_rows(super::super::ROWS);
        for script in ["eval", "evalsha", "fcall"] {
            let row = table.lookup(script.as_bytes()).expect("a script row");
            assert!(row.is(traits::MAY_WRITE) && matches!(row.propagate, Propagate::None), "{script}");
        }
    }
}
