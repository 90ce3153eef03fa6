//! Storage: a shard's keyspace and the values it holds.

pub mod db;
pub mod blocked;
pub mod keyspace;
pub mod record;
pub mod routing;
pub mod usage;
pub mod value;
pub mod walk;
pub mod watched;

pub use keyspace::{Keyspace, NO_EXPIRE};
pub use value::{Value, ValueRef};
