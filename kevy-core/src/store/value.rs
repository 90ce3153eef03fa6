//! The typed values a key can hold. Each data-type family adds its variant here and
//! keeps its structure in `types/`.

use std::collections::VecDeque;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (also what counters and bitmaps are).
    Str(Vec<u8>),
    /// A list (LPUSH/RPUSH...), head first.
    List(VecDeque<Vec<u8>>),
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
        }
    }

    /// The name `OBJECT ENCODING` reports, following Redis's choices by size and content.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::resp::parser::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(_) => "quicklist",
        }
    }
}
