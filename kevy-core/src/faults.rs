//! Fault injection for tests (the host's `inject_error` / `delay`, like miniredis's
//! SetError): a command named by a rule answers with a given error instead of
//! running, or runs after a pause, for its next N calls or until the rules are
//! cleared. Applies to every caller alike: clients, in-process calls, transactions.
//!
//! The check costs one relaxed atomic load per command while no rule is set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What a matching command does instead of (or before) running.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Reply with this error (already a one-line error text with its code).
    Error(String),
    /// Sleep this long on the thread running the command, then run it.
    Delay(Duration),
}

struct Rule {
    /// Lower-case command name (`get`, `config`, or a subcommand's `config|get`).
    name: String,
    fault: Fault,
    /// Calls left; None: every call.
    remaining: Option<u64>,
}

/// The rules of one server.
#[derive(Default)]
pub struct Faults {
    armed: AtomicBool,
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    /// Adds a rule: `name`'s next `times` calls (every call for None) get `fault`.
    /// Rules for one name apply in the order they were added.
    pub fn add(&self, name: &str, fault: Fault, times: Option<u64>) {
        if times == Some(0) {
            return;
        }
        let fault = match fault {
            Fault::Error(text) => Fault::Error(error_text(&text)),
            delay => delay,
        };
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.push(Rule { name: name.to_ascii_lowercase(), fault, remaining: times });
        self.armed.store(true, Ordering::Release);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// The fault for one call of the command `name` (a row's name: `get`, or
    /// `config|get`, which a rule for `config` matches too), using one of its times.
    #[inline]
    pub fn take(&self, name: &str) -> Option<Fault> {
        if !self.armed.load(Ordering::Relaxed) {
            return None;
        }
        self.take_slow(name)
    }

    fn take_slow(&self, name: &str) -> Option<Fault> {
        let container = name.split('|').next().unwrap_or(name);
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let at = rules.iter().position(|r| r.name == name || r.name == container)?;
        let fault = rules[at].fault.clone();
        if let Some(left) = rules[at].remaining.as_mut() {
            *left -= 1;
            if *left == 0 {
                rules.remove(at);
            }
        }
        if rules.is_empty() {
            self.armed.store(false, Ordering::Release);
        }
        Some(fault)
    }
}

/// The text as a well-formed error reply: one line (CR/LF become spaces), with `ERR `
/// put in front unless it starts with an upper-case code ("WRONGTYPE ...").
fn error_text(text: &str) -> String {
    let line: String = text.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
    let code = line.split(' ').next().unwrap_or("");
    if !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase()) && line.len() > code.len() {
        line
    } else {
        format!("ERR {line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_lasts_its_times_then_goes() {
        let f = Faults::default();
        assert_eq!(f.take("get"), None);
        f.add("GET", Fault::Error("ERR boom".into()), Some(2));
        assert_eq!(f.take("set"), None);
        assert_eq!(f.take("get"), Some(Fault::Error("ERR boom".into())));
        assert_eq!(f.take("get"), Some(Fault::Error("ERR boom".into())));
        assert_eq!(f.take("get"), None);
        assert!(!f.armed.load(Ordering::Relaxed));
    }

    #[test]
    fn forever_until_cleared_and_containers_match_subcommands() {
        let f = Faults::default();
        f.add("config", Fault::Delay(Duration::from_millis(1)), None);
        for _ in 0..3 {
            assert_eq!(f.take("config|get"), Some(Fault::Delay(Duration::from_millis(1))));
        }
        f.clear();
        assert_eq!(f.take("config|get"), None);
    }

    #[test]
    fn error_texts_are_one_line_with_a_code() {
        assert_eq!(error_text("boom"), "ERR boom");
        assert_eq!(error_text("BUSY try later"), "BUSY try later");
        assert_eq!(error_text("OOM"), "ERR OOM");
        assert_eq!(error_text("bad\r\nthing"), "ERR bad  thing");
    }
}
