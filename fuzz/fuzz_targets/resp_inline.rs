//! libFuzzer target: see kevy-core/tests/fuzz_support/targets.rs, fn resp_inline.
#![no_main]

#[path = "../../kevy-core/tests/fuzz_support/targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::resp_inline(data));
