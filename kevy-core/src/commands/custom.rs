//! Commands the host registers at run time (C callbacks, Python functions).
//!
//! A custom command is an ordinary table entry (name, arity, flags, key spec) whose
//! handler looks the host's closure up by name and runs it with a [`CommandCtx`]: the
//! arguments, reply builders that keep the reply well-formed whatever the callback
//! does, and [`CommandCtx::call`], which runs a built-in command on the keys this
//! command holds. Routing, COMMAND INFO and arity checks treat it like a built-in; it
//! runs on the shard that owns its first key (locked with the others when its keys
//! spread over shards).
//!
//! Built-in lookups never touch this registry: it is consulted only when a name is not
//! a built-in, so registering commands costs the hot path nothing.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::{errors, flags, Command, Ctx, KeySpec, Route};
use crate::resp::{Args, OwnedArgs, Reply, ReplyWriter};
use crate::commands::client::Client;
use crate::store::routing::shard_of;

/// The host's code for one custom command.
pub type CustomHandler = dyn Fn(&mut CommandCtx<'_, '_>) + Send + Sync;

/// What a host declares about a custom command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSpec {
    /// Case-insensitive name (`GAME.MOVE`).
    pub name: String,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    /// Flag bits from [`parse_flags`].
    pub flags: u32,
    pub keys: KeySpec,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// A built-in command already has this name.
    Builtin(String),
    /// Empty name, zero arity, a name with spaces or control bytes, a bad key spec.
    Invalid(String),
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Builtin(n) => write!(f, "'{n}' is a built-in command"),
            RegisterError::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for RegisterError {}

/// Parses a space-separated flag list as Redis modules write it ("write deny-oom
/// fast"). Unknown words are refused.
pub fn parse_flags(text: &str) -> Result<u32, String> {
    let mut bits = 0;
    for word in text.split_whitespace() {
        let w = word.to_ascii_lowercase().replace('-', "");
        let bit = flags::NAMES
            .iter()
            .find(|(_, name)| name.replace('_', "") == w)
            .map(|(b, _)| *b)
            .ok_or_else(|| format!("unknown command flag '{word}'"))?;
        bits |= bit;
    }
    Ok(bits)
}

/// Table entries of custom commands are `'static` like the built-ins. One entry is made
/// per distinct spec and kept for the life of the process, so starting servers again and
/// again with the same commands does not grow memory.
fn static_entry(spec: &CustomSpec) -> &'static Command {
    static ENTRIES: Mutex<Vec<&'static Command>> = Mutex::new(Vec::new());
    let mut entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    let name = spec.name.to_ascii_lowercase();
    if let Some(c) = entries
        .iter()
        .find(|c| c.name == name && c.arity == spec.arity && c.flags == spec.flags && c.keys == spec.keys)
    {
        return c;
    }
    let name: &'static str = Box::leak(name.into_boxed_str());
    // The commands its callback runs are logged as they run; the callback's own line is
    // not (replaying it would need the host's code).
    let row = Command::new(name, spec.arity, spec.flags, spec.keys, run)
        .group("module")
        .summary("A command registered by the host.")
        .propagate(super::effects::Propagate::None);
    let entry: &'static Command = Box::leak(Box::new(row));
    entries.push(entry);
    entry
}

/// A server's custom commands, by lower-case name.
#[derive(Default)]
pub struct Registry {
    any: AtomicBool,
    by_name: RwLock<HashMap<String, (&'static Command, Arc<CustomHandler>)>>,
}

impl Registry {
    /// Adds (or replaces) a custom command.
    pub fn register(&self, spec: &CustomSpec, handler: Arc<CustomHandler>) -> Result<(), RegisterError> {
        validate(spec)?;
        let entry = static_entry(spec);
        self.by_name.write().unwrap_or_else(|e| e.into_inner()).insert(entry.name.to_string(), (entry, handler));
        self.any.store(true, Ordering::Release);
        Ok(())
    }

    /// The table entry of a custom command, ignoring case.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static Command> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.by_name.read().unwrap_or_else(|e| e.into_inner()).get(&lower).map(|(c, _)| *c)
    }

    fn handler(&self, name: &[u8]) -> Option<Arc<CustomHandler>> {
        let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.by_name.read().unwrap_or_else(|e| e.into_inner()).get(&lower).map(|(_, h)| Arc::clone(h))
    }

    /// Every custom command's entry.
    pub fn all(&self) -> Vec<&'static Command> {
        self.by_name.read().unwrap_or_else(|e| e.into_inner()).values().map(|(c, _)| *c).collect()
    }

    /// Drops every handler (and so the host data they hold).
    pub fn clear(&self) {
        self.by_name.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn validate(spec: &CustomSpec) -> Result<(), RegisterError> {
    let bad = |why: &str| Err(RegisterError::Invalid(why.to_string()));
    if spec.name.is_empty() || spec.name.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'|') {
        return bad("command name must be non-empty, without spaces, control bytes or '|'");
    }
    if spec.arity == 0 {
        return bad("arity must not be 0 (n: exactly n arguments with the name, -n: at least n)");
    }
    let k = spec.keys;
    if k.first < 0 || (k.first > 0 && (k.step <= 0 || (k.last >= 0 && k.last < k.first))) {
        return bad("key spec must be (0, 0, 0) for no keys, or first >= 1, last >= first or negative, step >= 1");
    }
    Ok(())
}

thread_local! {
    /// Set while a custom command's callback runs on this thread: it holds shard locks,
    /// so an in-process call into the server from it would deadlock.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Is this thread inside a custom command's callback?
pub fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

/// The handler of every custom command's table entry.
fn run(ctx: &mut Ctx<'_>, args: Args<'_>) {
    let Some(handler) = ctx.shared.table().custom.handler(args.get(0)) else {
        ctx.out.error(&errors::unknown_command(args.get(0), &mut args.from(1)));
        return;
    };
    let mark = ctx.out.mark();
    let was = IN_CALLBACK.with(|c| c.replace(true));
    let mut cctx = CommandCtx { ctx: &mut *ctx, args, remaining: 1 };
    let outcome = catch_unwind(AssertUnwindSafe(|| handler(&mut cctx)));
    let remaining = cctx.remaining;
    IN_CALLBACK.with(|c| c.set(was));
    let problem = match outcome {
        Err(_) => Some(errors::CUSTOM_PANICKED),
        Ok(()) if remaining > 0 && ctx.out.mark() == mark => Some(errors::CUSTOM_NO_REPLY),
        Ok(()) if remaining > 0 => Some(errors::CUSTOM_INCOMPLETE_REPLY),
        Ok(()) => None,
    };
    if let Some(msg) = problem {
        ctx.out.truncate(mark);
        ctx.out.error(msg);
    }
}

/// A reply builder was used after the reply was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyComplete;

impl std::fmt::Display for ReplyComplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the command's reply is already complete")
    }
}

/// What a custom command's callback works with.
pub struct CommandCtx<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    args: Args<'c>,
    /// Values still owed: 1 at the start; an aggregate of n adds n (a map 2n).
    remaining: usize,
}

impl<'c, 'a> CommandCtx<'c, 'a> {
    /// The arguments, the command name first.
    pub fn args(&self) -> Args<'c> {
        self.args
    }
    /// The shard running the command.
    pub fn shard(&self) -> usize {
        self.ctx.shard
    }
    /// The server's clock (unix ms), as TTLs see it.
    pub fn now_ms(&self) -> u64 {
        self.ctx.now_ms
    }
    /// Does the reply still need values?
    pub fn reply_pending(&self) -> bool {
        self.remaining > 0
    }

    fn take(&mut self, then_owed: usize) -> Result<&mut ReplyWriter<'a>, ReplyComplete> {
        if self.remaining == 0 {
            return Err(ReplyComplete);
        }
        self.remaining = self.remaining - 1 + then_owed;
        Ok(&mut self.ctx.out)
    }

    pub fn reply_simple(&mut self, text: &str) -> Result<(), ReplyComplete> {
        let clean = text.replace(['\r', '\n'], " ");
        self.take(0).map(|o| o.simple(&clean))
    }
    /// An error reply. A message that does not start with an upper-case code (`ERR`,
    /// `WRONGTYPE`, ...) gets `ERR ` in front, as Redis modules' errors do.
    pub fn reply_error(&mut self, msg: &str) -> Result<(), ReplyComplete> {
        let msg = with_error_code(msg);
        self.take(0).map(|o| o.error(&msg))
    }
    pub fn reply_int(&mut self, n: i64) -> Result<(), ReplyComplete> {
        self.take(0).map(|o| o.int(n))
    }
    pub fn reply_double(&mut self, d: f64) -> Result<(), ReplyComplete> {
        self.take(0).map(|o| o.double(d))
    }
    pub fn reply_bool(&mut self, b: bool) -> Result<(), ReplyComplete> {
        self.take(0).map(|o| o.boolean(b))
    }
    pub fn reply_bulk(&mut self, bytes: &[u8]) -> Result<(), ReplyComplete> {
        self.take(0).map(|o| o.bulk(bytes))
    }
    pub fn reply_null(&mut self) -> Result<(), ReplyComplete> {
        self.take(0).map(|o| o.null())
    }
    /// Starts an array: the next `n` values are its elements.
    pub fn reply_array(&mut self, n: usize) -> Result<(), ReplyComplete> {
        self.take(n).map(|o| o.array(n))
    }
    /// Starts a map of `n` pairs: the next `2n` values are key, value, key, value...
    pub fn reply_map(&mut self, n: usize) -> Result<(), ReplyComplete> {
        self.take(2 * n).map(|o| o.map(n))
    }
    /// Starts a set: the next `n` values are its members.
    pub fn reply_set(&mut self, n: usize) -> Result<(), ReplyComplete> {
        self.take(n).map(|o| o.set(n))
    }
    /// Replies with a whole value (what [`call`](Self::call) returned, say).
    pub fn reply_value(&mut self, r: &Reply) -> Result<(), ReplyComplete> {
        let out = self.take(0)?;
        match r {
            Reply::Error(e) => out.error(&with_error_code(&String::from_utf8_lossy(e))),
            other => other.encode(out),
        }
        Ok(())
    }

    /// Runs a built-in (or custom) command on the keys this command holds: keys of the
    /// shard(s) it was routed to. A key on another shard gets an error reply; a blocking
    /// command that would block returns nil at once, as inside MULTI.
    pub fn call<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        let owned = OwnedArgs::from_slices(argv.iter().map(AsRef::as_ref));
        call_on(self.ctx, owned.args(), true)
    }
}

/// `msg` with an error code in front when it lacks one.
fn with_error_code(msg: &str) -> String {
    let code = msg.split(' ').next().unwrap_or("");
    let has_code = !code.is_empty() && code.len() < msg.len() && code.bytes().all(|b| b.is_ascii_uppercase());
    if has_code {
        msg.to_string()
    } else {
        errors::with_err_code(msg)
    }
}

/// Runs `args` nested inside the command of `ctx`, over the keyspaces it holds, and
/// decodes its reply (given in RESP3 when `resp3`, else RESP2). Shared with scripting's
/// `redis.call`.
pub(crate) fn call_on(ctx: &mut Ctx<'_>, args: Args<'_>, resp3: bool) -> Reply {
    if args.is_empty() {
        return Reply::Error(errors::EMPTY_COMMAND.as_bytes().to_vec());
    }
    let cmd = match crate::commands::call::resolve(ctx.shared.table(), args) {
        Ok(c) => c,
        Err(msg) => return Reply::Error(msg.into_bytes()),
    };
    let shards = ctx.db.shards();
    let call = crate::commands::call::Call::new(cmd, args);
    let needed: Vec<usize> = match cmd.route {
        _ if cmd.spans_all(args) => (0..shards).collect(),
        Route::Pick(pick) => vec![pick(args, shards)],
        _ => call.keys().map(|key| shard_of(key, shards)).collect(),
    };
    if let Some(&missing) = needed.iter().find(|&&s| ctx.db.shard(s).is_none()) {
        return Reply::Error(errors::call_needs_shard(missing).into_bytes());
    }
    let mut bytes = Vec::new();
    let mut client = Client { resp3, ..Client::default() };
    let mut nested = Ctx::new(
        ctx.db.reborrow(),
        ReplyWriter::new(&mut bytes, resp3),
        ctx.now_ms,
        Some(&mut client),
        ctx.shared,
        ctx.shard,
    );
    // The command around this one serves blocked clients after it, as after any write.
    ctx.shared.run_nested(&call, &mut nested);
    if nested.block.is_some() {
        return Reply::Nil;
    }
    drop(nested);
    // Clients blocked on what it wrote are served after the command around it.
    if cmd.has(flags::WRITE) && ctx.db.any(|ks| !ks.blocked.is_empty()) {
        crate::commands::nested::note_written(call.keys());
    }
    Reply::from_encoded(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_like_module_flag_strings() {
        assert_eq!(parse_flags("write deny-oom fast").unwrap(), flags::WRITE | flags::DENYOOM | flags::FAST);
        assert_eq!(parse_flags("").unwrap(), 0);
        assert_eq!(parse_flags("readonly no-auth").unwrap(), flags::READONLY | flags::NO_AUTH);
        assert!(parse_flags("write bogus").unwrap_err().contains("bogus"));
    }

    #[test]
    fn error_codes_are_added_when_missing() {
        assert_eq!(with_error_code("ERR bad thing"), "ERR bad thing");
        assert_eq!(with_error_code("WRONGTYPE nope"), "WRONGTYPE nope");
        assert_eq!(with_error_code("bad thing"), "ERR bad thing");
        assert_eq!(with_error_code("ERR"), "ERR ERR");
    }

    #[test]
    fn specs_are_validated_and_entries_shared() {
        let spec = CustomSpec { name: "T.X".into(), arity: -2, flags: 0, keys: KeySpec::ONE };
        assert!(std::ptr::eq(static_entry(&spec), static_entry(&spec)));
        assert!(validate(&CustomSpec { arity: 0, ..spec.clone() }).is_err());
        assert!(validate(&CustomSpec { name: "a b".into(), ..spec.clone() }).is_err());
        assert!(validate(&CustomSpec { keys: KeySpec::new(2, 1, 1), ..spec.clone() }).is_err());
        assert!(validate(&CustomSpec { keys: KeySpec::new(1, -1, 2), ..spec }).is_ok());
    }
}
