//! The Lua sandbox across clients: what one connection's script (or FUNCTION library)
//! tries to change in the shared Lua state is refused, so another connection's scripts
//! on the same shard still get the real `redis.call`, `string.format`, `cjson`.
//! (Exact reply bytes against redis-server: tests/compat/cases/script_sandbox.txt.)

mod common;

use common::{start, Client};

fn send(c: &mut Client, args: &[&str]) -> String {
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send_raw(&Client::encode(&words));
    c.reply()
}

fn eval(c: &mut Client, body: &str) -> String {
    send(c, &["EVAL", body, "0"])
}

/// Hijack attempts of an EVAL script; each must fail with the read-only error.
const HIJACKS: &[&str] = &[
    "rawset(_G, 'redis', {call = function() return 'fake' end})",
    "getmetatable('').__index.format = function() return 'hijacked' end",
    "rawset(getmetatable('').__index, 'format', function() return 'hijacked' end)",
    "string.format = function() return 'hijacked' end",
    "redis.call = function() return 'fake' end",
    "rawset(redis, 'call', function() return 'fake' end)",
    "cjson.encode = function() return 'fake' end",
    "setmetatable(_G, {__index = function() return 'fake' end})",
    "_G.injected = 1",
    "loadstring('redis = 1')()",
    "table.insert(_G, 'fake')",
];

/// What the victim's scripts must still see.
fn assert_intact(victim: &mut Client) {
    assert_eq!(eval(victim, "return redis.call('ping')"), "+PONG\r\n");
    assert_eq!(eval(victim, "return string.format('%d-%s', 5, 'x')"), "$3\r\n5-x\r\n");
    assert_eq!(eval(victim, "return ('%d'):format(7)"), "$1\r\n7\r\n");
    assert_eq!(eval(victim, "return cjson.encode({1})"), "$3\r\n[1]\r\n");
    assert_eq!(eval(victim, "return rawget(_G, 'injected')"), "$-1\r\n");
    assert_eq!(eval(victim, "return #_G"), ":0\r\n");
}

#[test]
fn one_clients_hijack_attempts_leave_other_clients_scripts_intact() {
    // One shard: both connections share one Lua state.
    let server = start(1);
    let mut attacker = Client::connect(server.port());
    let mut victim = Client::connect(server.port());
    assert_intact(&mut victim);
    for body in HIJACKS {
        let reply = eval(&mut attacker, body);
        assert!(reply.contains("Attempt to modify a readonly table"), "{body}: {reply}");
        assert_intact(&mut victim);
    }
}

#[test]
fn a_function_library_cannot_poison_scripts() {
    let server = start(1);
    let mut attacker = Client::connect(server.port());
    let mut victim = Client::connect(server.port());
    let mut code = String::from("#!lua name=poison\n");
    for (i, body) in HIJACKS.iter().enumerate() {
        code.push_str(&format!("redis.register_function('p{i}', function() {body} end)\n"));
    }
    assert_eq!(send(&mut attacker, &["FUNCTION", "LOAD", &code]), "$6\r\npoison\r\n");
    for (i, body) in HIJACKS.iter().enumerate() {
        let reply = send(&mut attacker, &["FCALL", &format!("p{i}"), "0"]);
        assert!(reply.contains("Attempt to modify a readonly table"), "{body}: {reply}");
        assert_intact(&mut victim);
    }
    // A library that tries at load time is refused and changes nothing.
    let at_load = "#!lua name=atload\nstring = nil\nredis.register_function('f', function() return 1 end)";
    let reply = send(&mut attacker, &["FUNCTION", "LOAD", at_load]);
    assert!(reply.starts_with("-ERR Error registering functions:"), "{reply}");
    assert_intact(&mut victim);
}

#[test]
fn bytecode_never_loads() {
    let server = start(1);
    let mut c = Client::connect(server.port());
    assert_eq!(eval(&mut c, "return type(loadstring(string.dump(function() return 1 end)))"), "$3\r\nnil\r\n");
    let reader = "local s = string.dump(function() return 1 end); local n = 0; \
                  return type(load(function() n = n + 1; if n == 1 then return s end end))";
    assert_eq!(eval(&mut c, reader), "$3\r\nnil\r\n");
    let reply = eval(&mut c, "\x1bLuaQ");
    assert!(
        reply.starts_with(
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'"
        ),
        "{reply}"
    );
    for hidden in ["getfenv", "setfenv", "newproxy", "print", "debug", "os", "io"] {
        let reply = eval(&mut c, &format!("return type({hidden})"));
        assert!(reply.contains(&format!("nonexistent global variable '{hidden}'")), "{hidden}: {reply}");
    }
}
