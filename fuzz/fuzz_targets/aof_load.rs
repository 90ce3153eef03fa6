//! libFuzzer target: the input as a 1-shard data directory's appendonly-0.aof, loaded
//! by Server::start. See kevy-core/tests/fuzz_support/targets.rs, fn aof_load.
#![no_main]

#[path = "../../kevy-core/tests/fuzz_support/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("kevy-fuzz-aof-{}", std::process::id()));
    targets::aof_load(&dir, data);
});
