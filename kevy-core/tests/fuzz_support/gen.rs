//! Structure-aware random inputs for the fuzz targets: frames and files built the way
//! kevy expects them, then damaged (lengths changed, bytes flipped, cut short), over
//! every byte value. Seeded, so a failing run is replayed from its seed.

use super::targets::encode_command;

/// xorshift64*: small, fast, and the same sequence everywhere for one seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Numbers where parsers and handlers have edges.
const NUMBERS: [&str; 34] = [
    "0", "1", "-1", "2", "3", "7", "10", "100", "-100", "1000", "65535", "65536", "2147483647", "2147483648",
    "4294967295", "4294967296", "536870911", "536870912", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "18446744073709551615", "1.5", "-0.0", "inf", "-inf", "+inf", "nan", "1e308", "01",
    " 1", "", "0x10", "99999999999999999999",
];

/// Words that commands take as options, and values with meaning to some of them.
const TOKENS: [&str; 60] = [
    "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "KEEPTTL", "GET", "CH", "INCR", "WITHSCORES", "WITHSCORE",
    "LIMIT", "COUNT", "MATCH", "TYPE", "BYSCORE", "BYLEX", "REV", "LEFT", "RIGHT", "BEFORE", "AFTER", "RANK",
    "MAXLEN", "MINID", "~", "=", "*", "$", ">", "-", "+", "(1", "[a", "(a", "0-0", "1-1", "1-*",
    "18446744073709551615-18446744073709551615", "STREAMS", "GROUP", "CREATE", "MKSTREAM", "ID", "JUSTID",
    "IDLE", "FORCE", "AGGREGATE", "SUM", "MIN", "MAX", "WEIGHTS", "STORE", "BY", "ALPHA", "DESC", "FULL",
];

/// Keys, some sharing a hash tag (same shard), some not.
const KEYS: [&str; 8] = ["k", "k1", "k2", "{t}a", "{t}b", "list", "z", ""];

/// Lua bodies for EVAL and FUNCTION LOAD (none loops: a busy script is issue 12 item 4).
const SCRIPTS: [&str; 8] = [
    "return 1",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "return redis.pcall('incr', KEYS[1])",
    "return {1, 'a', {2, false}, redis.status_reply('ok')}",
    "return redis.error_reply('x')",
    "error('boom')",
    "return redis.call('nosuchcommand')",
    "#!lua name=lib\nredis.register_function('f', function(k, a) return #k end)",
];

/// A command as COMMAND INFO describes it: name, arity, subcommand names.
pub type CommandSpec = (Vec<u8>, i64, Vec<Vec<u8>>);

/// One argument: a key, a number, an option word, a script or raw bytes.
fn argument(rng: &mut Rng, position: usize) -> Vec<u8> {
    match rng.below(if position == 1 { 3 } else { 10 }) {
        0 | 1 => rng.pick(&KEYS).as_bytes().to_vec(),
        2..=4 => rng.pick(&NUMBERS).as_bytes().to_vec(),
        5 | 6 => rng.pick(&TOKENS).as_bytes().to_vec(),
        7 => rng.pick(&SCRIPTS).as_bytes().to_vec(),
        8 => (rng.below(2000) as i64 - 1000).to_string().into_bytes(),
        _ => rng.bytes(24),
    }
}

/// A command of the table with arguments around its arity.
pub fn command(rng: &mut Rng, names: &[CommandSpec]) -> Vec<Vec<u8>> {
    let (name, arity, subs) = rng.pick(names);
    let mut argv = vec![name.clone()];
    if !subs.is_empty() && !rng.chance(8) {
        argv.push(rng.pick(subs).clone());
    }
    let wanted = arity.unsigned_abs() as usize;
    // Mostly the right count (arity errors are checked before handlers run).
    let extra = if *arity < 0 { rng.below(6) } else { usize::from(rng.chance(20)) };
    let total = (wanted + extra).saturating_sub(usize::from(rng.chance(20)));
    while argv.len() < total.min(40) {
        let at = argv.len();
        argv.push(argument(rng, at));
    }
    argv
}

/// Commands that give the keys of [`KEYS`] values of every type, so the random
/// commands after them meet data (each input starts from an empty dataset).
const POPULATE: [&str; 7] = [
    "SET k 10",
    "RPUSH list a b 1 -2 c",
    "ZADD z 1 a 2 b -inf c 3.5 d",
    "HSET k1 f v n 5",
    "SADD k2 1 2 3 a",
    "XADD {t}a 1-1 f v",
    "SADD {t}b x y",
];

/// A dispatch input: a few commands in the `%HH` line format.
pub fn dispatch_input(rng: &mut Rng, names: &[CommandSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    if !rng.chance(3) {
        for line in POPULATE {
            if rng.below(4) != 0 {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
    }
    for _ in 0..1 + rng.below(12) {
        encode_command(&command(rng, names), &mut out);
    }
    out
}

/// The RESP encoding of one command.
pub fn resp(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Damages `input` a little: flipped and inserted bytes, a chunk dropped, a cut.
pub fn damage(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..rng.below(4) {
        if input.is_empty() {
            break;
        }
        let at = rng.below(input.len());
        match rng.below(5) {
            0 => input[at] = rng.next() as u8,
            1 => input[at] ^= 1 << rng.below(8),
            2 => input.insert(at, *rng.pick(b"*$\r\n-09:\0\xff ")),
            3 => drop(input.drain(at..(at + rng.below(8)).min(input.len()))),
            _ => input.splice(at..at, rng.pick(&NUMBERS).bytes()).for_each(drop),
        }
    }
    if rng.chance(4) && !input.is_empty() {
        let cut = rng.below(input.len());
        input.truncate(cut);
    }
}

/// A header number: usually the right one, else an edge or garbage.
fn header(rng: &mut Rng, right: usize) -> String {
    match rng.below(12) {
        0 => rng.pick(&NUMBERS).to_string(),
        1 => format!("{}", right + rng.below(3)),
        2 => format!("{}", right as i64 - 1),
        _ => right.to_string(),
    }
}

/// A multibulk pipeline of up to 4 frames with doubtful headers, then damage.
pub fn multibulk(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let argc = rng.below(5);
        out.extend_from_slice(format!("*{}\r\n", header(rng, argc)).as_bytes());
        for _ in 0..argc {
            let arg = rng.bytes(20);
            out.push(if rng.chance(30) { rng.next() as u8 } else { b'$' });
            out.extend_from_slice(format!("{}\r\n", header(rng, arg.len())).as_bytes());
            out.extend_from_slice(&arg);
            out.extend_from_slice(if rng.chance(20) { b"\n" } else { b"\r\n" });
        }
    }
    if rng.chance(2) {
        damage(rng, &mut out);
    }
    out
}

/// An inline pipeline: words, quoted words with escapes, whitespace of every kind.
pub fn inline(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(3) {
        for w in 0..rng.below(6) {
            if w > 0 {
                out.extend_from_slice(rng.pick(&[" ", "\t", "  ", "\x0b", "\x0c"]).as_bytes());
            }
            match rng.below(6) {
                0 => out.extend_from_slice(format!("\"{}\"", String::from_utf8_lossy(&rng.bytes(6))).as_bytes()),
                1 => out.extend_from_slice(rng.pick(&["\"\\x41\\n\"", "'a\\'b'", "\"\\x4\"", "\"a\"b", "'x", "\"\\"]).as_bytes()),
                2 => out.extend_from_slice(&rng.bytes(12)),
                _ => out.extend_from_slice(rng.pick(&TOKENS).as_bytes()),
            }
        }
        out.extend_from_slice(rng.pick(&["\r\n", "\n", "\r\r\n", ""]).as_bytes());
    }
    if out.first() == Some(&b'*') {
        out[0] = b'P';
    }
    if rng.chance(3) {
        damage(rng, &mut out);
    }
    out
}

/// Damages an RDB file (one of the seeds) and zeroes its checksum, which tells the
/// reader not to check it, so damage reaches the value decoders.
pub fn rdb(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut file = rng.pick(seeds).clone();
    for _ in 0..1 + rng.below(3) {
        if file.len() <= 9 {
            break;
        }
        let at = 9 + rng.below(file.len() - 9);
        match rng.below(6) {
            // Lengths: 6-bit, 14-bit, 32-bit, 64-bit forms and the special encodings.
            0 => file[at] = *rng.pick(&[0x3f, 0x7f, 0x80, 0x81, 0xc0, 0xc1, 0xc2, 0xc3, 0xff, 0x00]),
            1 => file.splice(at..at, [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).for_each(drop),
            2 => file[at] = rng.next() as u8,
            3 => file.splice(at..at, rng.bytes(8)).for_each(drop),
            4 => drop(file.drain(at..(at + 1 + rng.below(16)).min(file.len()))),
            _ => file.truncate(at),
        }
    }
    if file.len() >= 8 && rng.below(4) != 0 {
        let n = file.len();
        file[n - 8..].fill(0);
    }
    file
}

/// An AOF: an optional RDB preamble (one of the seeds), then commands, then damage.
pub fn aof(rng: &mut Rng, rdb_seeds: &[Vec<u8>], names: &[CommandSpec]) -> Vec<u8> {
    let mut out = if rng.chance(3) { rng.pick(rdb_seeds).clone() } else { Vec::new() };
    for _ in 0..rng.below(8) {
        out.extend_from_slice(&resp(&command(rng, names)));
    }
    if rng.below(3) != 0 {
        damage(rng, &mut out);
    }
    out
}
