//! The command table and the context handlers run in.
//!
//! Each family file (`string.rs`, `keys.rs`, ...) exports `COMMANDS: &[Command]`; the
//! table is their union. One dispatcher (in `shard::dispatch`) rejects unknown commands
//! and wrong arity and routes by the key spec, so handlers never re-check either.

pub mod auth;
pub mod bits;
pub mod blocking;
pub mod call;
pub mod client;
pub mod connection;
pub mod custom;
pub mod effects;
pub mod errors;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod nested;
pub mod pubsub;
pub mod runtime;
pub mod stats;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod stream;
pub mod txn;
pub mod zset;

use crate::resp::{Args, ReplyWriter};
use crate::commands::client::Client;
use crate::store::db::Db;
use crate::store::routing::ShardId;
use runtime::Runtime;

/// Runs one command: reads `args`, works on `ctx.db`, writes exactly one reply.
pub type Handler = fn(&mut Ctx<'_>, Args<'_>);

/// Command flags, named as Redis names them in COMMAND INFO.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const MAY_REPLICATE: u32 = 1 << 11;
    pub const SKIP_SLOWLOG: u32 = 1 << 12;
    pub const ALLOW_BUSY: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;

    /// (bit, name) for COMMAND INFO.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        // MAY_REPLICATE is hidden from COMMAND INFO, as in Redis 7.0.
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MULTI, "no_multi"),
    ];
}

/// kevy's rules for a command in a connection's states: not Redis flags (COMMAND INFO
/// does not show them). The dispatcher reads them instead of command names.
pub mod rules {
    /// Allowed in RESP2 subscribed mode ((P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT,
    /// RESET); every other command is refused there.
    pub const WHEN_SUBSCRIBED: u32 = 1 << 0;
    /// Runs at once inside MULTI instead of being queued (MULTI, EXEC, DISCARD, WATCH,
    /// QUIT, RESET).
    pub const NOT_QUEUED: u32 = 1 << 1;
    /// Run by EXEC, where nothing blocks, its "nothing to pop" reply is a null bulk, not
    /// a null array (BLMOVE, BRPOPLPUSH: the reply of LMOVE, RPOPLPUSH).
    pub const NULL_WHEN_EMPTY: u32 = 1 << 2;
}

/// What a session command does to its connection (its transaction, its watches),
/// before or instead of its handler; the dispatcher runs it on the connection's thread
/// (`shard::txn::session`). Its handler runs only where there is no connection (a
/// host call, a nested call), or after the session step when that asks for it (RESET).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Session {
    /// MULTI: opens a transaction.
    Multi,
    /// EXEC: runs the queued commands atomically.
    Exec,
    /// DISCARD: drops the transaction and the watches.
    Discard,
    /// WATCH: watches its keys.
    Watch,
    /// UNWATCH: drops the watches.
    Unwatch,
    /// RESET: ends the transaction and the watches, then runs its handler.
    Reset,
}

/// Where a command's keys are: positions `first..=last` (negative `last` counts from
/// the end, -1 being the last argument) every `step`. `first == 0` means no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec { first: 0, last: 0, step: 0 };
    pub const ONE: KeySpec = KeySpec { first: 1, last: 1, step: 1 };
    pub const ALL: KeySpec = KeySpec { first: 1, last: -1, step: 1 };
    pub const fn new(first: i32, last: i32, step: i32) -> Self {
        KeySpec { first, last, step }
    }

    /// Indexes of the key arguments in a command of `argc` arguments.
    pub fn positions(&self, argc: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
        let range = if self.first <= 0 {
            0..0
        } else {
            let last = if self.last < 0 { argc as i64 + self.last as i64 } else { self.last as i64 };
            let last = last.min(argc as i64 - 1);
            if last < self.first as i64 {
                0..0
            } else {
                self.first as usize..last as usize + 1
            }
        };
        range.step_by(self.step.max(1) as usize)
    }
}

/// How the dispatcher picks the shard(s) a command runs on.
#[derive(Clone, Copy)]
pub enum Route {
    /// By the key spec: on the owning shard, or locked across shards when keys spread.
    /// A command without keys runs on the connection's own shard.
    Keys,
    /// On every shard at once, all locked (DBSIZE, FLUSHALL, KEYS, INFO...).
    AllShards,
    /// A command-specific choice of one shard (SCAN reads it from the cursor).
    Pick(fn(Args<'_>, usize) -> ShardId),
    /// Keys whose positions depend on the arguments (a `numkeys` count, as in
    /// ZUNIONSTORE or LMPOP): the function lists them. It returns None for malformed
    /// arguments; the command then runs locally and its handler reports the error.
    /// `keys` still holds what COMMAND INFO shows for first/last/step.
    KeyPositions(fn(Args<'_>) -> Option<Vec<usize>>),
    /// Keys listed as for `KeyPositions`, but on every shard at once, all locked, when
    /// the second function says the arguments reach keys no position names (SORT's BY
    /// and GET patterns name keys from the data).
    KeysOrAll(fn(Args<'_>) -> Option<Vec<usize>>, fn(Args<'_>) -> bool),
}

/// Positions of keys given as `numkeys key [key ...]` with the count at `at`.
/// None when the count is not a positive integer or exceeds the arguments.
pub fn numkeys_positions(args: Args<'_>, at: usize) -> Option<Vec<usize>> {
    let n = crate::resp::parser::parse_i64(args.opt(at)?)?;
    if n <= 0 || at + n as usize >= args.len() {
        return None;
    }
    Some((at + 1..=at + n as usize).collect())
}

/// One entry of the command table.
pub struct Command {
    /// Lower-case name; subcommands are written `container|sub` as Redis does.
    pub name: &'static str,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub route: Route,
    pub handler: Handler,
    /// Redis's command group (string, generic, server, connection...), for COMMAND DOCS.
    pub group: &'static str,
    pub summary: &'static str,
    /// Subcommands of a container command (CONFIG, CLIENT, OBJECT...).
    pub subcommands: &'static [Command],
    /// The keyspace events its success signals.
    pub events: &'static [effects::Event],
    /// How its success reaches the append-only file.
    pub propagate: effects::Propagate,
    /// `effects::traits` bits.
    pub traits: u32,
    /// The session step the dispatcher runs for it on a client connection.
    pub session: Option<Session>,
    /// `rules` bits.
    pub rules: u32,
}

impl Command {
    /// A table row: routed by its keys, in no group, logged as sent when it writes.
    /// The other properties are set by the chained `const fn`s below.
    pub const fn new(name: &'static str, arity: i32, flags: u32, keys: KeySpec, handler: Handler) -> Command {
        let propagate = if flags & flags::WRITE != 0 { effects::Propagate::Verbatim } else { effects::Propagate::None };
        Command {
            name,
            arity,
            flags,
            keys,
            route: Route::Keys,
            handler,
            group: "",
            summary: "",
            subcommands: &[],
            events: &[],
            propagate,
            traits: 0,
            session: None,
            rules: 0,
        }
    }
    pub const fn route(mut self, route: Route) -> Command {
        self.route = route;
        self
    }
    pub const fn group(mut self, group: &'static str) -> Command {
        self.group = group;
        self
    }
    pub const fn summary(mut self, summary: &'static str) -> Command {
        self.summary = summary;
        self
    }
    pub const fn subcommands(mut self, subcommands: &'static [Command]) -> Command {
        self.subcommands = subcommands;
        self
    }
    pub const fn events(mut self, events: &'static [effects::Event]) -> Command {
        self.events = events;
        self
    }
    pub const fn propagate(mut self, propagate: effects::Propagate) -> Command {
        self.propagate = propagate;
        self
    }
    pub const fn traits(mut self, traits: u32) -> Command {
        self.traits |= traits;
        self
    }
    pub const fn session(mut self, session: Session) -> Command {
        self.session = Some(session);
        self
    }
    pub const fn rules(mut self, rules: u32) -> Command {
        self.rules |= rules;
        self
    }
    /// Does it follow this `rules` bit?
    #[inline(always)]
    pub fn follows(&self, rule: u32) -> bool {
        self.rules & rule != 0
    }
    #[inline(always)]
    pub fn is(&self, trait_bit: u32) -> bool {
        self.traits & trait_bit != 0
    }
    /// Does `argc` satisfy this command's arity?
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }
    #[inline(always)]
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
    /// Positions of this command's keys in `args` (empty for malformed `numkeys`).
    pub fn key_positions(&self, args: Args<'_>) -> Vec<usize> {
        match self.route {
            Route::KeyPositions(list) | Route::KeysOrAll(list, _) => list(args).unwrap_or_default(),
            _ => self.keys.positions(args.len()).collect(),
        }
    }
    /// Does this call need every shard (`Route::AllShards`, or a `Route::KeysOrAll`
    /// whose arguments reach keys beyond its positions)?
    pub fn spans_all(&self, args: Args<'_>) -> bool {
        match self.route {
            Route::AllShards => true,
            Route::KeysOrAll(_, spans) => spans(args),
            _ => false,
        }
    }
    /// Are its key positions computed from the arguments (COMMAND INFO's movablekeys)?
    pub fn movable_keys(&self) -> bool {
        matches!(self.route, Route::KeyPositions(_) | Route::KeysOrAll(..))
    }
    /// The name after the `|` of a subcommand.
    pub fn short_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }
}

/// A handler that is never called: containers dispatch to their subcommands.
pub fn container(_: &mut Ctx<'_>, _: Args<'_>) {}

/// The union of every family's commands, looked up by name without case.
///
/// An open-addressing table keyed by a case-folding hash computed in one pass over the
/// name: a lookup costs one short hash and usually one compare, no allocation.
pub struct CommandTable {
    slots: Vec<Option<&'static Command>>,
    /// The hash of each slot's name: a probe compares names only on a full match.
    hashes: Vec<u64>,
    /// Each slot's name packed into two words ([`NameKey`]): a name of up to 16 bytes
    /// (every common command) matches by two word compares instead of a byte loop.
    keys: Vec<NameKey>,
    count: usize,
    /// Commands the host registered; consulted only for names that are not built-ins.
    pub custom: custom::Registry,
}

/// FNV-1a over the bytes with bit 5 set, which folds ASCII letter case. (Other bytes
/// may collide, e.g. '@' and '`'; the lookup compares names exactly anyway.) Only for
/// names longer than a [`NameKey`] holds.
#[inline]
fn fold_hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h = (h ^ (b | 0x20) as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A name of up to 16 bytes, lower-cased and packed little-endian into two words,
/// zero-padded; with the length compared too, equal keys mean equal names ignoring
/// ASCII case (table names are lower case). Longer names get `LONG_NAME`.
type NameKey = [u64; 2];
const LONG_NAME: NameKey = [u64::MAX; 2];

#[inline(always)]
fn name_key(name: &[u8]) -> NameKey {
    if name.len() > 16 {
        return LONG_NAME;
    }
    let mut key = [0u64; 2];
    for (i, &b) in name.iter().enumerate() {
        key[i >> 3] |= (b.to_ascii_lowercase() as u64) << ((i & 7) * 8);
    }
    key
}

/// The slot hash of a name: mixed from its key when it is short, else its fold hash.
#[inline(always)]
fn name_hash(name: &[u8], key: &NameKey) -> u64 {
    if name.len() > 16 {
        return fold_hash(name);
    }
    let h = (key[0] ^ key[1].rotate_left(29) ^ name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 29)
}

/// The built-in commands of this layer (the table of a server adds the rows of the
/// layers above: scripting's EVAL and FUNCTION).
impl Default for CommandTable {
    fn default() -> Self {
        CommandTable::with_rows(&[])
    }
}

impl CommandTable {
    /// This layer's rows and `extra` (rows contributed by the layers above).
    pub fn with_rows(extra: &[&'static [Command]]) -> Self {
        let families: &[&[Command]] = &[
            connection::COMMANDS,
            server::COMMANDS,
            server::info::COMMANDS,
            server::persistence::COMMANDS,
            pubsub::COMMANDS,
            server::introspect::COMMANDS,
            server::memory::COMMANDS,
            server::slowlog::COMMANDS,
            server::latency::COMMANDS,
            string::COMMANDS,
            string::range::COMMANDS,
            string::float::COMMANDS,
            bits::COMMANDS,
            keys::COMMANDS,
            keys::expire::COMMANDS,
            keys::scan::COMMANDS,
            list::COMMANDS,
            list::lmove::COMMANDS,
            list::blocking::COMMANDS,
            hash::COMMANDS,
            hash::scan::COMMANDS,
            hll::COMMANDS,
            set::COMMANDS,
            set::ops::COMMANDS,
            zset::COMMANDS,
            zset::range::COMMANDS,
            zset::ops::COMMANDS,
            zset::blocking::COMMANDS,
            geo::COMMANDS,
            stream::COMMANDS,
            stream::group::COMMANDS,
            stream::info::COMMANDS,
            stream::read::COMMANDS,
            txn::COMMANDS,
            sort::COMMANDS,
        ];
        let all: Vec<&'static Command> = families.iter().chain(extra).flat_map(|f| f.iter()).collect();
        let size = (all.len() * 4).next_power_of_two();
        let mut t = CommandTable { slots: vec![None; size], hashes: vec![0; size], keys: vec![LONG_NAME; size], count: 0, custom: custom::Registry::default() };
        for cmd in all {
            t.insert(cmd);
        }
        t
    }
}

impl CommandTable {
    fn insert(&mut self, cmd: &'static Command) {
        let mask = self.slots.len() - 1;
        let key = name_key(cmd.name.as_bytes());
        let hash = name_hash(cmd.name.as_bytes(), &key);
        let mut i = hash as usize & mask;
        loop {
            match self.slots[i] {
                None => {
                    self.slots[i] = Some(cmd);
                    self.hashes[i] = hash;
                    self.keys[i] = key;
                    self.count += 1;
                    return;
                }
                Some(c) if c.name == cmd.name => {
                    self.slots[i] = Some(cmd);
                    return;
                }
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Finds a command by name, ignoring ASCII case.
    #[inline(always)]
    pub fn lookup(&self, name: &[u8]) -> Option<&'static Command> {
        let mask = self.slots.len() - 1;
        let key = name_key(name);
        let hash = name_hash(name, &key);
        let mut i = hash as usize & mask;
        loop {
            let Some(c) = self.slots[i] else { return self.lookup_custom(name) };
            if self.hashes[i] == hash && c.name.len() == name.len() {
                // Short names: the keys are the names. Long ones compare byte by byte
                // (table names are lower case: only the argument needs folding).
                if key != LONG_NAME && self.keys[i] == key
                    || key == LONG_NAME && c.name.bytes().zip(name).all(|(a, &b)| a == b.to_ascii_lowercase())
                {
                    return Some(c);
                }
            }
            i = (i + 1) & mask;
        }
    }
    pub fn len(&self) -> usize {
        self.count + self.custom.all().len()
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Not a built-in: maybe a command the host registered. Kept out of line so the
    /// built-in lookup stays small enough to inline into the dispatcher.
    #[cold]
    #[inline(never)]
    fn lookup_custom(&self, name: &[u8]) -> Option<&'static Command> {
        self.custom.lookup(name)
    }

    /// Is `name` a built-in command (ignoring case)?
    pub fn is_builtin(&self, name: &[u8]) -> bool {
        self.lookup(name).is_some_and(|c| c.group != "module")
    }

    /// Registers a host command. Built-in names are refused.
    pub fn register(&self, spec: &custom::CustomSpec, handler: std::sync::Arc<custom::CustomHandler>) -> Result<(), custom::RegisterError> {
        if self.is_builtin(spec.name.as_bytes()) {
            return Err(custom::RegisterError::Builtin(spec.name.clone()));
        }
        self.custom.register(spec, handler)
    }

    /// Every top-level command, custom ones included, sorted by name.
    pub fn all(&self) -> Vec<&'static Command> {
        let mut v: Vec<_> = self.slots.iter().flatten().copied().collect();
        v.extend(self.custom.all());
        v.sort_by_key(|c| c.name);
        v
    }
}

/// What a handler works with.
pub struct Ctx<'a> {
    /// The keys this command may touch (one shard, or several locked together).
    pub db: Db<'a>,
    /// Where the reply goes.
    pub out: ReplyWriter<'a>,
    /// The shard's cached clock (unix ms), refreshed once per event-loop turn.
    pub now_ms: u64,
    /// The calling connection. None when the command runs on another shard than the
    /// connection's: keyless commands, the only ones that need it, always run locally.
    pub client: Option<&'a mut Client>,
    /// The running server: config, command table, stats, pub/sub, persistence.
    pub shared: &'a dyn Runtime,
    /// The shard running the command.
    pub shard: ShardId,
    /// Set when a blocked command is re-run to serve it: the key whose new data serves
    /// it. Its handler must only consider this key.
    pub serving: Option<&'a [u8]>,
    /// Set by a blocking command's handler that found nothing: block instead of
    /// replying (see `shard::blocking`).
    pub block: Option<crate::commands::blocking::BlockRequest>,
    /// What this run did beyond its reply, as the handler reported it.
    pub effects: effects::Effects,
}

impl<'a> Ctx<'a> {
    /// A context for a command on this thread's keyspaces (no blocking state).
    pub fn new(
        db: Db<'a>,
        out: ReplyWriter<'a>,
        now_ms: u64,
        client: Option<&'a mut Client>,
        shared: &'a dyn Runtime,
        shard: ShardId,
    ) -> Self {
        Ctx::with_consumers(db, out, now_ms, client, shared, shard, shared.consumers_on())
    }

    /// [`new`](Self::new) with the effect consumers already known (the dispatcher
    /// reads them once per turn).
    #[inline(always)]
    pub fn with_consumers(
        db: Db<'a>,
        out: ReplyWriter<'a>,
        now_ms: u64,
        client: Option<&'a mut Client>,
        shared: &'a dyn Runtime,
        shard: ShardId,
        on: u32,
    ) -> Self {
        let effects = effects::Effects::new(on);
        Ctx { db, out, now_ms, client, shared, shard, serving: None, block: None, effects }
    }

    /// Asks to block: the handler found nothing to serve and writes no reply.
    pub fn block_on(&mut self, req: crate::commands::blocking::BlockRequest) {
        self.block = Some(req);
    }

    /// Reports `n` changes (elements added or removed, keys written): the row's
    /// `When::Changed` events fire only after some.
    #[inline(always)]
    pub fn changed(&mut self, n: u64) {
        self.effects.changes += n;
    }

    /// Replies with a count of changes, and reports them (see [`changed`](Self::changed)).
    #[inline]
    pub fn reply_changes(&mut self, n: i64) {
        self.effects.changes += n.max(0) as u64;
        self.out.int(n);
    }

    /// Signals an event only the handler can name (after the row's declared ones).
    pub fn signal(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.effects.on & effects::consumers::NOTIFY != 0 {
            self.effects.reported().signals.push((class, event, key.to_vec()));
        }
    }

    /// The command acted on `key` (a multi-key pop's source).
    #[inline]
    pub fn acted_on(&mut self, key: &[u8]) {
        if self.effects.on & effects::consumers::NOTIFY != 0 {
            self.effects.reported().acted_on = Some(key.to_vec());
        }
    }

    /// Is the append-only file on? (Handlers build `propagate` lines only then.)
    #[inline(always)]
    pub fn logging(&self) -> bool {
        self.effects.on & effects::consumers::AOF != 0
    }

    /// Logs `argv` instead of the command (rows with `Propagate::Reported`).
    pub fn propagate(&mut self, argv: Vec<Vec<u8>>) {
        if self.logging() {
            self.effects.reported().propagated.push(argv);
        }
    }

    /// The calling connection. Only keyless commands call this; they always run on the
    /// connection's own shard, where it is present.
    pub fn client(&mut self) -> &mut Client {
        self.client.as_deref_mut().expect("keyless commands run on the connection's shard")
    }
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_for_every_name_length() {
        static LONG: [Command; 2] = [
            Command::new("sixteen-bytes-ab", 1, 0, KeySpec::NONE, container),
            Command::new("a-name-over-sixteen-bytes", 1, 0, KeySpec::NONE, container),
        ];
        let mut table = CommandTable::default();
        LONG.iter().for_each(|c| table.insert(c));
        let names: Vec<&str> = table.all().iter().map(|c| c.name).collect();
        for name in names {
            for variant in [name.to_string(), name.to_ascii_uppercase()] {
                assert_eq!(table.lookup(variant.as_bytes()).map(|c| c.name), Some(name), "{variant}");
            }
        }
    }

    #[test]
    fn lookup_refuses_near_misses() {
        let table = CommandTable::default();
        for miss in [&b"ge"[..], b"gett", b"get\0", b"\0get", b"g\xc5t", b"GET ", b"zrangestor\x7f", b"sixteen-bytes-a\r", b"a-name-over-sixteen-byteS\0", b""] {
            assert!(table.lookup(miss).is_none(), "{:?}", String::from_utf8_lossy(miss));
        }
    }
}
