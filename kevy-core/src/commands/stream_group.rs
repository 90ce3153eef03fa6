//! (in progress)
pub const COMMANDS: &[super::Command] = &[];
