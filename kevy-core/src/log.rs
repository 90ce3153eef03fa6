//! Log lines: written to stderr, or handed to the host's hook when one is installed
//! (the C ABI's `kevy_set_log_handler`, Python's `logging` bridge). One hook per
//! process, because log lines come from shard threads of every server in it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, RwLock};

/// Severity, as Redis's `loglevel` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

/// Receives every log line: level and message (no trailing newline).
pub type Hook = Arc<dyn Fn(Level, &str) + Send + Sync>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Installs (or with None removes) the process-wide log hook.
pub fn set_hook(hook: Option<Hook>) {
    *HOOK.write().unwrap_or_else(|e| e.into_inner()) = hook;
}

/// Emits one log line. A hook that panics loses that line, nothing more.
pub fn emit(level: Level, msg: &str) {
    let hook = HOOK.read().unwrap_or_else(|e| e.into_inner()).clone();
    match hook {
        Some(h) => {
            let _ = catch_unwind(AssertUnwindSafe(|| h(level, msg)));
        }
        None => eprintln!("kevy: {msg}"),
    }
}

/// `log_warning!("...", args)`: a warning line.
#[macro_export]
macro_rules! log_warning {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Warning, &format!($($arg)*)) };
}

/// `log_notice!("...", args)`: a notice line.
#[macro_export]
macro_rules! log_notice {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Notice, &format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn hook_receives_lines_and_survives_panics() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        set_hook(Some(Arc::new(move |lvl, msg: &str| {
            if msg == "boom" {
                panic!("hook failed");
            }
            s.lock().unwrap().push((lvl, msg.to_string()));
        })));
        emit(Level::Warning, "boom");
        crate::log_notice!("hello {}", 7);
        set_hook(None);
        assert_eq!(*seen.lock().unwrap(), vec![(Level::Notice, "hello 7".to_string())]);
    }
}
