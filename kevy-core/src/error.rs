//! The library's error type: I/O, configuration and (later) persistence failures.
//! Client-facing errors are replies, never this type.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    Config(crate::config::ConfigError),
    /// A data file that cannot be loaded: the message names the file and offset.
    Persist(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::Persist(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Self {
        Error::Config(e)
    }
}
