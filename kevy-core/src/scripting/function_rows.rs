//! Functions: FCALL FCALL_RO and FUNCTION LOAD/DELETE/FLUSH/KILL/LIST/STATS/HELP.
//!
//! FCALL routes by its keys like EVAL (`numkeys` at argument 2). Libraries live in the
//! server-wide registry (`scripting::library`); each shard thread loads a library's code
//! into its Lua state when it first runs one of its functions.

use crate::commands::effects::{traits, Propagate};
use crate::commands::{container, errors, flags::*, is, numkeys_positions, Command, Ctx, KeySpec, Route};
use crate::resp::Args;
use super::{functions, library};

const fn fcall_cmd(name: &'static str, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, -3, flags, KeySpec::NONE, handler).route(Route::KeysOrAll(fcall_keys, crate::scripting::reach::spans)).group("scripting").summary(summary)
}

const fn sub(name: &'static str, arity: i32, flags: u32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    // FUNCTION LOAD/DELETE/FLUSH write the library registry, not keys: not logged.
    Command::new(name, arity, flags, KeySpec::NONE, handler).group("scripting").summary(summary).propagate(Propagate::None)
}

pub const COMMANDS: &[Command] = &[
    fcall_cmd("fcall", NOSCRIPT | STALE, fcall, "Invokes a function.").traits(traits::MAY_WRITE),
    fcall_cmd("fcall_ro", READONLY | NOSCRIPT | STALE, fcall_ro, "Invokes a read-only function."),
    Command::new("function", -2, 0, KeySpec::NONE, container).group("scripting").summary("A container for function commands.").subcommands(FUNCTION_SUBCOMMANDS),
];

const FUNCTION_SUBCOMMANDS: &[Command] = &[
    sub("function|load", -3, WRITE | DENYOOM | NOSCRIPT, function_load, "Creates a library."),
    sub("function|delete", 3, WRITE | NOSCRIPT, function_delete, "Deletes a library and its functions."),
    sub("function|flush", -2, WRITE | NOSCRIPT, function_flush, "Deletes all libraries and functions."),
    sub("function|kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill, "Terminates a function during execution."),
    sub("function|list", -2, NOSCRIPT, function_list, "Returns information about all libraries."),
    sub("function|stats", 2, NOSCRIPT | ALLOW_BUSY, function_stats, "Returns information about a function during execution."),
    sub("function|help", 2, LOADING | STALE, function_help, "Returns helpful text about the different subcommands."),
];

fn fcall_keys(args: Args<'_>) -> Option<Vec<usize>> {
    numkeys_positions(args, 2)
}

/// FCALL function numkeys [key ...] [arg ...]
fn fcall(ctx: &mut Ctx<'_>, args: Args<'_>) {
    fcall_generic(ctx, args, false);
}

/// FCALL_RO function numkeys [key ...] [arg ...]
fn fcall_ro(ctx: &mut Ctx<'_>, args: Args<'_>) {
    fcall_generic(ctx, args, true);
}

fn fcall_generic(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) {
    let Some((lib, meta)) = super::of(ctx.shared).libraries.function(args.get(1)) else {
        return ctx.out.error(errors::FUNCTION_NOT_FOUND);
    };
    let n = match crate::resp::parser::parse_i64(args.get(2)) {
        None => return ctx.out.error(errors::BAD_NUMKEYS),
        Some(n) if n < 0 => return ctx.out.error(errors::NUMKEYS_NEGATIVE),
        Some(n) if n as u64 > (args.len() - 3) as u64 => {
            return ctx.out.error(errors::SNUMKEYS_TOO_MANY)
        }
        Some(n) => n as usize,
    };
    if read_only && !meta.no_writes() {
        return ctx.out.error(errors::RO_SCRIPT_WRITE_FLAG);
    }
    let all: Vec<&[u8]> = args.from(3).collect();
    let (keys, argv) = all.split_at(n);
    functions::call(ctx, &lib, &meta, keys, argv, read_only);
}

/// FUNCTION LOAD [REPLACE] function-code
fn function_load(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut replace = false;
    for opt in args.iter().skip(2).take(args.len() - 3) {
        if is(opt, "replace") {
            replace = true;
        } else {
            return ctx.out.error(&errors::unknown_option_given(opt));
        }
    }
    let code = args.get(args.len() - 1);
    let libraries = &super::of(ctx.shared).libraries;
    let name = match library::parse_metadata(code) {
        Ok(name) => name,
        Err(e) => return ctx.out.error(&e),
    };
    if !replace && libraries.exists(&name) {
        return ctx.out.error(&errors::library_exists(&name));
    }
    let lib = match functions::check_library(super::of(ctx.shared), name.clone(), code) {
        Ok(lib) => lib,
        Err(e) => return ctx.out.error(&e),
    };
    match libraries.insert(lib, replace) {
        Ok(()) => ctx.out.bulk(name.as_bytes()),
        Err(e) => ctx.out.error(&e),
    }
}

/// FUNCTION DELETE library-name
fn function_delete(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if super::of(ctx.shared).libraries.delete(args.get(2)) {
        ctx.out.ok();
    } else {
        ctx.out.error(errors::LIBRARY_NOT_FOUND);
    }
}

/// FUNCTION FLUSH [ASYNC|SYNC]
fn function_flush(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() > 3 || args.opt(2).is_some_and(|a| !is(a, "sync") && !is(a, "async")) {
        return ctx.out.error(errors::FUNCTION_FLUSH_MODE);
    }
    super::of(ctx.shared).libraries.flush();
    ctx.out.ok();
}

/// FUNCTION KILL
fn function_kill(ctx: &mut Ctx<'_>, _: Args<'_>) {
    match super::of(ctx.shared).kill(true) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
fn function_list(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (mut pattern, mut with_code) = (None, false);
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "withcode") {
            with_code = true;
        } else if is(a, "libraryname") {
            let Some(p) = args.opt(i + 1) else {
                return ctx.out.error(errors::LIBRARY_NAME_ARG_MISSING);
            };
            pattern = Some(p);
            i += 1;
        } else {
            return ctx.out.error(&errors::unknown_argument(a));
        }
        i += 1;
    }
    let libs: Vec<_> = super::of(ctx.shared)
        .libraries
        .all()
        .into_iter()
        .filter(|l| pattern.is_none_or(|p| crate::glob::matches(p, l.name.as_bytes(), false)))
        .collect();
    let out = &mut ctx.out;
    out.array(libs.len());
    for lib in &libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set(f.flags.len());
            f.flags.iter().for_each(|fl| out.simple(fl));
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
}

/// FUNCTION STATS
fn function_stats(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let scripts = super::of(ctx.shared);
    let running = scripts.running();
    // As Redis: while an EVAL is busy, FUNCTION STATS gets that script's -BUSY.
    if let Some(eval) = running.iter().find(|r| !r.function) {
        if super::busy_anywhere(scripts, ctx.shared.config(), ctx.shared.shard_count()).is_some() {
            return ctx.out.error(eval.busy_text());
        }
    }
    let libs = scripts.libraries.all();
    let functions: usize = libs.iter().map(|l| l.functions.len()).sum();
    let out = &mut ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match running.iter().find(|r| r.function) {
        Some(run) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(run.name.as_bytes());
            out.bulk(b"command");
            out.array(run.command.len());
            for word in &run.command {
                out.bulk(word);
            }
            out.bulk(b"duration_ms");
            out.int(run.started.elapsed().as_millis() as i64);
        }
        None => out.null(),
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs.len() as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
}

/// FUNCTION HELP
fn function_help(ctx: &mut Ctx<'_>, _: Args<'_>) {
    const LINES: &[&str] = &[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.array(LINES.len());
    for l in LINES {
        ctx.out.simple(l);
    }
}
