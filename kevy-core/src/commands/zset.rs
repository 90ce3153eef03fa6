//! zset commands (being implemented).

use super::Command;

pub const COMMANDS: &[Command] = &[];
