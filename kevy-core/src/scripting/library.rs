//! The server's function libraries (FUNCTION LOAD): code and the functions each one
//! registered, by library name. Shared by every shard; each shard thread loads a
//! library's code into its own Lua state the first time one of its functions is called.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::commands::errors;

/// One function a library registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMeta {
    pub name: String,
    pub flags: Vec<String>,
    pub description: Option<String>,
}

impl FunctionMeta {
    /// Declared `no-writes`: FCALL_RO may call it, and it may not write.
    pub fn no_writes(&self) -> bool {
        self.flags.iter().any(|f| f == "no-writes")
    }
}

/// A loaded library.
#[derive(Debug)]
pub struct Library {
    pub name: String,
    pub code: Arc<[u8]>,
    pub functions: Vec<FunctionMeta>,
}

/// The libraries of a server, by name.
#[derive(Default)]
pub struct Libraries {
    by_name: RwLock<BTreeMap<String, Arc<Library>>>,
}

/// Flags `redis.register_function` accepts.
pub const FLAGS: &[&str] = &["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

/// Library and function names: letters, digits and underscores, at least one.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Libraries {
    /// The library holding function `name`, and the function's metadata.
    pub fn function(&self, name: &[u8]) -> Option<(Arc<Library>, FunctionMeta)> {
        let name = std::str::from_utf8(name).ok()?;
        let libs = self.by_name.read().unwrap_or_else(|e| e.into_inner());
        libs.values().find_map(|lib| {
            let meta = lib.functions.iter().find(|f| f.name == name)?;
            Some((Arc::clone(lib), meta.clone()))
        })
    }

    pub fn exists(&self, name: &str) -> bool {
        self.by_name.read().unwrap_or_else(|e| e.into_inner()).contains_key(name)
    }

    /// Adds (or with `replace`, replaces) a library. The error is the reply text.
    pub fn insert(&self, lib: Library, replace: bool) -> Result<(), String> {
        super::reach::forget_all(); // a function by the same name may now stay local
        let mut libs = self.by_name.write().unwrap_or_else(|e| e.into_inner());
        if !replace && libs.contains_key(&lib.name) {
            return Err(errors::library_exists(&lib.name));
        }
        for other in libs.values().filter(|o| o.name != lib.name) {
            if let Some(f) = lib.functions.iter().find(|f| other.functions.iter().any(|g| g.name == f.name)) {
                return Err(errors::function_exists(&f.name));
            }
        }
        libs.insert(lib.name.clone(), Arc::new(lib));
        Ok(())
    }

    pub fn delete(&self, name: &[u8]) -> bool {
        super::reach::forget_all(); // a function by the same name may now stay local
        let name = String::from_utf8_lossy(name);
        self.by_name.write().unwrap_or_else(|e| e.into_inner()).remove(name.as_ref()).is_some()
    }

    pub fn flush(&self) {
        super::reach::forget_all(); // a function by the same name may now stay local
        self.by_name.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Every library, by name.
    pub fn all(&self) -> Vec<Arc<Library>> {
        self.by_name.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }
}

/// Parses a library's first line `#!lua name=<lib>`: the library name. The error is
/// the reply text.
pub fn parse_metadata(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err(errors::LIBRARY_METADATA_MISSING.into());
    }
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let engine = words.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(errors::engine_not_found(engine));
    }
    let mut name = None;
    for w in words {
        match w.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(errors::invalid_metadata(w)),
        }
    }
    let name = name.ok_or(errors::LIBRARY_NAME_MISSING)?;
    if !valid_name(&name) {
        return Err(errors::BAD_LIBRARY_NAME.into());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(name: &str, funcs: &[&str]) -> Library {
        Library {
            name: name.into(),
            code: Arc::from(&b""[..]),
            functions: funcs.iter().map(|f| FunctionMeta { name: f.to_string(), flags: vec![], description: None }).collect(),
        }
    }

    #[test]
    fn registry_rules() {
        let libs = Libraries::default();
        libs.insert(lib("a", &["f", "g"]), false).unwrap();
        assert_eq!(libs.insert(lib("a", &["h"]), false).unwrap_err(), "ERR Library 'a' already exists");
        assert_eq!(libs.insert(lib("b", &["g"]), false).unwrap_err(), "ERR Function g already exists");
        libs.insert(lib("a", &["g"]), true).unwrap();
        assert!(libs.function(b"f").is_none());
        assert_eq!(libs.function(b"g").unwrap().0.name, "a");
        assert!(libs.delete(b"a"));
        assert!(!libs.delete(b"a"));
    }

    #[test]
    fn metadata() {
        assert_eq!(parse_metadata(b"#!lua name=mylib\ncode").unwrap(), "mylib");
        assert_eq!(parse_metadata(b"code").unwrap_err(), "ERR Missing library metadata");
        assert_eq!(parse_metadata(b"#!lua\n").unwrap_err(), "ERR Library name was not given");
        assert_eq!(parse_metadata(b"#!lua name=x foo=bar\n").unwrap_err(), "ERR Invalid metadata value given: foo=bar");
        assert!(parse_metadata(b"#!lua name=a-b\n").is_err());
    }
}
