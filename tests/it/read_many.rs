//! `SEQ.READ [COUNT n] [BLOCK ms] LOGS key [key ...] seq [seq ...]`, XREAD for logs: the
//! reply per key in order, nil when nothing is new, `$`, COUNT, every refusal, reading
//! only; BLOCK woken by an append to any of its keys (also one that creates a key, and a
//! replicated one on a replica), timing out with nil, not blocking inside MULTI or a
//! script, counted in `seq_blocked_clients`; its keys declared: COMMAND GETKEYS, ACL key
//! patterns (NOPERM), and a real cluster's CROSSSLOT with same-slot keys working there.
//!
//! The only timing assertions are generous bounds: a wake-up within 2 s, a timeout not
//! before ~100 ms.

use std::io::Write;
use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::*;
use redis::{Connection, Value};

/// One element of a SEQ.READ reply.
#[derive(Debug, PartialEq)]
struct News {
    key: String,
    last: i64,
    entries: Vec<Entry>,
}

/// A SEQ.READ reply: `None` for nil.
fn parse_read(v: &Value) -> Option<Vec<News>> {
    if *v == Value::Nil {
        return None;
    }
    Some(
        array(v)
            .iter()
            .map(|item| {
                let parts = array(item);
                assert_eq!(parts.len(), 3, "a SEQ.READ element is [key, last, entries]: {item:?}");
                News { key: text(&parts[0]), last: int(&parts[1]), entries: parse_entries(&parts[2]) }
            })
            .collect(),
    )
}

fn read(con: &mut Connection, args: &[&str]) -> Option<Vec<News>> {
    let mut full = vec!["SEQ.READ"];
    full.extend_from_slice(args);
    parse_read(&call(con, &full))
}

/// (key, last, seqs) per element: what most assertions compare.
fn summary(news: &Option<Vec<News>>) -> Option<Vec<(String, i64, Vec<i64>)>> {
    news.as_ref().map(|list| list.iter().map(|n| (n.key.clone(), n.last, seqs(&n.entries))).collect())
}

fn s(key: &str, last: i64, seqs: &[i64]) -> (String, i64, Vec<i64>) {
    (key.to_string(), last, seqs.to_vec())
}

/// Sends a (blocking) SEQ.READ on its own connection in a thread; returns the reply (or
/// error text) and the instant it arrived.
fn spawn_read(server: &Server, args: &[&str]) -> JoinHandle<(Result<Value, String>, Instant)> {
    let mut con = connect_with_timeout(server, 10);
    let mut full = vec!["SEQ.READ".to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    thread::spawn(move || {
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let r = try_call(&mut con, &refs);
        (r, Instant::now())
    })
}

#[test]
fn replies_per_key_in_order_with_count_and_dollar() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, "inbox:{a}", "m", 5);
    alloc_many(&mut con, "inbox:{b}", "m", 2);
    alloc_many(&mut con, "inbox:{c}", "m", 3);

    // Keys in the order given; a key with nothing after its position is left out, and
    // so is a missing key.
    let got = read(&mut con, &["LOGS", "inbox:{c}", "nokey", "inbox:{a}", "inbox:{b}", "1", "0", "3", "2"]);
    assert_eq!(summary(&got), Some(vec![s("inbox:{c}", 3, &[2, 3]), s("inbox:{a}", 5, &[4, 5])]));
    let got = got.unwrap();
    assert_eq!(got[1].entries, entries(&mut con, "inbox:{a}")[3..].to_vec(), "whole entries, as SEQ.RANGE");

    // COUNT caps each key's entries (default 100).
    let got = read(&mut con, &["COUNT", "2", "LOGS", "inbox:{a}", "inbox:{c}", "0", "0"]);
    assert_eq!(summary(&got), Some(vec![s("inbox:{a}", 5, &[1, 2]), s("inbox:{c}", 3, &[1, 2])]));
    alloc_many(&mut con, "inbox:{big}", "m", 150);
    let got = read(&mut con, &["LOGS", "inbox:{big}", "0"]);
    assert_eq!(got.unwrap()[0].entries.len(), 100, "default COUNT 100");
    let got = read(&mut con, &["count", "1000", "logs", "inbox:{big}", "140"]);
    assert_eq!(summary(&got), Some(vec![s("inbox:{big}", 150, &(141..=150).collect::<Vec<_>>())]), "lower case");

    // Nothing new anywhere: nil. `$` is the key's last now (0 for a missing key).
    assert_eq!(read(&mut con, &["LOGS", "inbox:{a}", "inbox:{b}", "nokey", "$", "$", "$"]), None);
    assert_eq!(read(&mut con, &["LOGS", "inbox:{a}", "inbox:{b}", "5", "2"]), None);
    assert_eq!(read(&mut con, &["LOGS", "inbox:{a}", "99"]), None, "a position above last");
    assert_eq!(read(&mut con, &["LOGS", "nokey", "0"]), None);
    assert_eq!(
        summary(&read(&mut con, &["LOGS", "inbox:{a}", "inbox:{b}", "$", "0"])),
        Some(vec![s("inbox:{b}", 2, &[1, 2])])
    );
    // A key listed twice is answered twice, each with its own position.
    assert_eq!(
        summary(&read(&mut con, &["LOGS", "inbox:{b}", "inbox:{b}", "0", "1"])),
        Some(vec![s("inbox:{b}", 2, &[1, 2]), s("inbox:{b}", 2, &[2])])
    );
    // Trimmed entries are not returned; `last` still is.
    call_int(&mut con, &["SEQ.TRIM", "inbox:{a}", "MAXLEN", "1"]);
    assert_eq!(summary(&read(&mut con, &["LOGS", "inbox:{a}", "0"])), Some(vec![s("inbox:{a}", 5, &[5])]));
    call_int(&mut con, &["SEQ.TRIM", "inbox:{a}", "MAXLEN", "0"]);
    assert_eq!(read(&mut con, &["LOGS", "inbox:{a}", "0"]), None, "a fully trimmed log has nothing to return");

    // It reads only: no cursor, no key created; it is allowed on a replica's read path
    // (readonly) and outside BLOCK, inside MULTI too.
    assert_eq!(cursors(&mut con, "inbox:{b}"), vec![]);
    assert!(!exists(&mut con, "nokey"));
    let r: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("SEQ.READ")
        .arg("LOGS")
        .arg("inbox:{b}")
        .arg("1")
        .cmd("SEQ.READ")
        .arg("BLOCK")
        .arg("0")
        .arg("LOGS")
        .arg("inbox:{b}")
        .arg("$")
        .query(&mut con)
        .unwrap();
    assert_eq!(summary(&parse_read(&r[0])), Some(vec![s("inbox:{b}", 2, &[2])]));
    assert_eq!(r[1], Value::Nil, "inside MULTI, BLOCK does not block: nil at once");
}

#[test]
fn refusals() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, "inbox:{a}", "m", 2);
    call(&mut con, &["SET", "plain", "x"]);
    let r = |con: &mut Connection, args: &[&str], all_of: &[&str]| {
        let mut full = vec!["SEQ.READ"];
        full.extend_from_slice(args);
        assert_err(con, &full, all_of);
    };
    r(&mut con, &["LOGS", "inbox:{a}", "inbox:{b}", "0"], &["unbalanced", "LOGS"]);
    r(&mut con, &["LOGS", "a", "b", "c"], &["unbalanced"]);
    r(&mut con, &["COUNT", "1", "LOGS"], &["unbalanced"]);
    r(&mut con, &["COUNT", "1", "inbox:{a}", "0"], &["unknown option", "inbox:{a}"]);
    r(&mut con, &["FOO", "1", "LOGS", "inbox:{a}", "0"], &["unknown option", "FOO"]);
    r(&mut con, &["COUNT", "1", "BLOCK", "5"], &["LOGS", "missing"]);
    r(&mut con, &["COUNT", "0", "LOGS", "inbox:{a}", "0"], &["COUNT"]);
    r(&mut con, &["COUNT", "-1", "LOGS", "inbox:{a}", "0"], &["COUNT", "negative"]);
    r(&mut con, &["COUNT", "x", "LOGS", "inbox:{a}", "0"], &["COUNT", "integer"]);
    r(&mut con, &["BLOCK", "-1", "LOGS", "inbox:{a}", "0"], &["BLOCK", "negative"]);
    r(&mut con, &["BLOCK", "LOGS", "inbox:{a}", "0"], &["BLOCK", "integer"]);
    r(&mut con, &["LOGS", "inbox:{a}", "-1"], &["position", "negative"]);
    r(&mut con, &["LOGS", "inbox:{a}", "inbox:{b}", "0", "+"], &["position", "integer"]);
    r(&mut con, &["LOGS", "inbox:{a}"], &["wrong number of arguments"]);
    r(&mut con, &["LOGS"], &["wrong number of arguments"]);
    // A key of another type refuses the whole call, wherever it is listed.
    for args in [&["LOGS", "inbox:{a}", "plain", "0", "0"][..], &["LOGS", "plain", "inbox:{a}", "0", "0"]] {
        let mut full = vec!["SEQ.READ"];
        full.extend_from_slice(args);
        assert!(call_err(&mut con, &full).starts_with("WRONGTYPE"), "{full:?}");
    }
    // A refused BLOCK call does not block.
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn block_is_woken_by_an_append_to_any_of_its_keys() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, "inbox:{a}", "m", 3);
    alloc_many(&mut con, "inbox:{b}", "m", 1);
    let before = seq_stat(&mut con, "seq_blocked_clients");

    // Woken by the last of three keys; the reply holds that key only, from its `$`.
    let waiter = spawn_read(&server, &["BLOCK", "0", "LOGS", "inbox:{a}", "inbox:{b}", "inbox:{c}", "$", "$", "$"]);
    wait_blocked(&mut con, 1);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), before + 1, "INFO seq counts SEQ.READ BLOCK");
    let t0 = Instant::now();
    assert_eq!(alloc(&mut con, "inbox:{c}", "c1", Some(b"new")), 1, "the append creates inbox:{{c}}");
    let (reply, t1) = waiter.join().expect("waiter");
    let delay = t1.saturating_duration_since(t0);
    assert!(delay < Duration::from_secs(2), "wake-up took {delay:?}");
    let got = parse_read(&reply.expect("SEQ.READ BLOCK"));
    assert_eq!(summary(&got), Some(vec![s("inbox:{c}", 1, &[1])]));
    assert_eq!(got.unwrap()[0].entries, entries(&mut con, "inbox:{c}"));
    wait_blocked(&mut con, 0);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), before);

    // Each key in turn wakes a reader that watches all three.
    for (i, key) in ["inbox:{a}", "inbox:{b}", "inbox:{c}"].into_iter().enumerate() {
        let lasts: Vec<String> =
            ["inbox:{a}", "inbox:{b}", "inbox:{c}"].iter().map(|k| last(&mut con, k).to_string()).collect();
        let mut args = vec!["BLOCK", "0", "LOGS", "inbox:{a}", "inbox:{b}", "inbox:{c}"];
        args.extend(lasts.iter().map(String::as_str));
        let waiter = spawn_read(&server, &args);
        wait_blocked(&mut con, 1);
        let seq = alloc(&mut con, key, format!("wake{i}"), None);
        let got = parse_read(&waiter.join().expect("waiter").0.expect("SEQ.READ"));
        assert_eq!(summary(&got), Some(vec![s(key, seq, &[seq])]), "woken by {key}");
    }

    // An append that leaves nothing after a key's position keeps the reader waiting;
    // a non-append write (ACK) does not wake it either.
    let waiter = spawn_read(&server, &["BLOCK", "0", "LOGS", "inbox:{a}", "inbox:{b}", "10", "$"]);
    wait_blocked(&mut con, 1);
    alloc(&mut con, "inbox:{a}", "below-position", None);
    call_int(&mut con, &["SEQ.ACK", "inbox:{b}", "phone", "1"]);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(blocked_clients(&mut con), 1, "still waiting after an append below its position");
    let seq = alloc(&mut con, "inbox:{b}", "now", None);
    let got = parse_read(&waiter.join().expect("waiter").0.expect("SEQ.READ"));
    assert_eq!(summary(&got), Some(vec![s("inbox:{b}", seq, &[seq])]));
    assert_eq!(cursors(&mut con, "inbox:{b}"), pairs(&[("phone", 1)]), "SEQ.READ moves no cursor");
}

#[test]
fn block_wakes_with_every_key_that_has_news_and_respects_count() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let waiter = spawn_read(&server, &["COUNT", "2", "BLOCK", "0", "LOGS", "inbox:{x}", "inbox:{y}", "$", "$"]);
    wait_blocked(&mut con, 1);
    // Both keys written in one transaction: the woken reply holds both.
    let _: () = redis::pipe()
        .atomic()
        .cmd("SEQ.ALLOC")
        .arg("inbox:{y}")
        .arg("y1")
        .ignore()
        .cmd("SEQ.ALLOC")
        .arg("inbox:{y}")
        .arg("y2")
        .ignore()
        .cmd("SEQ.ALLOC")
        .arg("inbox:{y}")
        .arg("y3")
        .ignore()
        .cmd("SEQ.ALLOC")
        .arg("inbox:{x}")
        .arg("x1")
        .ignore()
        .query(&mut con)
        .unwrap();
    let got = parse_read(&waiter.join().expect("waiter").0.expect("SEQ.READ"));
    assert_eq!(summary(&got), Some(vec![s("inbox:{x}", 1, &[1]), s("inbox:{y}", 3, &[1, 2])]));
}

#[test]
fn block_times_out_with_nil_and_does_not_block_in_scripts() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, "inbox:{a}", "m", 2);
    let t0 = Instant::now();
    assert_eq!(read(&mut con, &["BLOCK", "100", "LOGS", "inbox:{a}", "nokey", "$", "0"]), None);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(90), "timed out after {waited:?}, before BLOCK 100");
    assert!(waited < Duration::from_secs(5), "timed out after {waited:?}");
    assert_eq!(blocked_clients(&mut con), 0);
    assert!(!exists(&mut con, "nokey"), "a blocked read creates nothing");

    // Inside a script: no blocking, nil at once (BLOCK 0 would otherwise hang).
    let v: Value = redis::cmd("EVAL")
        .arg("return redis.call('SEQ.READ', 'BLOCK', '0', 'LOGS', KEYS[1], '$')")
        .arg(1)
        .arg("inbox:{a}")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, Value::Nil);
    let v: Value = redis::cmd("EVAL")
        .arg("return redis.call('SEQ.READ', 'BLOCK', '0', 'LOGS', KEYS[1], '1')")
        .arg(1)
        .arg("inbox:{a}")
        .query(&mut con)
        .unwrap();
    assert_eq!(summary(&parse_read(&v)), Some(vec![s("inbox:{a}", 2, &[2])]), "a script reads like a client");

    // A blocked reader that disconnects leaves no blocked client behind, and appends to
    // its keys afterwards are served as usual.
    let mut raw = TcpStream::connect(("127.0.0.1", server.port)).expect("raw connection");
    let command = ["SEQ.READ", "BLOCK", "0", "LOGS", "inbox:{a}", "inbox:{z}", "$", "$"];
    let mut resp = format!("*{}\r\n", command.len());
    for arg in command {
        resp.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    raw.write_all(resp.as_bytes()).expect("send SEQ.READ");
    wait_blocked(&mut con, 1);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 1);
    drop(raw);
    wait_blocked(&mut con, 0);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 0);
    assert_eq!(alloc(&mut con, "inbox:{a}", "after", None), 3);
    assert_eq!(alloc(&mut con, "inbox:{z}", "after", None), 1);
}

#[test]
fn command_getkeys_names_exactly_the_keys() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let keys = |con: &mut Connection, args: &[&str]| -> Vec<String> {
        let mut full = vec!["COMMAND", "GETKEYS", "SEQ.READ"];
        full.extend_from_slice(args);
        array(&call(con, &full)).iter().map(text).collect()
    };
    assert_eq!(keys(&mut con, &["LOGS", "k1", "0"]), vec!["k1"]);
    assert_eq!(keys(&mut con, &["LOGS", "k1", "k2", "k3", "0", "$", "7"]), vec!["k1", "k2", "k3"]);
    assert_eq!(keys(&mut con, &["COUNT", "5", "BLOCK", "0", "LOGS", "a", "b", "$", "$"]), vec!["a", "b"]);
    assert_eq!(keys(&mut con, &["BLOCK", "10", "logs", "a", "1"]), vec!["a"], "the keyword in any case");
    // A key may itself be called LOGS: the first LOGS starts the list.
    assert_eq!(keys(&mut con, &["LOGS", "LOGS", "x", "0", "0"]), vec!["LOGS", "x"]);
}

#[test]
fn acl_key_patterns_apply_to_every_key() {
    let (server, _dir) = start_seq(&[]);
    let mut admin = server.connect();
    for rule in [
        ["ACL", "SETUSER", "gateway", "on", ">pw", "~inbox:*", "+@all"],
        ["ACL", "SETUSER", "reader", "on", ">pw", "%R~inbox:*", "+@all"],
        ["ACL", "SETUSER", "writer", "on", ">pw", "%W~inbox:*", "+@all"],
    ] {
        assert_eq!(call(&mut admin, &rule), Value::Okay);
    }
    alloc(&mut admin, "inbox:{u1}", "m1", None);
    alloc(&mut admin, "conv:{g1}", "m1", None);
    let as_user = |user: &str| {
        let mut con = server.connect();
        assert_eq!(call(&mut con, &["AUTH", user, "pw"]), Value::Okay);
        con
    };
    for user in ["gateway", "reader"] {
        let mut con = as_user(user);
        let ok = read(&mut con, &["LOGS", "inbox:{u1}", "inbox:{u2}", "0", "0"]);
        assert_eq!(summary(&ok), Some(vec![s("inbox:{u1}", 1, &[1])]), "{user}");
        for args in [
            &["SEQ.READ", "LOGS", "inbox:{u1}", "conv:{g1}", "0", "0"][..],
            &["SEQ.READ", "LOGS", "conv:{g1}", "inbox:{u1}", "0", "0"],
            &["SEQ.READ", "BLOCK", "0", "LOGS", "inbox:{u1}", "conv:{g1}", "$", "$"],
        ] {
            let e = call_err(&mut con, args);
            assert!(e.starts_with("NOPERM"), "{user}: {args:?} with a key outside its pattern: {e}");
        }
    }
    // SEQ.READ reads: a write-only key pattern refuses it.
    let mut writer = as_user("writer");
    let e = call_err(&mut writer, &["SEQ.READ", "LOGS", "inbox:{u1}", "0"]);
    assert!(e.starts_with("NOPERM"), "a write-only pattern: {e}");
    assert_eq!(blocked_clients(&mut admin), 0, "no refused call blocked");
}

#[test]
fn cluster_refuses_keys_of_different_slots_and_serves_one_slot() {
    let cluster = Cluster::start(3, &[]);
    let client = cluster.client();
    let mut con = client.get_connection().expect("cluster connection");
    // Two inboxes of one user (one hash tag, one slot), and one of another user elsewhere.
    let (a, b) = ("inbox:{u7}:phone", "inbox:{u7}:laptop");
    let other = (0..1000)
        .map(|i| format!("inbox:{{u{i}}}"))
        .find(|k| cluster.owner_of_slot(cluster.keyslot(k)) != cluster.owner_of_slot(cluster.keyslot(a)))
        .expect("a key on another node");
    let same_node_other_slot = (0..5000)
        .map(|i| format!("inbox:{{v{i}}}"))
        .find(|k| {
            cluster.keyslot(k) != cluster.keyslot(a)
                && cluster.owner_of_slot(cluster.keyslot(k)) == cluster.owner_of_slot(cluster.keyslot(a))
        })
        .expect("a key of another slot on the same node");
    for (key, id) in [(a, "p1"), (a, "p2"), (b, "l1")] {
        let _: i64 = redis::cmd("SEQ.ALLOC").arg(key).arg(id).query(&mut con).unwrap();
    }
    let _: i64 = redis::cmd("SEQ.ALLOC").arg(&other).arg("o1").query(&mut con).unwrap();

    let mut owner = cluster.nodes[cluster.owner_of_slot(cluster.keyslot(a))].connect();
    let v = call(&mut owner, &["SEQ.READ", "LOGS", a, b, "0", "0"]);
    assert_eq!(summary(&parse_read(&v)), Some(vec![s(a, 2, &[1, 2]), s(b, 1, &[1])]), "one slot on its node");
    for k in [other.as_str(), same_node_other_slot.as_str()] {
        let xread = call_err(&mut owner, &["XREAD", "STREAMS", a, k, "0", "0"]);
        let e = call_err(&mut owner, &["SEQ.READ", "LOGS", a, k, "0", "0"]);
        assert!(xread.starts_with("CROSSSLOT"), "XREAD across slots: {xread}");
        assert!(e.starts_with("CROSSSLOT"), "SEQ.READ {a} {k} must be refused like XREAD, got {e}");
        let e = call_err(&mut owner, &["SEQ.READ", "BLOCK", "0", "LOGS", a, k, "$", "$"]);
        assert!(e.starts_with("CROSSSLOT"), "SEQ.READ BLOCK across slots: {e}");
    }
    // A node that does not own the slot redirects, as for XREAD.
    let elsewhere = (cluster.owner_of_slot(cluster.keyslot(a)) + 1) % 3;
    let mut elsewhere = cluster.nodes[elsewhere].connect();
    let e = call_err(&mut elsewhere, &["SEQ.READ", "LOGS", a, b, "0", "0"]);
    assert!(e.starts_with("MOVED"), "SEQ.READ on a non-owner: {e}");

    // A blocked read on the owner, woken by an append through the cluster client.
    let port = cluster.nodes[cluster.owner_of_slot(cluster.keyslot(a))].port;
    let mut blocked = connect_port(port, Duration::from_secs(10)).expect("owner connection");
    blocked.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (a_owned, b_owned) = (a.to_string(), b.to_string());
    let waiter = thread::spawn(move || {
        try_call(&mut blocked, &["SEQ.READ", "BLOCK", "0", "LOGS", &a_owned, &b_owned, "$", "$"])
    });
    wait_blocked(&mut owner, 1);
    let seq: i64 = redis::cmd("SEQ.ALLOC").arg(b).arg("l2").query(&mut con).unwrap();
    let got = parse_read(&waiter.join().expect("waiter").expect("SEQ.READ BLOCK in the cluster"));
    assert_eq!(summary(&got), Some(vec![s(b, seq, &[2])]));
}

#[test]
fn block_on_a_replica_is_woken_by_a_replicated_append() {
    let (master, _mdir) = start_seq(&["--repl-diskless-sync-delay", "0"]);
    let (replica, _rdir) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut m = connect_with_timeout(&master, 10);
    let mut r = connect_with_timeout(&replica, 10);
    alloc(&mut m, "inbox:{r1}", "m1", None);
    wait_replica_caught_up(&mut m, &mut r);
    let waiter = spawn_read(&replica, &["BLOCK", "0", "LOGS", "inbox:{r1}", "inbox:{r2}", "$", "$"]);
    wait_blocked(&mut r, 1);
    assert_eq!(call_int(&mut m, &["SEQ.ALLOC", "inbox:{r2}", "m1", "hi", "ACK", "sender"]), 1);
    let got = parse_read(&waiter.join().expect("waiter").0.expect("SEQ.READ BLOCK on the replica"));
    assert_eq!(summary(&got), Some(vec![s("inbox:{r2}", 1, &[1])]), "woken by the replicated APPEND-ACK");
    assert_eq!(cursors(&mut r, "inbox:{r2}"), pairs(&[("sender", 1)]));
}
