//! COMMAND: the command table as clients see it (COUNT, LIST, INFO, DOCS, GETKEYS).
//! Everything here reads the one static table the dispatcher uses.

use crate::commands::{errors, flags, is, Command, Ctx, KeySpec};
use crate::resp::{Args, ReplyWriter};

const fn cmd(name: &'static str, arity: i32, handler: crate::commands::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags::LOADING | flags::STALE, KeySpec::NONE, handler).group("server").summary(summary)
}

pub const COMMANDS: &[Command] = &[Command::new("command", -1, flags::LOADING | flags::STALE, KeySpec::NONE, command_all).group("server").summary("Returns detailed information about all commands.").subcommands(SUBCOMMANDS)];

const SUBCOMMANDS: &[Command] = &[
    cmd("command|count", 2, command_count, "Returns a count of commands."),
    cmd("command|list", -2, command_list, "Returns a list of command names."),
    cmd("command|info", -2, command_info, "Returns information about one, multiple or all commands."),
    cmd("command|docs", -2, command_docs, "Returns documentary information about one, multiple or all commands."),
    cmd("command|getkeys", -3, command_getkeys, "Extracts the key names from an arbitrary command."),
];

/// COMMAND
fn command_all(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let all = ctx.shared.table().all();
    ctx.out.array(all.len());
    for c in all {
        write_info(&mut ctx.out, c);
    }
}

/// COMMAND COUNT
fn command_count(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.int(ctx.shared.table().len() as i64);
}

/// COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN ...]
fn command_list(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut names: Vec<&str> = ctx.shared.table().all().iter().map(|c| c.name).collect();
    if args.len() == 5 && is(args.get(2), "FILTERBY") && is(args.get(3), "PATTERN") {
        let pat = args.get(4);
        names.retain(|n| crate::glob::matches(pat, n.as_bytes(), true));
    } else if args.len() > 2 {
        return ctx.out.error(errors::SYNTAX);
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// Finds `name` or `container|sub` in the table.
fn find(ctx: &Ctx<'_>, name: &[u8]) -> Option<&'static Command> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        None => ctx.shared.table().lookup(name),
        Some((outer, _)) => ctx.shared.table().lookup(outer.as_bytes())?.subcommands.iter().find(|s| s.name == text),
    }
}

/// COMMAND INFO [command-name ...]
fn command_info(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in args.from(2) {
        match find(ctx, name) {
            Some(c) => write_info(&mut ctx.out, c),
            None => ctx.out.null(),
        }
    }
}

/// The ACL categories Redis would give a command with these flags and group.
fn categories(c: &Command) -> Vec<String> {
    let mut v = Vec::new();
    if c.has(flags::WRITE) {
        v.push("@write".to_string());
    }
    if c.has(flags::READONLY) {
        v.push("@read".to_string());
    }
    if c.has(flags::ADMIN) {
        v.push("@admin".to_string());
        v.push("@dangerous".to_string());
    }
    v.push(if c.has(flags::FAST) { "@fast" } else { "@slow" }.to_string());
    v.push(
        match c.group {
            "generic" => "@keyspace",
            "string" => "@string",
            "list" => "@list",
            "hash" => "@hash",
            "set" => "@set",
            "sorted-set" => "@sortedset",
            "geo" => "@geo",
            "stream" => "@stream",
            "bitmap" => "@bitmap",
            "hyperloglog" => "@hyperloglog",
            "connection" => "@connection",
            "transactions" => "@transaction",
            _ => "@server",
        }
        .to_string(),
    );
    if c.has(flags::BLOCKING) {
        v.push("@blocking".to_string());
    }
    v
}

/// One COMMAND INFO entry: name, arity, flags, first/last/step, categories, tips, key
/// specs, subcommands.
fn write_info(out: &mut ReplyWriter<'_>, c: &Command) {
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let mut names: Vec<&str> = flags::NAMES.iter().filter(|(bit, _)| c.has(*bit)).map(|(_, n)| *n).collect();
    if c.movable_keys() {
        names.push("movablekeys");
    }
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(c.keys.first as i64);
    out.int(c.keys.last as i64);
    out.int(c.keys.step as i64);
    let cats = categories(c);
    out.set(cats.len());
    for cat in cats {
        out.simple(&cat);
    }
    out.array(0); // tips
    if c.keys.first > 0 {
        out.array(1);
        write_key_spec(out, c);
    } else {
        out.array(0);
    }
    out.array(c.subcommands.len());
    for s in c.subcommands {
        write_info(out, s);
    }
}

fn write_key_spec(out: &mut ReplyWriter<'_>, c: &Command) {
    out.map(3);
    out.bulk(b"flags");
    let access = if c.has(flags::WRITE) { "RW" } else { "RO" };
    out.set(1);
    out.simple(access);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(c.keys.first as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if c.keys.last < 0 { c.keys.last as i64 } else { (c.keys.last - c.keys.first) as i64 });
    out.bulk(b"keystep");
    out.int(c.keys.step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// COMMAND DOCS [command-name ...]
fn command_docs(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let list: Vec<&'static Command> = if args.len() == 2 {
        ctx.shared.table().all()
    } else {
        args.from(2).filter_map(|n| find(ctx, n)).collect()
    };
    ctx.out.map(list.len());
    for c in list {
        ctx.out.bulk(c.name.as_bytes());
        write_docs(&mut ctx.out, c);
    }
}

fn write_docs(out: &mut ReplyWriter<'_>, c: &Command) {
    let has_subs = !c.subcommands.is_empty();
    out.map(if has_subs { 4 } else { 3 });
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(b"1.0.0");
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if has_subs {
        out.bulk(b"subcommands");
        out.map(c.subcommands.len());
        for s in c.subcommands {
            out.bulk(s.name.as_bytes());
            write_docs(out, s);
        }
    }
}

/// COMMAND GETKEYS command [arg ...]
fn command_getkeys(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let owned = crate::resp::OwnedArgs::from_slices(args.from(2));
    let inner = owned.args();
    let c = match crate::commands::call::resolve(ctx.shared.table(), inner) {
        Ok(c) => c,
        Err(e) if errors::is_wrong_arity(&e) => {
            return ctx.out.error(errors::GETKEYS_BAD_ARITY)
        }
        Err(_) => return ctx.out.error(errors::GETKEYS_BAD_COMMAND),
    };
    let keys: Vec<&[u8]> = c.key_positions(inner).into_iter().map(|p| inner.get(p)).collect();
    if keys.is_empty() {
        return ctx.out.error(errors::GETKEYS_NO_KEYS);
    }
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(k);
    }
}
