//! Error reply texts, exactly as Redis 7 words them. Handlers use these constants (or
//! the helpers below for texts with a parameter) instead of writing their own.

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
pub const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_INDEX_RANGE: &str = "ERR DB index is out of range";
pub const SELECT_UNSUPPORTED_DB: &str = "ERR DB index is out of range";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
pub const LCS_LEN_AND_IDX: &str = "ERR If you want both the length and indexes, please just use IDX.";
pub const LCS_TOO_BIG: &str = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const CLIENT_NAME_SPACES: &str = "ERR Client names cannot contain spaces, newlines or special characters.";
pub const EXPIRE_NX_AND_OTHERS: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const EXPIRE_GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const INT_RANGE: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
// Sorted sets.
pub const ZADD_XX_AND_NX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIRS: &str = "ERR INCR option supports a single increment-element pair";
pub const ZSCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const ZRANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const ZRANGE_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const ZRANGE_LIMIT_NEEDS_BY: &str = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const ZRANGE_WITHSCORES_BYLEX: &str = "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const ZWEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
pub const ZLIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
pub const ZNUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const ZCOUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
pub const LONG_RANGE: &str = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
// Lists.
pub const LINDEX_RANGE: &str = "ERR index out of range";
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
pub const LNUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const LCOUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
// Sets.
pub const SNUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const SNUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const SLIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// kevy only: SRANDMEMBER's repetition count is bounded (Redis would exhaust memory).
pub const SRANDMEMBER_TOO_MANY: &str = "ERR value is out of range, value must between -2147483647 and 9223372036854775807";
// Hashes.
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
/// kevy only: HRANDFIELD's repetition count is bounded (Redis would exhaust memory).
pub const HRANDFIELD_TOO_MANY: &str = "ERR value is out of range, value must between -2147483647 and 9223372036854775807";

/// `ERR wrong number of arguments for '<name>' command` (`name` is the full lower-case
/// name, `config|get` for a subcommand).
pub fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

/// `ERR invalid expire time in '<cmd>' command`.
pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{cmd}' command")
}

/// `ERR Unsupported option <opt>` (the option is cut at a NUL byte, as C prints it).
pub fn unsupported_option(opt: &[u8]) -> String {
    let opt = opt.split(|&b| b == 0).next().unwrap_or_default();
    format!("ERR Unsupported option {}", String::from_utf8_lossy(opt))
}

/// Redis's reply to an unknown command: the name and the first arguments, quoted.
pub fn unknown_command(name: &[u8], rest: &mut dyn Iterator<Item = &[u8]>) -> String {
    let mut args = String::new();
    for a in rest {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = String::from_utf8_lossy(c_string(a));
        let cut: String = text.chars().take(room).collect();
        args.push_str(&format!("'{cut}' "));
    }
    let name = c_string(name);
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
    format!("ERR unknown command '{name}', with args beginning with: {args}")
}

/// The bytes before the first NUL: what Redis's `%s` prints of an argument.
fn c_string(arg: &[u8]) -> &[u8] {
    arg.split(|&b| b == 0).next().unwrap_or_default()
}

/// `ERR unknown subcommand '<sub>'. Try <CONTAINER> HELP.`
pub fn unknown_subcommand(container: &str, sub: &[u8]) -> String {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    format!("ERR unknown subcommand '{sub}'. Try {} HELP.", container.to_ascii_uppercase())
}
