//! The typed values a key can hold. Each data-type family adds its variant here (owned
//! in [`Value`], borrowed in [`ValueRef`]) and keeps its structure in `types/`.

use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (also what counters and bitmaps are).
    Str(Vec<u8>),
    /// A list (LPUSH/RPUSH...), head first.
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    Stream(Box<Stream>),
}

/// A borrowed view of a stored value. Small strings live packed in the key's record,
/// so reads hand out this view rather than `&Value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a List),
    Hash(&'a Hash),
    Set(&'a Set),
    ZSet(&'a ZSet),
    Stream(&'a Stream),
}

impl Value {
    /// The borrowed view of this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::List(l) => ValueRef::List(l),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
            Value::Stream(s) => ValueRef::Stream(s),
        }
    }
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }
    /// The name `OBJECT ENCODING` reports.
    pub fn encoding_name(&self) -> &'static str {
        self.as_ref().encoding_name()
    }
}

impl ValueRef<'_> {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::List(_) => "list",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
            ValueRef::Stream(_) => "stream",
        }
    }

    /// The name `OBJECT ENCODING` reports, following Redis's choices by size and content.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ValueRef::Str(s) => {
                if s.len() <= 20 && crate::num::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            ValueRef::List(_) => "quicklist",
            ValueRef::Hash(h) => h.encoding_name(),
            ValueRef::Set(s) => s.encoding_name(),
            ValueRef::ZSet(z) => z.encoding_name(),
            ValueRef::Stream(_) => "stream",
        }
    }

    /// An owned copy (COPY, RENAME across shards).
    // By reference on purpose: by value, a call on a `&ValueRef` would pick the
    // blanket `ToOwned` (returning the view) over this one.
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> Value {
        match self {
            ValueRef::Str(s) => Value::Str(s.to_vec()),
            ValueRef::List(l) => Value::List((*l).clone()),
            ValueRef::Hash(h) => Value::Hash((*h).clone()),
            ValueRef::Set(s) => Value::Set((*s).clone()),
            ValueRef::ZSet(z) => Value::ZSet((*z).clone()),
            ValueRef::Stream(s) => Value::Stream(Box::new((*s).clone())),
        }
    }
}
