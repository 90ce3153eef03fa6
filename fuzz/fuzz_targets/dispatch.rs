//! libFuzzer target: the input as commands (one per line, `%HH` escapes) run through
//! Server::call on a 1-shard and a 3-shard server, which must answer PING after.
//! See kevy-core/tests/fuzz_support/targets.rs, fn decode_commands and fn dispatch.
#![no_main]

use std::sync::OnceLock;

#[path = "../../kevy-core/tests/fuzz_support/targets.rs"]
mod targets;

fn servers() -> &'static [kevy_core::Server; 2] {
    static SERVERS: OnceLock<[kevy_core::Server; 2]> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let dir = |n: usize| std::env::temp_dir().join(format!("kevy-fuzz-dispatch-{}-{n}", std::process::id()));
        [1, 3].map(|n| targets::dispatch_server(&dir(n), n))
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let commands = targets::decode_commands(data);
    for server in servers() {
        targets::dispatch(server, &commands);
    }
});
