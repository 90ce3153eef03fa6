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

/// An argument as text, invalid UTF-8 replaced, for the replies below.
fn lossy(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(arg)
}

/// Is `text` the reply of [`wrong_arity`]? (COMMAND GETKEYS and `redis.call` reword it.)
pub fn is_wrong_arity(text: &str) -> bool {
    text.starts_with("ERR wrong number of arguments")
}

/// `msg` under the generic `ERR` code (custom commands, Lua errors without a code).
pub fn with_err_code(msg: &str) -> String {
    format!("ERR {msg}")
}

// Connection (AUTH, HELLO, CLIENT).
pub const AUTH_NO_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. \
     Are you sure your configuration is correct?";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const PROTOCOL_NOT_INTEGER: &str = "ERR Protocol version is not an integer or out of range";
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";

/// `ERR Syntax error in HELLO option '<opt>'`.
pub fn hello_syntax(opt: &[u8]) -> String {
    format!("ERR Syntax error in HELLO option '{}'", lossy(opt))
}

/// `ERR Unknown client type '<type>'`.
pub fn unknown_client_type(kind: &[u8]) -> String {
    format!("ERR Unknown client type '{}'", lossy(kind))
}

/// `ERR <attr> cannot contain spaces, newlines or special characters.` (attr lower-case).
pub fn setinfo_special_chars(attr: &str) -> String {
    format!("ERR {attr} cannot contain spaces, newlines or special characters.")
}

/// `ERR Unrecognized option '<opt>'`.
pub fn unrecognized_option(opt: &[u8]) -> String {
    format!("ERR Unrecognized option '{}'", lossy(opt))
}

// Transactions.
/// A transaction command run without a connection (from a script or a custom command).
pub fn txn_needs_connection(name: &str) -> String {
    format!("ERR {name} needs a client connection (transactions are per connection)")
}

// Sorted-set operations.
/// `ERR at least 1 input key is needed for '<name>' command`.
pub fn no_input_keys(name: &str) -> String {
    format!("ERR at least 1 input key is needed for '{name}' command")
}

// Persistence (SAVE, BGSAVE, BGREWRITEAOF, SHUTDOWN ABORT).
pub const SAVE_FAILED: &str = "ERR";
pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
/// kevy only: the AOF is rewritten only while appendonly is on.
pub const AOF_REWRITE_NEEDS_AOF: &str = "ERR kevy rewrites the append only file only when appendonly is yes";
pub const AOF_REWRITE_IN_PROGRESS: &str = "ERR Background append only file rewriting already in progress";
pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";

// COMMAND GETKEYS.
pub const GETKEYS_BAD_ARITY: &str = "ERR Invalid number of arguments specified for command";
pub const GETKEYS_BAD_COMMAND: &str = "ERR Invalid command specified";
pub const GETKEYS_NO_KEYS: &str = "ERR The command has no key arguments";

// Custom commands (commands/custom.rs).
pub const CUSTOM_PANICKED: &str = "ERR custom command failed (its callback panicked)";
pub const CUSTOM_NO_REPLY: &str = "ERR custom command returned no reply";
pub const CUSTOM_INCOMPLETE_REPLY: &str = "ERR custom command left its reply incomplete";
pub const EMPTY_COMMAND: &str = "ERR empty command";

/// A nested call needs shard `missing`, which the running command does not hold.
pub fn call_needs_shard(missing: usize) -> String {
    format!(
        "ERR this call needs shard {missing}, which the running command does not hold: \
         declare the keys it touches in the command's key spec, or put them under one {{hashtag}}"
    )
}

// Streams.
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const XREAD_UNBALANCED: &str =
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
pub const XREAD_GROUP_OPTION: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREAD_NOACK_OPTION: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREADGROUP_NO_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
pub const XREADGROUP_DOLLAR_ID: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const XREAD_NEW_ID: &str =
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
pub const NOGROUP_BLOCKED_ON: &str = "NOGROUP the consumer group this client was blocked on no longer exists";
pub const XGROUP_NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const ENTRIESREAD_RANGE: &str = "ERR value for ENTRIESREAD must be positive or -1";
pub const BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
pub const XCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
pub const XAUTOCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XAUTOCLAIM";
pub const XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";
pub const XTRIM_MAXLEN_AND_MINID: &str = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
pub const XTRIM_MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
pub const XTRIM_LIMIT_NEGATIVE: &str = "ERR The LIMIT argument must be >= 0.";
pub const XTRIM_LIMIT_WITHOUT_STRATEGY: &str =
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
pub const XTRIM_NO_STRATEGY: &str = "ERR syntax error, XTRIM must be called with a trimming strategy";
pub const XTRIM_LIMIT_WITHOUT_APPROX: &str = "ERR syntax error, LIMIT cannot be used without the special ~ option";
pub const XADD_ID_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
pub const XADD_ID_TOO_SMALL: &str = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
pub const XADD_IDS_EXHAUSTED: &str = "ERR The stream has exhausted the last possible ID, unable to add more items";
pub const XSETID_ENTRIES_ADDED_NEGATIVE: &str = "ERR entries_added must be positive";
pub const XSETID_BELOW_MAX_DELETED: &str =
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
pub const XSETID_BELOW_TOP: &str = "ERR The ID specified in XSETID is smaller than the target stream top item";
pub const XSETID_ENTRIES_BELOW_LENGTH: &str =
    "ERR The entries_added specified in XSETID is smaller than the target stream length";

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CONTAINER> HELP.`
pub fn unknown_subcommand_or_arity(container: &str, sub: &[u8]) -> String {
    format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try {container} HELP.", lossy(sub))
}

/// `NOGROUP No such key '<key>' or consumer group '<group>'`.
pub fn no_key_or_group(key: &[u8], group: &[u8]) -> String {
    format!("NOGROUP No such key '{}' or consumer group '{}'", lossy(key), lossy(group))
}

/// `NOGROUP No such consumer group '<group>' for key name '<key>'`.
pub fn no_group_for_key(key: &[u8], group: &[u8]) -> String {
    format!("NOGROUP No such consumer group '{}' for key name '{}'", lossy(group), lossy(key))
}

/// `ERR Invalid <what> option argument for XCLAIM`.
pub fn xclaim_bad_option_arg(what: &str) -> String {
    format!("ERR Invalid {what} option argument for XCLAIM")
}

/// `ERR Unrecognized XCLAIM option '<opt>'`.
pub fn xclaim_unknown_option(opt: &[u8]) -> String {
    format!("ERR Unrecognized XCLAIM option '{}'", lossy(opt))
}

// Scripting: EVAL, SCRIPT, FUNCTION and FCALL.
/// SCRIPT KILL found no script running.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
/// SCRIPT KILL found a script that already wrote.
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// The reply of a command refused while an EVAL is busy past the threshold.
pub const BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// The same while a function (FCALL) is busy.
pub const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// EVALSHA of an unknown script.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
/// The reply of a script stopped by SCRIPT KILL / FUNCTION KILL.
pub const SCRIPT_KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
/// The reply of a script stopped because the server is stopping.
pub const SCRIPT_STOPPED: &str = "ERR Script killed by the server shutting down";
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
pub const BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
pub const RO_SCRIPT_WRITE_FLAG: &str = "ERR Can not execute a script with write flag using *_ro command.";
pub const SCRIPT_FLUSH_MODE: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
pub const FUNCTION_FLUSH_MODE: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
pub const LIBRARY_NAME_ARG_MISSING: &str = "ERR library name argument was not given";
pub const LIBRARY_NAME_MISSING: &str = "ERR Library name was not given";
pub const LIBRARY_METADATA_MISSING: &str = "ERR Missing library metadata";
pub const BAD_LIBRARY_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
pub const NO_FUNCTIONS_REGISTERED: &str = "ERR No functions registered";
pub const FUNCTION_EXISTS_IN_LIBRARY: &str = "ERR Function already exists in the library";
pub const UNKNOWN_ERROR: &str = "ERR unknown error";
pub const LUA_STACK_LIMIT: &str = "ERR reached lua stack limit";
pub const SCRIPT_IN_SCRIPT: &str = "ERR a script cannot run another script";
pub const SCRIPT_EXECUTION_FAILURE: &str = "ERR Error running script: execution failure";

/// `ERR Unknown option given: <opt>` (FUNCTION LOAD).
pub fn unknown_option_given(opt: &[u8]) -> String {
    format!("ERR Unknown option given: {}", lossy(opt))
}

/// `ERR Unknown argument <arg>` (FUNCTION LIST).
pub fn unknown_argument(arg: &[u8]) -> String {
    format!("ERR Unknown argument {}", lossy(arg))
}

/// `ERR Library '<name>' already exists`.
pub fn library_exists(name: &str) -> String {
    format!("ERR Library '{name}' already exists")
}

/// `ERR Function <name> already exists` (in another library).
pub fn function_exists(name: &str) -> String {
    format!("ERR Function {name} already exists")
}

/// `ERR Engine '<engine>' not found`.
pub fn engine_not_found(engine: &str) -> String {
    format!("ERR Engine '{engine}' not found")
}

/// `ERR Invalid metadata value given: <word>`.
pub fn invalid_metadata(word: &str) -> String {
    format!("ERR Invalid metadata value given: {word}")
}

/// `ERR Error registering functions: <why>`.
pub fn function_register_failed(why: &str) -> String {
    format!("ERR Error registering functions: {why}")
}

/// `ERR Error compiling function: <why>`.
pub fn function_compile_failed(why: &str) -> String {
    format!("ERR Error compiling function: {why}")
}

/// `ERR Error compiling script (new function): <why>`.
pub fn script_compile_failed(why: &str) -> String {
    format!("ERR Error compiling script (new function): {why}")
}

/// `ERR Error running script: <why>`.
pub fn script_run_failed(why: &str) -> String {
    format!("ERR Error running script: {why}")
}

/// kevy only: the Lua state could not be built.
pub fn lua_start_failed(why: &str) -> String {
    format!("ERR could not start the Lua engine: {why}")
}

/// `ERR <source>:<line>: <msg>`: a Lua runtime error at a script line.
pub fn script_error_at(source: &str, line: i32, msg: &str) -> String {
    format!("ERR {source}:{line}: {msg}")
}

/// `ERR Unexpected engine in script shebang: <engine>`.
pub fn shebang_engine(engine: &str) -> String {
    format!("ERR Unexpected engine in script shebang: {engine}")
}

/// `ERR Unknown lua shebang option: <opt>`.
pub fn shebang_option(opt: &str) -> String {
    format!("ERR Unknown lua shebang option: {opt}")
}

/// `ERR Unexpected flag in script shebang: <flag>`.
pub fn shebang_flag(flag: &str) -> String {
    format!("ERR Unexpected flag in script shebang: {flag}")
}

// Scripting: the Lua `redis` library (redis.call, redis.log, redis.register_function...).
pub const SETRESP_ARITY: &str = "ERR redis.setresp() requires one argument.";
pub const SETRESP_VERSION: &str = "ERR RESP version must be 2 or 3.";
pub const SHA1HEX_ARITY: &str = "ERR wrong number of arguments";
pub const LOG_ARITY: &str = "ERR redis.log() requires two arguments or more.";
pub const LOG_LEVEL_NOT_NUMBER: &str = "ERR First argument must be a number (log level).";
pub const LOG_LEVEL_INVALID: &str = "ERR Invalid debug level.";
pub const CALL_NESTED: &str = "ERR redis.call cannot be nested";
pub const CALL_NO_ARGS: &str = "ERR Please specify at least one argument for this redis lib call";
pub const CALL_BAD_ARG: &str = "ERR Lua redis lib command arguments must be strings or integers";
pub const CALL_UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
pub const CALL_WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
pub const CALL_NOSCRIPT: &str = "ERR This Redis command is not allowed from script";
pub const CALL_WRITE_IN_RO: &str = "ERR Write commands are not allowed from read-only scripts.";
/// kevy only: a script ran a command that needs every shard (DBSIZE, KEYS, INFO...)
/// while holding only the shards of its KEYS.
pub const SCRIPT_ALL_SHARDS: &str =
    "ERR Script attempted to run a command that needs every shard: a script holds only the shards of its KEYS";
/// kevy only: a script used a key of a shard its EVAL does not hold.
pub const SCRIPT_UNDECLARED_KEY: &str =
    "ERR Script attempted to access a key on a shard it did not lock: pass every key the script uses in KEYS (or put them under one {hashtag})";
pub const REGISTER_WRONG_ARGS: &str = "ERR wrong number of arguments to redis.register_function";
pub const REGISTER_NOT_FUNCTION: &str = "ERR second argument to redis.register_function must be a function";
pub const REGISTER_NAME_NOT_STRING: &str =
    "ERR function name argument given to redis.register_function must be a string";
pub const REGISTER_KEY_NOT_STRING: &str =
    "ERR named argument key given to redis.register_function is not a string";
pub const REGISTER_CALLBACK_NOT_FUNCTION: &str =
    "ERR callback argument given to redis.register_function must be a function";
pub const REGISTER_DESCRIPTION_NOT_STRING: &str =
    "ERR description argument given to redis.register_function must be a string";
pub const REGISTER_UNKNOWN_FLAG: &str = "ERR unknown flag given";
pub const REGISTER_FLAGS_NOT_TABLE: &str =
    "ERR flags argument to redis.register_function must be a table representing function flags";
pub const REGISTER_UNKNOWN_ARG: &str = "ERR unknown argument given to redis.register_function";
pub const REGISTER_NO_CALLBACK: &str = "ERR redis.register_function must get a callback argument";
/// SORT: a numeric weight (the element, or what BY names) is not a number.
pub const SORT_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

// Bit commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD.
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
pub const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
pub const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
pub const BITFIELD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
pub const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const HLL_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
pub const PFDEBUG_NO_KEY: &str = "ERR The specified key does not exist";
pub const PFDEBUG_NOT_SPARSE: &str = "ERR HLL encoding is not sparse";

/// `ERR Unknown PFDEBUG subcommand '<sub>'` (the name up to a NUL, as Redis prints it).
pub fn unknown_pfdebug_subcommand(sub: &[u8]) -> String {
    format!("ERR Unknown PFDEBUG subcommand '{}'", lossy(c_string(sub)))
}

/// `TESTFAILED ...`: what PFSELFTEST found wrong.
pub fn pfselftest_failed(what: &str) -> String {
    format!("TESTFAILED {what}")
}

// In-process host calls (the C ABI's kevy_call, Python's Server.call).
/// kevy only: a (un)subscribe command run without a connection to deliver messages to.
pub fn pubsub_needs_connection(name: &str) -> String {
    format!("ERR {name} needs a client connection (subscriptions are per connection)")
}
/// kevy only: a script reached a shard it did not hold before writing; the run is
/// abandoned and run again holding every shard (this text shows only where it cannot be:
/// inside MULTI/EXEC, from a host thread).
pub const SCRIPT_RERUN_ALL_SHARDS: &str =
    "ERR Script reached a key on a shard it did not lock before writing: run it again (it now holds every shard)";

// Geo.
pub const GEO_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
pub const GEO_MEMBER_UNDECODABLE: &str = "ERR could not decode requested zset member";
pub const GEO_NEED_RADIUS: &str = "ERR need numeric radius";
pub const GEO_RADIUS_NEGATIVE: &str = "ERR radius cannot be negative";
pub const GEO_NEED_WIDTH: &str = "ERR need numeric width";
pub const GEO_NEED_HEIGHT: &str = "ERR need numeric height";
pub const GEO_BOX_NEGATIVE: &str = "ERR height or width cannot be negative";
pub const GEO_COUNT_NOT_POSITIVE: &str = "ERR COUNT must be > 0";
pub const GEO_ANY_NEEDS_COUNT: &str = "ERR the ANY argument requires COUNT argument";
pub const GEORADIUS_STORE_WITH: &str = "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options";
pub const GEOSEARCHSTORE_WITH: &str = "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options";

/// A coordinate pair outside the storable limits, printed with C's `%f`.
pub fn geo_invalid_point(long: f64, lat: f64) -> String {
    let c = |d: f64| if d.is_infinite() { if d > 0.0 { "inf".to_string() } else { "-inf".to_string() } } else { format!("{d:.6}") };
    format!("ERR invalid longitude,latitude pair {},{}", c(long), c(lat))
}

/// GEOSEARCH(STORE) without FROMMEMBER or FROMLONLAT (`name` as the client spelled it).
pub fn geo_one_of_from(name: &str) -> String {
    format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
}

/// GEOSEARCH(STORE) without BYRADIUS or BYBOX.
pub fn geo_one_of_by(name: &str) -> String {
    format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
}

/// A blocking command's timeout (BLPOP, BZPOPMIN...) that is not a number.
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";

// The session stage and the dispatcher (shard/txn.rs, shard/dispatch.rs, shard/host.rs,
// shard/front.rs).
pub const NESTED_MULTI: &str = "ERR MULTI calls can not be nested";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
/// A handler panicked: the command's reply so far is replaced by this.
pub const INTERNAL_ERROR: &str = "ERR internal error while running the command";
/// Sent (then the connection closed) to a client over `maxclients`.
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const HOST_CALL_IN_CALLBACK: &str =
    "ERR in-process call from inside a custom command's callback: use the callback context's call";

/// EXEC of a transaction whose queueing refused a command with `msg`.
pub fn execabort_because(msg: &str) -> String {
    format!("EXECABORT Transaction discarded because of: {}", msg.strip_prefix("ERR ").unwrap_or(msg))
}

/// RESP2 subscribed mode refuses command `name`.
pub fn only_subscribe_commands(name: &str) -> String {
    format!("ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
}

/// SLOWLOG GET with a count that is not an integer >= -1.
pub const SLOWLOG_BAD_COUNT: &str = "ERR count should be greater than or equal to -1";

/// LATENCY GRAPH of an event with no samples.
pub fn latency_no_samples(event: &[u8]) -> String {
    format!("ERR No samples available for event '{}'", lossy(event))
}

// Authentication (requirepass).
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
                                HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
                                the RESP protocol version at the same time";
/// Before AUTH a client may send only small commands (Redis's limits); then it is closed.
pub const UNAUTH_MULTIBULK: &str = "ERR Protocol error: unauthenticated multibulk length";
pub const UNAUTH_BULK: &str = "ERR Protocol error: unauthenticated bulk length";
/// Sent (then the connection is closed) to a client from outside loopback while
/// protected-mode is on and no password is set.
pub const DENIED_PROTECTED_MODE: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is \
                                 set for the default user. In this mode connections are only accepted from the loopback \
                                 interface. If you want to connect from external computers to Redis you may adopt one of the \
                                 following solutions: 1) Just disable protected mode sending the command 'CONFIG SET \
                                 protected-mode no' from the loopback interface by connecting to Redis from the same host the \
                                 server is running, however MAKE SURE Redis is not publicly accessible from internet if you do \
                                 so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the \
                                 protected mode by editing the Redis configuration file, and setting the protected mode option to \
                                 'no', and then restarting the server. 3) If you started the server manually just for testing, \
                                 restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the \
                                 default user. NOTE: You only need to do one of the above things in order for the server to start \
                                 accepting connections from the outside.";

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The sources whose error replies live here: every command family, the Lua side
    /// and the shard layer. (resp/, config/ and types/stream/id.rs sit below commands/
    /// in the layers, so they keep the texts they own: protocol errors, CONFIG SET's
    /// parse errors, stream ID parse errors.)
    fn covered_files() -> Vec<PathBuf> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut dirs = vec![src.join("commands"), src.join("scripting"), src.join("shard")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source folder") {
                let path = entry.expect("a folder entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("commands/errors.rs") {
                    files.push(path);
                }
            }
        }
        files
    }

    /// Error codes of the replies that must come from this file.
    const CODES: [&str; 12] = [
        "ERR ", "-ERR", "WRONGTYPE ", "NOSCRIPT ", "BUSY ", "BUSYGROUP ", "NOGROUP ", "NOTBUSY ",
        "UNKILLABLE ", "WRONGPASS ", "NOPROTO ", "EXECABORT ",
    ];

    /// The string literals of `code` (before its test module, comments skipped) that
    /// start with an error code.
    fn error_literals(code: &str) -> Vec<String> {
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = Vec::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices('"') {
                let escaped = line[..at].ends_with('\\');
                let rest = &line[at + 1..];
                if !escaped && CODES.iter().any(|c| rest.starts_with(c)) {
                    found.push(line.trim().to_string());
                }
            }
        }
        found
    }

    #[test]
    fn error_texts_live_in_errors_rs() {
        let files = covered_files();
        assert!(files.len() > 30, "the walk found the command sources: {files:?}");
        let mut strays = Vec::new();
        for path in files {
            let code = std::fs::read_to_string(&path).expect("a source file");
            for line in error_literals(&code) {
                strays.push(format!("{}: {line}", path.display()));
            }
        }
        assert!(strays.is_empty(), "error texts outside commands/errors.rs:\n{}", strays.join("\n"));
    }

    #[test]
    fn the_scan_sees_error_literals() {
        assert_eq!(error_literals("f(\"ERR x\");\n// \"ERR y\"\nb\"WRONGTYPE z\";").len(), 2);
        assert!(error_literals("g(\"ok\", \"\\\"ERR\");").is_empty());
        assert!(error_literals("#[cfg(test)]\n\"ERR x\"").is_empty());
    }
}
