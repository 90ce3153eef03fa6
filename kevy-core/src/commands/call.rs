//! A command resolved into a call record: its row (after the name lookup and the arity
//! check), its arguments, where its keys are, and where it runs. Pure: no server state.

use crate::commands::{errors, Command, CommandTable, Route};
use crate::resp::Args;
use crate::store::routing::{shard_of, ShardId};

/// Where a command runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// On the connection's shard.
    Local,
    /// On another shard that owns all its keys.
    Remote(ShardId),
    /// Across these shards (sorted), locked together.
    Multi(Vec<ShardId>),
}

/// Finds the command (or subcommand) and checks its arity. Errors are reply texts.
#[inline(always)]
pub fn resolve(table: &CommandTable, args: Args<'_>) -> Result<&'static Command, String> {
    // The common case inline: a plain command with the right arity.
    if let Some(cmd) = table.lookup(args.get(0)) {
        if cmd.subcommands.is_empty() && cmd.arity_ok(args.len()) {
            return Ok(cmd);
        }
    }
    resolve_slow(table, args)
}

/// [`resolve`] for unknown commands, wrong arity and subcommands.
#[inline(never)]
fn resolve_slow(table: &CommandTable, args: Args<'_>) -> Result<&'static Command, String> {
    let name = args.get(0);
    let Some(cmd) = table.lookup(name) else {
        return Err(errors::unknown_command(name, &mut args.from(1)));
    };
    if cmd.subcommands.is_empty() || args.len() < 2 {
        if !cmd.arity_ok(args.len()) {
            return Err(errors::wrong_arity(cmd.name));
        }
        return Ok(cmd);
    }
    let sub = args.get(1);
    let Some(sc) = cmd.subcommands.iter().find(|s| s.short_name().as_bytes().eq_ignore_ascii_case(sub)) else {
        return Err(errors::unknown_subcommand(cmd.name, sub));
    };
    if !sc.arity_ok(args.len()) {
        return Err(errors::wrong_arity(sc.name));
    }
    Ok(sc)
}

/// A command resolved once: its row, its arguments and where its keys are. Every
/// stage that needs the key positions (routing, notifications, the AOF, wake-ups)
/// reads them from here; a `numkeys` list is computed once, when the call is made.
#[derive(Clone)]
pub struct Call<'a> {
    pub cmd: &'static Command,
    pub args: Args<'a>,
    /// The positions a `Route::KeyPositions` function listed (None: malformed, the
    /// command runs locally and its handler reports the error); unused otherwise.
    listed: Option<Box<[usize]>>,
}

impl<'a> Call<'a> {
    #[inline]
    pub fn new(cmd: &'static Command, args: Args<'a>) -> Self {
        let listed = match cmd.route {
            Route::KeyPositions(list) | Route::KeysOrAll(list, _) => list(args).map(Vec::into_boxed_slice),
            _ => None,
        };
        Call { cmd, args, listed }
    }

    /// The positions of the call's keys.
    #[inline]
    pub fn key_positions(&self) -> KeyPositions<'_> {
        match (&self.cmd.route, &self.listed) {
            (Route::KeyPositions(_) | Route::KeysOrAll(..), Some(list)) => KeyPositions::Listed(list.iter()),
            (Route::KeyPositions(_) | Route::KeysOrAll(..), None) => KeyPositions::Listed([].iter()),
            _ => KeyPositions::Spec(self.cmd.keys.positions(self.args.len())),
        }
    }

    /// The call's keys.
    pub fn keys(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let args = self.args;
        self.key_positions().map(move |p| args.get(p))
    }
}

/// The positions of a call's keys, without allocating for a key spec.
pub enum KeyPositions<'c> {
    Spec(std::iter::StepBy<std::ops::Range<usize>>),
    Listed(std::slice::Iter<'c, usize>),
}

impl Iterator for KeyPositions<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Spec(it) => it.next(),
            KeyPositions::Listed(it) => it.next().copied(),
        }
    }
}

/// Picks where `cmd` runs for a connection on shard `me`.
pub fn target(cmd: &'static Command, args: Args<'_>, shards: usize, me: ShardId) -> Target {
    route(&Call::new(cmd, args), shards, me)
}

/// Picks where a call runs for a connection on shard `me`.
pub fn route(call: &Call<'_>, shards: usize, me: ShardId) -> Target {
    if shards == 1 {
        return Target::Local;
    }
    let one = |s: ShardId| if s == me { Target::Local } else { Target::Remote(s) };
    match call.cmd.route {
        Route::AllShards => Target::Multi((0..shards).collect()),
        Route::KeysOrAll(_, spans) if spans(call.args) => Target::Multi((0..shards).collect()),
        Route::Pick(pick) => one(pick(call.args, shards)),
        Route::KeyPositions(_) | Route::KeysOrAll(..) if call.listed.is_none() => Target::Local,
        _ => by_keys(call.key_positions(), call.args, shards, me),
    }
}

/// Where a command runs given the positions of its keys.
fn by_keys(mut positions: impl Iterator<Item = usize>, args: Args<'_>, shards: usize, me: ShardId) -> Target {
    let Some(first) = positions.next() else { return Target::Local };
    let home = shard_of(args.get(first), shards);
    let mut spread: Option<Vec<ShardId>> = None;
    for p in positions {
        let s = shard_of(args.get(p), shards);
        if s != home {
            spread.get_or_insert_with(|| vec![home]).push(s);
        }
    }
    match spread {
        None if home == me => Target::Local,
        None => Target::Remote(home),
        Some(mut ids) => {
            ids.sort_unstable();
            ids.dedup();
            Target::Multi(ids)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;

    fn routed(line: &str, shards: usize, me: ShardId) -> Result<Target, String> {
        let table = CommandTable::default();
        let owned = OwnedArgs::from_slices(line.split(' '));
        let cmd = resolve(&table, owned.args())?;
        Ok(target(cmd, owned.args(), shards, me))
    }

    #[test]
    fn resolves_names_subcommands_and_arity() {
        assert!(routed("get k", 1, 0).is_ok());
        assert_eq!(routed("GET", 1, 0).unwrap_err(), "ERR wrong number of arguments for 'get' command");
        assert_eq!(routed("config nope", 1, 0).unwrap_err(), "ERR unknown subcommand 'nope'. Try CONFIG HELP.");
        assert_eq!(
            routed("config get", 1, 0).unwrap_err(),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert!(routed("nosuch a b", 1, 0).unwrap_err().starts_with("ERR unknown command 'nosuch', with args"));
    }

    #[test]
    fn routes_by_key_owner() {
        let owner = shard_of(b"k", 4);
        assert_eq!(routed("get k", 4, owner).unwrap(), Target::Local);
        assert_eq!(routed("get k", 4, (owner + 1) % 4).unwrap(), Target::Remote(owner));
        assert_eq!(routed("ping", 4, 2).unwrap(), Target::Local);
        assert_eq!(routed("dbsize", 4, 2).unwrap(), Target::Multi(vec![0, 1, 2, 3]));
        // Hash-tagged keys stay together.
        assert!(matches!(routed("del {t}a {t}b {t}c", 4, 0).unwrap(), Target::Local | Target::Remote(_)));
        let spread: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        match routed(&format!("del {}", spread.join(" ")), 4, 0).unwrap() {
            Target::Multi(ids) => assert_eq!(ids, vec![0, 1, 2, 3]),
            other => panic!("expected multi, got {other:?}"),
        }
    }
}
