//! SORT's SQL-like options, parsed as Redis 7.0's `sortCommandGeneric` parses them.
//!
//! The same parse serves the dispatcher (which keys, and whether the command reads keys
//! named by patterns, so it must hold every shard) and the handler, so the two can never
//! disagree about what the command touches.

use super::pattern::{has_star, is_hash_sign};
use crate::commands::{errors, is};
use crate::resp::parser::parse_i64;
use crate::resp::Args;

/// What one SORT or SORT_RO call asks for.
#[derive(Debug, Default)]
pub struct Options<'a> {
    pub desc: bool,
    pub alpha: bool,
    /// LIMIT's offset and count (Redis's defaults: 0 and -1, "all").
    pub offset: i64,
    pub count: i64,
    /// BY's pattern (the last one given).
    pub by: Option<&'a [u8]>,
    /// A BY pattern without `*` was given (once given, a later BY does not undo it,
    /// as in Redis): keep the native order.
    pub dontsort: bool,
    /// GET patterns, in order.
    pub gets: Vec<&'a [u8]>,
    /// STORE's destination and its position (the last STORE given).
    pub store: Option<(usize, &'a [u8])>,
}

impl<'a> Options<'a> {
    /// Parses the options after the key. `readonly` (SORT_RO) refuses STORE as an
    /// unknown option, as Redis does. Err: the reply text.
    pub fn parse(args: Args<'a>, readonly: bool) -> Result<Self, &'static str> {
        let mut o = Options { count: -1, ..Options::default() };
        let mut j = 2;
        while j < args.len() {
            let arg = args.get(j);
            let left = args.len() - j - 1;
            if is(arg, "asc") {
                o.desc = false;
            } else if is(arg, "desc") {
                o.desc = true;
            } else if is(arg, "alpha") {
                o.alpha = true;
            } else if is(arg, "limit") && left >= 2 {
                o.offset = parse_i64(args.get(j + 1)).ok_or(errors::NOT_INTEGER)?;
                o.count = parse_i64(args.get(j + 2)).ok_or(errors::NOT_INTEGER)?;
                j += 2;
            } else if !readonly && is(arg, "store") && left >= 1 {
                o.store = Some((j + 1, args.get(j + 1)));
                j += 1;
            } else if is(arg, "by") && left >= 1 {
                let pattern = args.get(j + 1);
                o.by = Some(pattern);
                o.dontsort |= !has_star(pattern);
                j += 1;
            } else if is(arg, "get") && left >= 1 {
                o.gets.push(args.get(j + 1));
                j += 1;
            } else {
                return Err(errors::SYNTAX);
            }
            j += 1;
        }
        Ok(o)
    }

    /// Does the command read keys that its patterns name (a BY pattern it sorts by, a
    /// GET other than `#`)? Those keys may live on any shard.
    pub fn reads_patterns(&self) -> bool {
        let sorts_by_pattern = !self.dontsort && self.by.is_some();
        sorts_by_pattern || self.gets.iter().any(|g| !is_hash_sign(g) && has_star(g))
    }
}

/// The keys of a SORT: the sorted key, and STORE's destination. None for arguments
/// that do not parse: the command then runs where it is and replies the error.
pub fn sort_keys(args: Args<'_>) -> Option<Vec<usize>> {
    keys(args, false)
}

/// The keys of a SORT_RO: only the sorted key.
pub fn sort_ro_keys(args: Args<'_>) -> Option<Vec<usize>> {
    keys(args, true)
}

fn keys(args: Args<'_>, readonly: bool) -> Option<Vec<usize>> {
    let o = Options::parse(args, readonly).ok()?;
    Some(std::iter::once(1).chain(o.store.map(|(at, _)| at)).collect())
}

/// Must a SORT hold every shard (it reads keys named by patterns)?
pub fn sort_spans(args: Args<'_>) -> bool {
    Options::parse(args, false).is_ok_and(|o| o.reads_patterns())
}

/// Must a SORT_RO hold every shard?
pub fn sort_ro_spans(args: Args<'_>) -> bool {
    Options::parse(args, true).is_ok_and(|o| o.reads_patterns())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::OwnedArgs;

    fn parse(line: &str, readonly: bool) -> Result<(Vec<usize>, bool), &'static str> {
        let owned = OwnedArgs::from_slices(line.split(' '));
        let o = Options::parse(owned.args(), readonly)?;
        let keys = std::iter::once(1).chain(o.store.map(|(at, _)| at)).collect();
        Ok((keys, o.reads_patterns()))
    }

    #[test]
    fn keys_and_patterns() {
        assert_eq!(parse("sort k", false), Ok((vec![1], false)));
        assert_eq!(parse("sort k store a store b", false), Ok((vec![1, 5], false)));
        assert_eq!(parse("sort k by w_* get #", false), Ok((vec![1], true)));
        assert_eq!(parse("sort k by nosort get # get const", false), Ok((vec![1], false)));
        assert_eq!(parse("sort k by nosort get o_*->f", false), Ok((vec![1], true)));
        // A constant BY, once given, keeps the native order even after a real pattern.
        assert_eq!(parse("sort k by nosort by w_*", false), Ok((vec![1], false)));
        assert_eq!(parse("sort k limit 0 1 alpha desc asc", false), Ok((vec![1], false)));
    }

    #[test]
    fn errors_as_redis() {
        assert_eq!(parse("sort k limit 0", false), Err(errors::SYNTAX));
        assert_eq!(parse("sort k limit x 1", false), Err(errors::NOT_INTEGER));
        assert_eq!(parse("sort k store", false), Err(errors::SYNTAX));
        assert_eq!(parse("sort_ro k store d", true), Err(errors::SYNTAX));
        assert_eq!(parse("sort k nope", false), Err(errors::SYNTAX));
    }
}
