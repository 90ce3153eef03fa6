//! `notify-keyspace-events`: the event classes its letters stand for, and the
//! parameter's text both ways. The keyspace notifications (shard/notify.rs) and the
//! commands' declared events (commands/effects.rs) use these classes.

/// Event classes, as the letters of `notify-keyspace-events`.
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 12; // d
    pub const NEW: u32 = 1 << 13; // n
    /// `A`: every class but m and n.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}


const LETTERS: &[(char, u32)] = &[
    ('K', class::KEYSPACE),
    ('E', class::KEYEVENT),
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('m', class::KEY_MISS),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// Parses the flag string; None for an unknown letter.
pub fn parse_flags(text: &str) -> Option<u32> {
    let mut bits = 0;
    for c in text.chars() {
        bits |= match c {
            'A' => class::ALL,
            _ => LETTERS.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(bits)
}

/// The flag string in Redis's canonical form (what CONFIG GET shows): `A` or the class
/// letters, then K, E, m.
pub fn format_flags(bits: u32) -> String {
    let mut out = String::new();
    if bits & class::ALL == class::ALL {
        out.push('A');
        // Redis drops `n` from the display after `A` (and so would lose it on a
        // rewrite); kevy keeps it, so the value read back means the same.
        if bits & class::NEW != 0 {
            out.push('n');
        }
    } else {
        for (c, b) in [('g', class::GENERIC), ('$', class::STRING), ('l', class::LIST), ('s', class::SET), ('h', class::HASH),
            ('z', class::ZSET), ('x', class::EXPIRED), ('e', class::EVICTED), ('t', class::STREAM), ('d', class::MODULE),
            ('n', class::NEW)]
        {
            if bits & b != 0 {
                out.push(c);
            }
        }
    }
    for (c, b) in [('K', class::KEYSPACE), ('E', class::KEYEVENT), ('m', class::KEY_MISS)] {
        if bits & b != 0 {
            out.push(c);
        }
    }
    out
}
