//! Read state for groups: `SEQ.ALLOC ... ACK consumer` (the sender's own read, in the same
//! atomic step, one effect in the AOF and on replicas) and `SEQ.READERS key seq` ("read by
//! 37") after ACK, SYNC, FORGET, ALLOC ACK, reloads, AOF replay, and with 50,000
//! consumers checked against a count made here.

use std::collections::BTreeMap;

use crate::common::*;
use redis::{Connection, Value};

fn readers(con: &mut Connection, key: &str, seq: i64) -> i64 {
    call_int(con, &["SEQ.READERS", key, &seq.to_string()])
}

/// What SEQ.READERS must answer for each seq in `0..=top`, counted from SEQ.CURSORS.
fn counted(con: &mut Connection, key: &str, top: i64) -> Vec<i64> {
    let cursors = cursors(con, key);
    (0..=top).map(|seq| cursors.iter().filter(|(_, c)| *c >= seq).count() as i64).collect()
}

fn answered(con: &mut Connection, key: &str, top: i64) -> Vec<i64> {
    (0..=top).map(|seq| readers(con, key, seq)).collect()
}

/// Every SEQ.* effect the AOF holds (Redis 7's multi-part AOF: the files in appendonlydir).
fn aof_effects(dir: &std::path::Path) -> Vec<String> {
    let mut text = Vec::new();
    for file in std::fs::read_dir(dir.join("appendonlydir")).expect("appendonlydir") {
        text.extend(std::fs::read(file.expect("aof file").path()).expect("read aof"));
    }
    let text = String::from_utf8_lossy(&text).to_string();
    let lines: Vec<&str> = text.split("\r\n").collect();
    // `SEQ.EFFECT key OP ...`: the op is the bulk string two after the command name.
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.eq_ignore_ascii_case("SEQ.EFFECT"))
        .filter_map(|(i, _)| lines.get(i + 4).map(|op| op.to_string()))
        .collect()
}

#[test]
fn alloc_ack_acknowledges_the_senders_own_message() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{r1}";
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m1", "hello", "ACK", "alice"]), 1);
    assert_eq!(cursors(&mut con, key), pairs(&[("alice", 1)]), "ALLOC ... ACK creates the sender's cursor");
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "alice"]), 0, "the own message is not unread");
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "bob"]), 1);

    assert_eq!(alloc(&mut con, key, "m2", Some(b"from bob")), 2);
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m3", "", "ack", "alice"]), 3, "empty payload, lower-case ACK");
    assert_eq!(cursors(&mut con, key), pairs(&[("alice", 3)]), "an existing cursor moves to the new seq");
    assert_eq!(entries(&mut con, key)[2].payload, b"".to_vec());

    // A de-duplicated retry changes nothing: no cursor moves, none is created.
    let before = snapshot(&mut con, key);
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m2", "from bob", "ACK", "bob"]), 2);
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m1", "hello", "ACK", "alice"]), 1);
    assert_eq!(snapshot(&mut con, key), before, "a retried ALLOC ... ACK changed the log");
    assert_eq!(cursors(&mut con, key), pairs(&[("alice", 3)]));

    // The reply is the seq, as without ACK; the log grows by one entry each time.
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m4", "x", "ACK", "bob"]), 4);
    assert_eq!(cursors(&mut con, key), pairs(&[("alice", 3), ("bob", 4)]));
    assert_eq!(seqs(&entries(&mut con, key)), vec![1, 2, 3, 4]);
}

#[test]
fn alloc_ack_refusals_change_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{r2}";
    alloc(&mut con, key, "m1", None);
    config_set(&mut con, "seq.max-payload-bytes", "4");
    let before = snapshot(&mut con, key);
    let e = assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "p", "ACK"], &["ACK"]);
    assert!(e.contains("value"), "ACK without a consumer: {e}");
    assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "p", "FOO", "alice"], &["unknown option", "FOO"]);
    assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "p", "alice"], &["unknown option", "alice"]);
    assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "p", "ACK", "alice", "BLOCK"], &["unknown option", "BLOCK"]);
    assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "p", "ACK", "alice", "ACK", "bob"], &["unknown option"]);
    assert_err(&mut con, &["SEQ.ALLOC", key, "m2", "too long", "ACK", "alice"], &["payload"]);
    assert_err(&mut con, &["SEQ.ALLOC", key, "", "p", "ACK", "alice"], &["client-msg-id"]);
    assert_eq!(snapshot(&mut con, key), before, "a refused ALLOC ... ACK changed the log");
    assert_eq!(cursors(&mut con, key), vec![]);
    // On a missing key a refusal creates nothing.
    assert_err(&mut con, &["SEQ.ALLOC", "conv:{new}", "m1", "p", "ACK"], &["ACK"]);
    assert!(!exists(&mut con, "conv:{new}"));
    // WRONGTYPE, with ACK too.
    call(&mut con, &["SET", "plain", "x"]);
    assert!(call_err(&mut con, &["SEQ.ALLOC", "plain", "m1", "p", "ACK", "alice"]).starts_with("WRONGTYPE"));
}

#[test]
fn alloc_ack_is_one_effect_in_the_aof_and_survives_its_replay() {
    // `always`: the AOF file holds each write before its reply (with `everysec` Redis may
    // hold a write back while a background fsync runs, and the file read below miss it).
    let (mut server, dir) =
        start_seq(&["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "no"]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{r3}";
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m1", "hi", "ACK", "alice"]), 1);
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m1", "hi", "ACK", "bob"]), 1, "retry");
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m2", "", "ACK", "bob"]), 2);
    assert_eq!(
        aof_effects(&dir.0),
        vec!["APPEND-ACK", "APPEND-ACK"],
        "each ALLOC ... ACK is one effect; a retry writes none"
    );
    let before = snapshot(&mut con, key);
    let readers_before = answered(&mut con, key, 3);
    drop(con);
    server.restart();
    let mut con = connect_with_timeout(&server, 10);
    assert_eq!(snapshot(&mut con, key), before, "after the AOF replay");
    assert_eq!(cursors(&mut con, key), pairs(&[("alice", 1), ("bob", 2)]));
    assert_eq!(answered(&mut con, key, 3), readers_before);
    assert_eq!(readers_before, vec![2, 2, 1, 0]);
}

#[test]
fn readers_follow_ack_sync_forget_and_alloc_ack() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{r4}";
    assert_eq!(readers(&mut con, "nokey", 0), 0, "a missing key has no readers");
    assert_eq!(readers(&mut con, key, 5), 0);
    alloc_many(&mut con, key, "m", 10);
    assert_eq!(answered(&mut con, key, 11), vec![0; 12], "no consumers yet");

    call_int(&mut con, &["SEQ.ACK", key, "alice", "4"]);
    call_int(&mut con, &["SEQ.ACK", key, "bob", "7"]);
    sync(&mut con, &[key, "carol", "AFTER", "7"]);
    call_int(&mut con, &["SEQ.ACK", key, "dave", "0"]);
    assert_eq!(answered(&mut con, key, 11), vec![4, 3, 3, 3, 3, 2, 2, 2, 0, 0, 0, 0]);
    assert_eq!(answered(&mut con, key, 11), counted(&mut con, key, 11));

    // Moving a cursor moves it between counts; a lower ACK moves nothing.
    call_int(&mut con, &["SEQ.ACK", key, "alice", "9"]);
    call_int(&mut con, &["SEQ.ACK", key, "bob", "2"]);
    sync(&mut con, &[key, "dave", "AFTER", "10"]);
    assert_eq!(answered(&mut con, key, 11), vec![4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 1, 0]);
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", key, "bob"]), 1);
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", key, "nobody"]), 0);
    assert_eq!(answered(&mut con, key, 11), vec![3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 1, 0]);
    assert_eq!(call_int(&mut con, &["SEQ.ALLOC", key, "m11", "mine", "ACK", "erin"]), 11);
    assert_eq!(answered(&mut con, key, 12), vec![4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 1, 0]);
    assert_eq!(answered(&mut con, key, 12), counted(&mut con, key, 12));
    assert_eq!(readers(&mut con, key, i64::MAX), 0);

    // Trimming moves no cursor, so it changes no count.
    call_int(&mut con, &["SEQ.TRIM", key, "MAXLEN", "2"]);
    assert_eq!(answered(&mut con, key, 12), vec![4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 1, 0]);

    // The same answers after DEBUG RELOAD (RDB save and load) and after DUMP/RESTORE.
    call(&mut con, &["DEBUG", "RELOAD"]);
    assert_eq!(answered(&mut con, key, 12), vec![4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2, 1, 0], "after DEBUG RELOAD");
    let dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut con).unwrap();
    let _: () = redis::cmd("RESTORE").arg("conv:{r4}:copy").arg(0).arg(dump).query(&mut con).unwrap();
    assert_eq!(answered(&mut con, "conv:{r4}:copy", 12), answered(&mut con, key, 12), "after RESTORE");
    // A cursor still moves the counts after a reload (the tree was rebuilt, not just read).
    call_int(&mut con, &["SEQ.ACK", key, "carol", "11"]);
    assert_eq!(answered(&mut con, key, 12), counted(&mut con, key, 12));
}

#[test]
fn readers_refusals() {
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc(&mut con, "conv:{r5}", "m1", None);
    assert_err(&mut con, &["SEQ.READERS", "conv:{r5}", "-1"], &["seq", "negative"]);
    assert_err(&mut con, &["SEQ.READERS", "nokey", "-1"], &["seq", "negative"]);
    assert_err(&mut con, &["SEQ.READERS", "conv:{r5}", "one"], &["seq", "integer"]);
    assert_err(&mut con, &["SEQ.READERS", "conv:{r5}", "99999999999999999999"], &["seq", "integer"]);
    assert_err(&mut con, &["SEQ.READERS", "conv:{r5}"], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.READERS", "conv:{r5}", "1", "2"], &["wrong number of arguments"]);
    call(&mut con, &["SET", "plain", "x"]);
    assert!(call_err(&mut con, &["SEQ.READERS", "plain", "0"]).starts_with("WRONGTYPE"));
    assert!(!exists(&mut con, "nokey"), "SEQ.READERS creates nothing");
}

#[test]
fn readers_with_fifty_thousand_consumers() {
    const CONSUMERS: usize = 50_000;
    const LAST: i64 = 300;
    let (server, _dir) = start_seq(&[]);
    let mut con = connect_with_timeout(&server, 60);
    let key = "conv:{big}";
    let mut pipe = redis::pipe();
    for i in 0..LAST {
        pipe.cmd("SEQ.ALLOC").arg(key).arg(format!("m{i}")).ignore();
    }
    let _: () = pipe.query(&mut con).expect("allocs");

    let mut rng = Rng(0x5eed);
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    let ack_all = |con: &mut Connection, model: &mut BTreeMap<String, i64>, rng: &mut Rng, n: usize| {
        let mut pipe = redis::pipe();
        for _ in 0..n {
            let name = format!("device:{}", rng.below(CONSUMERS as u64));
            let seq = rng.below(LAST as u64 + 1) as i64;
            let cursor = model.entry(name.clone()).or_insert(seq);
            *cursor = (*cursor).max(seq);
            pipe.cmd("SEQ.ACK").arg(key).arg(name).arg(seq).ignore();
        }
        let _: () = pipe.query(con).expect("pipelined ACKs");
    };
    let expected = |model: &BTreeMap<String, i64>| -> Vec<i64> {
        let mut at = vec![0i64; LAST as usize + 2];
        for &c in model.values() {
            at[c as usize] += 1;
        }
        // at-or-above counts: a suffix sum.
        for s in (0..=LAST as usize).rev() {
            at[s] += at[s + 1];
        }
        at
    };
    let check = |con: &mut Connection, model: &BTreeMap<String, i64>, when: &str| {
        let want = expected(model);
        let mut pipe = redis::pipe();
        for seq in 0..=LAST + 1 {
            pipe.cmd("SEQ.READERS").arg(key).arg(seq);
        }
        let got: Vec<i64> = pipe.query(con).expect("pipelined READERS");
        assert_eq!(got.len(), want.len());
        for (seq, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "SEQ.READERS {key} {seq} {when}");
        }
    };
    // Every consumer once (plus repeats), then moves of random ones.
    {
        let mut pipe = redis::pipe();
        for i in 0..CONSUMERS {
            let name = format!("device:{i}");
            let seq = rng.below(LAST as u64 + 1) as i64;
            model.insert(name.clone(), seq);
            pipe.cmd("SEQ.ACK").arg(key).arg(name).arg(seq).ignore();
        }
        let _: () = pipe.query(&mut con).expect("pipelined ACKs");
    }
    assert_eq!(field(&info_of(&mut con, key), "consumers"), CONSUMERS as i64);
    check(&mut con, &model, "after 50,000 ACKs");
    ack_all(&mut con, &mut model, &mut rng, 30_000);
    check(&mut con, &model, "after 30,000 more ACKs");

    let mut pipe = redis::pipe();
    for i in (0..CONSUMERS).step_by(7) {
        let name = format!("device:{i}");
        model.remove(&name);
        pipe.cmd("SEQ.FORGET").arg(key).arg(name).ignore();
    }
    let _: () = pipe.query(&mut con).expect("pipelined FORGETs");
    check(&mut con, &model, "after forgetting every 7th");

    call(&mut con, &["DEBUG", "RELOAD"]);
    check(&mut con, &model, "after DEBUG RELOAD");
    assert_eq!(readers(&mut con, key, 0), model.len() as i64);
}

#[test]
fn alloc_ack_on_a_replica() {
    let (master, _mdir) = start_seq(&["--repl-diskless-sync-delay", "0"]);
    let (replica, _rdir) = start_seq(&[]);
    let mut m = connect_with_timeout(&master, 30);
    // Before the link (reaches the replica in the full sync) and after (the stream).
    for round in ["before", "after"] {
        if round == "after" {
            attach_replica(&master, &replica);
        }
        for g in 0..4 {
            let key = format!("conv:{{g{g}}}:{round}");
            for i in 0..20 {
                let sender = format!("user{}", i % 5);
                let id = format!("m{i}");
                call_int(&mut m, &["SEQ.ALLOC", &key, &id, "payload", "ACK", &sender]);
                if i % 6 == 0 {
                    // A retry by someone else: changes nothing on either side.
                    call_int(&mut m, &["SEQ.ALLOC", &key, &id, "payload", "ACK", "retrier"]);
                }
            }
            call_int(&mut m, &["SEQ.ACK", &key, "reader", "7"]);
        }
    }
    let mut r = connect_with_timeout(&replica, 30);
    wait_replica_caught_up(&mut m, &mut r);
    for round in ["before", "after"] {
        for g in 0..4 {
            let key = format!("conv:{{g{g}}}:{round}");
            assert_eq!(
                cursors(&mut m, &key),
                pairs(&[("reader", 7), ("user0", 16), ("user1", 17), ("user2", 18), ("user3", 19), ("user4", 20)]),
                "{key} on the master"
            );
            assert_eq!(cursors(&mut r, &key), cursors(&mut m, &key), "{key}: cursors on the replica");
            assert_eq!(digest_value(&mut r, key.as_bytes()), digest_value(&mut m, key.as_bytes()), "{key}: digest");
            assert_eq!(answered(&mut r, &key, 21), answered(&mut m, &key, 21), "{key}: SEQ.READERS on the replica");
            assert_eq!(snapshot(&mut r, &key), snapshot(&mut m, &key), "{key}");
        }
    }
    // A replica refuses writes, ALLOC ... ACK included; READERS answers there.
    assert!(call_err(&mut r, &["SEQ.ALLOC", "conv:{g0}:after", "m99", "p", "ACK", "x"]).starts_with("READONLY"));
    assert_eq!(readers(&mut r, "conv:{g0}:after", 20), 1);
    assert_eq!(call(&mut r, &["SEQ.READERS", "nokey", "0"]), Value::Int(0));
}
