//! The zset data structure (placeholder: being implemented with the zset commands).

/// A zset value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSet {}

impl ZSet {
    /// The name OBJECT ENCODING reports for this value.
    pub fn encoding_name(&self) -> &'static str {
        "hashtable"
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        0
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
