//! libFuzzer target: the RDB reader, then (for a file it takes) a server loading it as
//! dump.rdb and reading every key back. See kevy-core/tests/fuzz_support/targets.rs.
#![no_main]

#[path = "../../kevy-core/tests/fuzz_support/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if targets::rdb_load(data) {
        let dir = std::env::temp_dir().join(format!("kevy-fuzz-rdb-{}", std::process::id()));
        targets::rdb_server(&dir, data);
    }
});
