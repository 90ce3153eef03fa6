//! Connection commands: PING ECHO QUIT HELLO SELECT CLIENT.

use super::{container, errors, flags::*, is, rules, Command, Ctx, KeySpec, Session};
use crate::resp::parser::parse_i64;
use crate::resp::Args;

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: super::Handler, summary: &'static str) -> Command {
    Command::new(name, arity, flags, KeySpec::NONE, handler).group("connection").summary(summary)
}

pub const COMMANDS: &[Command] = &[
    cmd("ping", -1, FAST | STALE, ping, "Returns the server's liveliness response.").rules(rules::WHEN_SUBSCRIBED),
    cmd("echo", 2, FAST, echo, "Returns the given string."),
    cmd("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, reset, "Resets the connection.")
        .session(Session::Reset)
        .rules(rules::WHEN_SUBSCRIBED | rules::NOT_QUEUED),
    cmd("quit", -1, FAST | NO_AUTH | STALE | LOADING | ALLOW_BUSY, quit, "Closes the connection.")
        .rules(rules::WHEN_SUBSCRIBED | rules::NOT_QUEUED),
    cmd("hello", -1, FAST | NO_AUTH | STALE | LOADING | ALLOW_BUSY, hello, "Handshakes with the Redis server."),
    cmd("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, auth, "Authenticates the connection."),
    cmd("select", 2, FAST | LOADING | STALE, select, "Changes the selected database."),
    Command::new("client", -2, 0, KeySpec::NONE, container).group("connection").summary("A container for client connection commands.").subcommands(CLIENT_SUBCOMMANDS),
];

const CLIENT_SUBCOMMANDS: &[Command] = &[
    cmd("client|id", 2, LOADING | STALE, client_id, "Returns the unique client ID of the connection."),
    cmd("client|setname", 3, LOADING | STALE, client_setname, "Sets the connection name."),
    cmd("client|getname", 2, LOADING | STALE, client_getname, "Returns the name of the connection."),
    cmd("client|list", -2, ADMIN | LOADING | STALE, client_list, "Lists open connections."),
    cmd("client|info", 2, LOADING | STALE, client_info, "Returns information about the connection."),
    cmd("client|setinfo", 4, LOADING | STALE, client_setinfo, "Sets information specific to the client."),
];

/// PING [message]
fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) {
    if ctx.client.as_ref().is_some_and(|c| c.subs.any() && !c.resp3) && args.len() <= 2 {
        // In RESP2 subscribed mode PING answers in the shape of a message.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        return ctx.out.bulk(args.opt(1).unwrap_or_default());
    }
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(args.get(1)),
        _ => ctx.out.error(&errors::wrong_arity("ping")),
    }
}

/// RESET: back to a fresh connection's state: no subscriptions, RESP2, no name (the
/// session step `Session::Reset` has ended MULTI and WATCH first).
fn reset(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let (shared, shard) = (ctx.shared, ctx.shard);
    let client = ctx.client();
    let conn = crate::store::blocked::ConnRef { slot: client.slot, generation: client.generation };
    let subs = std::mem::take(&mut client.subs);
    shared.forget_subscriptions(shard, &subs, conn);
    client.resp3 = false;
    client.name.clear();
    client.changed = true;
    // Back to the default user, authenticated only when it has no password (as Redis).
    client.auth_pending = super::auth::password_required(shared.config());
    ctx.out.set_resp3(false);
    ctx.out.simple("RESET");
}

/// ECHO message
fn echo(ctx: &mut Ctx<'_>, args: Args<'_>) {
    ctx.out.bulk(args.get(1));
}

/// QUIT
fn quit(ctx: &mut Ctx<'_>, _: Args<'_>) {
    ctx.out.ok();
    ctx.client().close_after_reply = true;
}

/// AUTH [username] password — kevy's one user is `default`, its password
/// `requirepass`; without one any password is accepted for `default`, as Redis.
fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (user, password) = match args.len() {
        2 if !super::auth::password_required(ctx.shared.config()) => return ctx.out.error(errors::AUTH_NO_PASSWORD),
        2 => (&b"default"[..], args.get(1)),
        3 => (args.get(1), args.get(2)),
        _ => return ctx.out.error(errors::SYNTAX),
    };
    if !super::auth::credentials_match(ctx.shared.config(), user, password) {
        return ctx.out.error(errors::WRONGPASS);
    }
    if let Some(client) = ctx.client.as_deref_mut() {
        client.auth_pending = false;
    }
    ctx.out.ok();
}

/// SELECT index — kevy has one database, 0.
fn select(ctx: &mut Ctx<'_>, args: Args<'_>) {
    match parse_i64(args.get(1)) {
        None => ctx.out.error(errors::NOT_INTEGER),
        Some(0) => ctx.out.ok(),
        Some(_) => ctx.out.error(errors::DB_INDEX_RANGE),
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut resp3 = ctx.client().resp3;
    if args.len() >= 2 {
        match parse_i64(args.get(1)) {
            None => return ctx.out.error(errors::PROTOCOL_NOT_INTEGER),
            Some(2) => resp3 = false,
            Some(3) => resp3 = true,
            Some(_) => return ctx.out.error(errors::NOPROTO),
        }
    }
    let mut name = None;
    let mut credentials = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(args.get(i), "AUTH") && more >= 2 {
            credentials = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if is(args.get(i), "SETNAME") && more >= 1 {
            let n = args.get(i + 1);
            if !valid_client_name(n) {
                return ctx.out.error(errors::CLIENT_NAME_SPACES);
            }
            name = Some(n.to_vec());
            i += 2;
        } else {
            return ctx.out.error(&errors::hello_syntax(args.get(i)));
        }
    }
    if let Some((user, password)) = credentials {
        if !super::auth::credentials_match(ctx.shared.config(), user, password) {
            return ctx.out.error(errors::WRONGPASS);
        }
        ctx.client().auth_pending = false;
    }
    if ctx.client().auth_pending && super::auth::password_required(ctx.shared.config()) {
        return ctx.out.error(errors::HELLO_NOAUTH);
    }
    let client = ctx.client();
    client.resp3 = resp3;
    if let Some(n) = name {
        client.name = n;
    }
    client.changed = true;
    let id = client.id;
    // The reply uses the protocol just chosen.
    let out = &mut ctx.out;
    out.set_resp3(resp3);
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

/// Redis allows names of printable ASCII without spaces.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// CLIENT ID
fn client_id(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let id = ctx.client().id;
    ctx.out.int(id as i64);
}

/// CLIENT SETNAME connection-name
fn client_setname(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let name = args.get(2);
    if !valid_client_name(name) {
        return ctx.out.error(errors::CLIENT_NAME_SPACES);
    }
    let c = ctx.client();
    c.name = name.to_vec();
    c.changed = true;
    ctx.out.ok();
}

/// CLIENT GETNAME
fn client_getname(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let name = ctx.client().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id ...]
fn client_list(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_none = false;
    let mut i = 2;
    while i < args.len() {
        if is(args.get(i), "TYPE") && i + 1 < args.len() {
            let t = args.get(i + 1);
            if is(t, "normal") {
            } else if is(t, "master") || is(t, "replica") || is(t, "slave") || is(t, "pubsub") {
                only_none = true;
            } else {
                return ctx.out.error(&errors::unknown_client_type(t));
            }
            i += 2;
        } else if is(args.get(i), "ID") && i + 1 < args.len() {
            let mut v = Vec::new();
            for a in args.from(i + 1) {
                match parse_i64(a) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return ctx.out.error(errors::INVALID_CLIENT_ID),
                }
            }
            ids = Some(v);
            i = args.len();
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let me = ctx.client().clone();
    let mut text = String::new();
    if !only_none {
        for c in ctx.shared.client_list() {
            if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
                continue;
            }
            // Our own entry is fresher than the published copy.
            let c = if c.id == me.id { &me } else { &c };
            text.push_str(&c.describe(ctx.now_ms));
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes());
}

/// CLIENT INFO
fn client_info(ctx: &mut Ctx<'_>, _: Args<'_>) {
    let now = ctx.now_ms;
    let mut line = ctx.client().describe(now);
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value
fn client_setinfo(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let (attr, value) = (args.get(2), args.get(3));
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        let a = String::from_utf8_lossy(attr).to_ascii_lowercase();
        return ctx.out.error(&errors::setinfo_special_chars(&a));
    }
    let c = ctx.client();
    if is(attr, "LIB-NAME") {
        c.lib_name = value.to_vec();
    } else if is(attr, "LIB-VER") {
        c.lib_ver = value.to_vec();
    } else {
        return ctx.out.error(&errors::unrecognized_option(attr));
    }
    c.changed = true;
    ctx.out.ok();
}
