//! The import-direction rule of docs/ARCHITECTURE.md, checked over the source: a module
//! may use modules of lower layers (and itself), never one above it or beside it, so
//! no two folders import each other.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Layers, lowest first. A module name is a folder (or file stem) under src/.
const LAYERS: &[&[&str]] = &[
    &["glob", "random", "clock", "log", "num", "faults", "heap_cost"],
    &["resp", "types", "config", "reactor", "alloc_count"],
    &["error"],
    &["store"],
    &["commands"],
    &["scripting"],
    &["persist"],
    &["shard"],
    &["server", "lib", "bin"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn module_of(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Modules named by `crate::<name>` in code (not comments); `crate::log_*!` macros are `log`.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + 7..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let name = if name.starts_with("log_") { "log".to_string() } else { name };
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let module = module_of(rel);
        let Some(own) = layer_of(&module) else { panic!("{} is in no layer: add its module to LAYERS", rel.display()) };
        for target in imported_modules(&std::fs::read_to_string(file).unwrap()) {
            if target == module {
                continue;
            }
            // Names exported from lib.rs (VERSION...) are not modules.
            let Some(theirs) = layer_of(&target) else { continue };
            if theirs >= own {
                upward.insert((rel.display().to_string(), target));
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up (or sideways) the layers: {upward:?}");
}
