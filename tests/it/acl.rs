//! ACL key patterns apply to SEQ.* commands as to built-in ones: the declared key
//! positions route the check, and the key specs' read/write flags meet Redis 7's
//! read-only (`%R~`) and write-only (`%W~`) key patterns.

use crate::common::*;
use redis::Value;

fn as_user(server: &Server, user: &str) -> redis::Connection {
    let mut con = server.connect();
    let reply = call(&mut con, &["AUTH", user, "pw"]);
    assert_eq!(reply, Value::Okay, "AUTH {user}");
    con
}

fn refused(reply: Result<Value, String>) -> bool {
    matches!(&reply, Err(e) if e.starts_with("NOPERM"))
}

#[test]
fn key_patterns_allow_and_refuse_seq_commands() {
    let (server, _dir) = Server::start(&[]);
    let mut admin = server.connect();
    for rule in [
        ["ACL", "SETUSER", "service", "on", ">pw", "~conv:*", "+@all"],
        ["ACL", "SETUSER", "gateway", "on", ">pw", "%R~inbox:*", "+@all"],
    ] {
        assert_eq!(call(&mut admin, &rule), Value::Okay);
    }
    assert_eq!(call_int(&mut admin, &["SEQ.ALLOC", "inbox:{u7}", "m1", "hello"]), 1);

    let mut service = as_user(&server, "service");
    assert_eq!(call_int(&mut service, &["SEQ.ALLOC", "conv:{g1}", "a"]), 1);
    assert!(refused(try_call(&mut service, &["SEQ.ALLOC", "inbox:{u7}", "b"])), "ALLOC outside ~conv:*");
    assert!(refused(try_call(&mut service, &["SEQ.LAST", "inbox:{u7}"])), "LAST outside ~conv:*");
    assert!(
        refused(try_call(&mut service, &["SEQ.MLAST", "conv:{g1}", "inbox:{u7}"])),
        "MLAST with one key outside ~conv:* (every key is declared)"
    );
    assert!(refused(try_call(&mut service, &["SEQ.EFFECT", "inbox:{u7}", "TRIM", "1"])), "EFFECT outside ~conv:*");

    // Read-only access to inboxes: reads pass, writes (ALLOC, ACK, SYNC, TRIM, FORGET, EDIT, DEL) do not.
    let mut gateway = as_user(&server, "gateway");
    assert_eq!(call_int(&mut gateway, &["SEQ.LAST", "inbox:{u7}"]), 1);
    assert_eq!(call_int(&mut gateway, &["SEQ.UNREAD", "inbox:{u7}", "phone"]), 1);
    assert!(try_call(&mut gateway, &["SEQ.RANGE", "inbox:{u7}", "-", "+"]).is_ok());
    assert!(try_call(&mut gateway, &["SEQ.CHANGES", "inbox:{u7}", "0"]).is_ok());
    assert_eq!(call_int(&mut gateway, &["SEQ.LOOKUP", "inbox:{u7}", "m1"]), 1);
    for write in [
        &["SEQ.ALLOC", "inbox:{u7}", "m2"][..],
        &["SEQ.ACK", "inbox:{u7}", "phone", "1"],
        &["SEQ.SYNC", "inbox:{u7}", "phone"],
        &["SEQ.TRIM", "inbox:{u7}", "MAXLEN", "0"],
        &["SEQ.FORGET", "inbox:{u7}", "phone"],
        &["SEQ.EDIT", "inbox:{u7}", "1", "edited"],
        &["SEQ.DEL", "inbox:{u7}", "1"],
    ] {
        assert!(refused(try_call(&mut gateway, write)), "{write:?} under a read-only key pattern");
    }
    assert_eq!(call_int(&mut admin, &["SEQ.LAST", "inbox:{u7}"]), 1, "a refused write changed the log");
    assert_eq!(field(&info_of(&mut admin, "inbox:{u7}"), "rev"), 0, "a refused edit or deletion changed the log");
    assert_eq!(call(&mut admin, &["SEQ.CURSORS", "inbox:{u7}"]), Value::Array(vec![]));
}
