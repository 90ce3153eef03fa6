//! BITOP with its destination and sources on different shards: the result, a
//! wrong-type source on another shard, and an empty result deleting the destination.

mod common;

use common::{spread, start, Client};

#[test]
fn bitop_reads_and_writes_keys_on_every_shard() {
    let server = start(3);
    let mut c = Client::connect(server.port());
    let keys = spread("bits", 3);
    let (dst, a, b) = (&keys[0], &keys[1], &keys[2]);
    assert_eq!(c.cmd(&format!("SETBIT {a} 1 1")), ":0\r\n");
    assert_eq!(c.cmd(&format!("SETBIT {b} 15 1")), ":0\r\n");
    assert_eq!(c.cmd(&format!("BITOP OR {dst} {a} {b}")), ":2\r\n");
    assert_eq!(c.cmd(&format!("GET {dst}")), "$2\r\n@\x01\r\n");
    assert_eq!(c.cmd(&format!("BITOP XOR {a} {a} {b} {dst}")), ":2\r\n");
    assert_eq!(c.cmd(&format!("BITCOUNT {a}")), ":0\r\n");
    assert_eq!(c.cmd(&format!("BITOP NOT {b} {dst}")), ":2\r\n");
    assert_eq!(c.cmd(&format!("BITCOUNT {b}")), ":14\r\n");
    assert_eq!(c.cmd(&format!("BITPOS {b} 0")), ":1\r\n");
    // A wrong type on any shard fails the whole command and writes nothing.
    assert_eq!(c.cmd(&format!("RPUSH {b} x")), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(c.cmd(&format!("DEL {b}")), ":1\r\n");
    assert_eq!(c.cmd(&format!("RPUSH {b} x")), ":1\r\n");
    let wrong = c.cmd(&format!("BITOP AND {dst} {a} {b}"));
    assert!(wrong.starts_with("-WRONGTYPE"), "{wrong}");
    assert_eq!(c.cmd(&format!("STRLEN {dst}")), ":2\r\n");
    // Only missing sources: the destination on its own shard is deleted.
    assert_eq!(c.cmd(&format!("BITOP AND {dst} {a}:none {b}:none")), ":0\r\n");
    assert_eq!(c.cmd(&format!("EXISTS {dst}")), ":0\r\n");
}
