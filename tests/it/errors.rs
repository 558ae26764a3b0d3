//! Every refusal of the core commands: an error reply (`ERR ...` naming the problem, or
//! `WRONGTYPE ...`), never a crash, and never a change: the whole database (each log's
//! SEQ.INFO, entries and DEBUG DIGEST-VALUE, other keys' DUMP, DEBUG DIGEST) is compared
//! before and after every refused call.

use crate::common::*;
use redis::Connection;

const KEY: &[u8] = b"conv:{e}";

/// Sends `args`, asserts an `ERR` reply naming one of `any_of`, and that nothing changed.
fn refused(con: &mut Connection, args: &[&[u8]], any_of: &[&str]) -> String {
    let before = db_state(con);
    let cmd = cmd_bytes(args);
    let e = expect_err(con, &cmd);
    assert_err_names(&e, any_of, &show_cmd(&cmd));
    assert_same_db(&before, &db_state(con), &format!("after the refused {}", show_cmd(&cmd)));
    e
}

/// Sends `args`, asserts a `WRONGTYPE` reply, and that nothing changed.
fn wrongtype(con: &mut Connection, args: &[&[u8]]) {
    let before = db_state(con);
    let cmd = cmd_bytes(args);
    let e = expect_err(con, &cmd);
    assert!(e.starts_with("WRONGTYPE "), "{}: expected WRONGTYPE, got {e:?}", show_cmd(&cmd));
    assert_same_db(&before, &db_state(con), &format!("after the refused {}", show_cmd(&cmd)));
}

/// A server with one three-entry log, KEY.
fn server_with_a_log() -> (Server, crate::common::ScratchDir, Connection) {
    let (server, dir) = start_seq(&[]);
    let mut con = server.connect();
    for i in 1..=3 {
        alloc(&mut con, KEY, format!("m{i}").as_bytes(), Some(b"p"));
    }
    (server, dir, con)
}

fn assert_alive_and_next_seq(server: &Server, con: &mut Connection, next: i64) {
    assert!(answers_ping(server), "the server does not answer PING");
    assert_eq!(alloc(con, KEY, b"after the refusals", None), next, "refusals left a gap or moved last");
}

const ARITY: &[&str] = &["wrong number of arguments"];
const NOT_INT: &[&str] = &["not an integer"];

#[test]
fn wrong_number_of_arguments() {
    let (server, _dir, mut con) = server_with_a_log();
    let cases: &[&[&[u8]]] = &[
        &[b"SEQ.ALLOC"],
        &[b"SEQ.ALLOC", KEY],
        &[b"SEQ.RANGE"],
        &[b"SEQ.RANGE", KEY],
        &[b"SEQ.RANGE", KEY, b"-"],
        &[b"SEQ.REVRANGE"],
        &[b"SEQ.REVRANGE", KEY],
        &[b"SEQ.REVRANGE", KEY, b"+"],
        &[b"SEQ.LAST"],
        &[b"SEQ.LAST", KEY, KEY],
        &[b"SEQ.MLAST"],
        &[b"SEQ.INFO"],
        &[b"SEQ.INFO", KEY, KEY],
    ];
    for args in cases {
        refused(&mut con, args, ARITY);
    }
    // A dangling option is an arity problem or names COUNT.
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT"], &["wrong number of arguments", "COUNT"]);
    refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"COUNT"], &["wrong number of arguments", "COUNT"]);
    // A word after ALLOC's payload is an option (only `ACK consumer` exists): an unknown
    // one is named, and `ACK` alone lacks its value.
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"id", b"payload", b"extra"], &["unknown option 'extra'"]);
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"id", b"payload", b"ACK"], &["ACK needs a value"]);
    // On a missing key too: nothing is created.
    refused(&mut con, &[b"SEQ.ALLOC", b"nokey"], ARITY);
    assert_alive_and_next_seq(&server, &mut con, 4);
}

#[test]
fn bounds_and_counts_that_are_not_integers() {
    let (server, _dir, mut con) = server_with_a_log();
    let bad: &[&[u8]] = &[b"abc", b"1.5", b"1x", b" 1", b"0x10", b"", b"--", b"++", b"\xff", b"1e3", b"+1x", b"-a"];
    for b in bad {
        refused(&mut con, &[b"SEQ.RANGE", KEY, b, b"+"], NOT_INT);
        refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b], NOT_INT);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, b, b"-"], NOT_INT);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b], NOT_INT);
        refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", b], NOT_INT);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"COUNT", b], NOT_INT);
    }
    // Beyond 64 bits.
    for big in [&b"99999999999999999999"[..], b"18446744073709551616"] {
        refused(&mut con, &[b"SEQ.RANGE", KEY, big, b"+"], &["not an integer", "out of range"]);
        refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", big], &["not an integer", "out of range"]);
    }
    // On a missing key: still refused, nothing created.
    refused(&mut con, &[b"SEQ.RANGE", b"nokey", b"abc", b"+"], NOT_INT);
    assert_alive_and_next_seq(&server, &mut con, 4);
}

#[test]
fn negative_bounds_and_counts_not_above_zero() {
    let (server, _dir, mut con) = server_with_a_log();
    for n in [&b"-1"[..], b"-5", b"-9223372036854775807"] {
        refused(&mut con, &[b"SEQ.RANGE", KEY, n, b"+"], &["negative"]);
        refused(&mut con, &[b"SEQ.RANGE", KEY, b"1", n], &["negative"]);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, n, b"-"], &["negative"]);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", n], &["negative"]);
        refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", n], &["COUNT", "negative"]);
        refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"COUNT", n], &["COUNT", "negative"]);
    }
    // i64::MIN: negative, or out of range.
    let min = b"-9223372036854775808";
    refused(&mut con, &[b"SEQ.RANGE", KEY, min, b"+"], &["negative", "out of range"]);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", min], &["COUNT", "negative", "out of range"]);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", b"0"], &["COUNT"]);
    refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"COUNT", b"0"], &["COUNT"]);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"count", b"0"], &["COUNT"]);
    // Checked even when the range is empty or the key missing.
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"5", b"1", b"COUNT", b"0"], &["COUNT"]);
    refused(&mut con, &[b"SEQ.RANGE", b"nokey", b"-1", b"+"], &["negative"]);
    refused(&mut con, &[b"SEQ.RANGE", b"nokey", b"-", b"+", b"COUNT", b"0"], &["COUNT"]);
    assert_alive_and_next_seq(&server, &mut con, 4);
}

#[test]
fn unknown_options() {
    let (server, _dir, mut con) = server_with_a_log();
    let u = &["unknown option"];
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"LIMIT", b"5"], u);
    refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"LIMIT", b"5"], u);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"\xff\xfe", b"1"], u);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNTS", b"1"], u);
    refused(&mut con, &[b"SEQ.RANGE", b"nokey", b"-", b"+", b"LIMIT", b"5"], u);
    // A lone unknown word: unknown option, or an arity complaint.
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"FOO"], &["unknown option", "wrong number of arguments"]);
    assert_alive_and_next_seq(&server, &mut con, 4);
    // An unknown option after a valid one (options may repeat, so no fixed arity applies).
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+", b"COUNT", b"2", b"FOO", b"1"], u);
    refused(&mut con, &[b"SEQ.REVRANGE", KEY, b"+", b"-", b"COUNT", b"2", b"LIMIT", b"1"], u);
}

#[test]
fn empty_and_too_long_ids_and_payloads_at_the_defaults() {
    let (server, _dir, mut con) = server_with_a_log();
    let id_msg = &["client-msg-id"];
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b""], id_msg);
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"", b"payload"], id_msg);
    refused(&mut con, &[b"SEQ.ALLOC", b"nokey", b""], id_msg);

    let id257 = vec![b'i'; 257];
    refused(&mut con, &[b"SEQ.ALLOC", KEY, &id257], id_msg);
    refused(&mut con, &[b"SEQ.ALLOC", b"nokey", &id257, b"p"], id_msg);
    let payload_big = vec![0u8; 1_048_577];
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"m4", &payload_big], &["payload"]);
    refused(&mut con, &[b"SEQ.ALLOC", b"nokey", b"m4", &payload_big], &["payload"]);
    // A refused id is not remembered: it is new afterwards.
    assert_eq!(alloc(&mut con, KEY, b"m4", None), 4, "m4's refused alloc was remembered or left a gap");

    // Exactly at the limits is accepted.
    let id256 = vec![b'i'; 256];
    let payload_max = vec![0xabu8; 1_048_576];
    assert_eq!(alloc(&mut con, KEY, &id256, Some(&payload_max)), 5);
    let es = entries(&mut con, KEY);
    assert_eq!((es[4].id.len(), es[4].payload.len()), (256, 1_048_576));
    assert_alive_and_next_seq(&server, &mut con, 6);
}

#[test]
fn too_long_ids_and_payloads_follow_the_configs() {
    let (server, _dir, mut con) = server_with_a_log();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.max-payload-bytes").arg("16").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.max-client-msg-id-bytes").arg("3").query(&mut con).unwrap();
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"abcd"], &["client-msg-id"]);
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"\x00\x00\x00\x00", b"p"], &["client-msg-id"]);
    refused(&mut con, &[b"SEQ.ALLOC", KEY, b"abc", &[7u8; 17]], &["payload"]);
    refused(&mut con, &[b"SEQ.ALLOC", b"nokey", b"abc", &[7u8; 17]], &["payload"]);
    assert_eq!(alloc(&mut con, KEY, b"abc", Some(&[7u8; 16])), 4);
    assert_eq!(alloc(&mut con, KEY, b"\x00\x00\x00", Some(b"")), 5);
    // A retry of a known id with a too-long payload is still refused as a whole or answered
    // with the first seq, but never changes the log.
    let before = db_state(&mut con);
    let r: redis::RedisResult<redis::Value> =
        redis::cmd("SEQ.ALLOC").arg(KEY).arg("abc").arg(&[1u8; 17][..]).query(&mut con);
    match r {
        Ok(redis::Value::Int(4)) => {}
        Ok(v) => panic!("retry with a too-long payload replied {v:?}"),
        Err(e) => assert_err_names(&error_text(&e), &["payload"], "retry with a too-long payload"),
    }
    assert_same_db(&before, &db_state(&mut con), "retry with a too-long payload");
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.max-client-msg-id-bytes").arg("256").query(&mut con).unwrap();
    assert_alive_and_next_seq(&server, &mut con, 6);
}

#[test]
fn wrongtype_both_ways() {
    let (server, _dir, mut con) = server_with_a_log();
    let _: () = redis::cmd("SET").arg("str").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("RPUSH").arg("lst").arg("a").query(&mut con).unwrap();
    let _: () = redis::cmd("HSET").arg("hsh").arg("f").arg("v").query(&mut con).unwrap();
    let _: String = redis::cmd("XADD").arg("strm").arg("*").arg("f").arg("v").query(&mut con).unwrap();

    // SEQ.* on keys of other types.
    for key in [&b"str"[..], b"lst", b"hsh", b"strm"] {
        wrongtype(&mut con, &[b"SEQ.ALLOC", key, b"id"]);
        wrongtype(&mut con, &[b"SEQ.ALLOC", key, b"id", b"payload"]);
        wrongtype(&mut con, &[b"SEQ.RANGE", key, b"-", b"+"]);
        wrongtype(&mut con, &[b"SEQ.REVRANGE", key, b"+", b"-"]);
        wrongtype(&mut con, &[b"SEQ.LAST", key]);
        wrongtype(&mut con, &[b"SEQ.INFO", key]);
    }
    // Built-in commands on a log.
    let built_ins: &[&[&[u8]]] = &[
        &[b"GET", KEY],
        &[b"APPEND", KEY, b"x"],
        &[b"INCR", KEY],
        &[b"STRLEN", KEY],
        &[b"GETRANGE", KEY, b"0", b"-1"],
        &[b"XADD", KEY, b"*", b"f", b"v"],
        &[b"XRANGE", KEY, b"-", b"+"],
        &[b"XLEN", KEY],
        &[b"LPUSH", KEY, b"x"],
        &[b"LRANGE", KEY, b"0", b"-1"],
        &[b"HSET", KEY, b"f", b"v"],
        &[b"SADD", KEY, b"m"],
        &[b"ZADD", KEY, b"1", b"m"],
    ];
    for args in built_ins {
        wrongtype(&mut con, args);
    }
    // SEQ.MLAST across types: whatever it replies, it changes nothing and the server lives.
    let before = db_state(&mut con);
    let _ = redis::cmd("SEQ.MLAST").arg(KEY).arg("str").query::<redis::Value>(&mut con);
    assert_same_db(&before, &db_state(&mut con), "SEQ.MLAST over a string key");
    let got: String = redis::cmd("GET").arg("str").query(&mut con).unwrap();
    assert_eq!(got, "v");
    assert_alive_and_next_seq(&server, &mut con, 4);
}

#[test]
fn non_utf8_and_odd_arguments_never_crash() {
    let (server, _dir, mut con) = server_with_a_log();
    let odd: &[&[u8]] = &[b"\xff", b"\x00", b"\xc3\x28", b"COUNT\x00", b"-\x00", b"+\xff", b"\x80\x80\x80\x80"];
    for o in odd {
        let _ = cmd_bytes(&[b"SEQ.RANGE", KEY, o, b"+"]).query::<redis::Value>(&mut con);
        let _ = cmd_bytes(&[b"SEQ.RANGE", KEY, b"-", b"+", o, b"1"]).query::<redis::Value>(&mut con);
        let _ = cmd_bytes(&[b"SEQ.REVRANGE", KEY, b"+", o, b"COUNT", o]).query::<redis::Value>(&mut con);
        let _ = cmd_bytes(&[b"SEQ.MLAST", o, KEY, o]).query::<redis::Value>(&mut con);
        let _ = cmd_bytes(&[b"SEQ.INFO", o]).query::<redis::Value>(&mut con);
        assert!(answers_ping(&server), "the server died on an argument {}", show_bytes(o));
    }
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-\x00", b"+"], NOT_INT);
    refused(&mut con, &[b"SEQ.RANGE", KEY, b"-", b"+\xff"], NOT_INT);
    assert_alive_and_next_seq(&server, &mut con, 4);
}
