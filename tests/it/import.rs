//! SEQ.IMPORT: every reply and error of the contract's "Importing existing conversations",
//! persistence (DEBUG RELOAD, AOF rewrite), replication (digests equal), a blocked
//! SEQ.SYNC woken by an import, and the `seq.import` keyspace event.

use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::Connection;

fn import(con: &mut Connection, key: &str, seq: i64, ts: i64, id: &str, payload: &str) -> i64 {
    let seq_s = seq.to_string();
    let ts_s = ts.to_string();
    call_int(con, &["SEQ.IMPORT", key, &seq_s, &ts_s, id, payload])
}

fn import_err(con: &mut Connection, key: &str, seq: &str, ts: &str, id: &str, all_of: &[&str]) -> String {
    assert_err(con, &["SEQ.IMPORT", key, seq, ts, id, "p"], all_of)
}

#[test]
fn explicit_seqs_and_ts_with_gaps_skipped() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key = "conv:{i1}";
    // Recent ts (an hour ago), so that the ids are inside the window when ALLOC runs below.
    let t = server_time_ms(&mut con) - 3_600_000;
    assert_eq!(import(&mut con, key, 3, t, "a", "first"), 3, "a missing log is created at the given seq");
    assert_eq!(import(&mut con, key, 4, t, "b", ""), 4, "an equal ts and an empty payload are accepted");
    assert_eq!(import(&mut con, key, 9, t + 1_000, "c", "third"), 9);
    let es = entries(&mut con, key);
    let got: Vec<(i64, String, i64, Vec<u8>)> =
        es.iter().map(|e| (e.seq, e.id_str(), e.ts, e.payload.clone())).collect();
    assert_eq!(
        got,
        vec![
            (3, "a".into(), t, b"first".to_vec()),
            (4, "b".into(), t, b"".to_vec()),
            (9, "c".into(), t + 1_000, b"third".to_vec()),
        ]
    );
    let info = info_of(&mut con, key);
    assert_eq!(
        (field(&info, "last"), field(&info, "first"), field(&info, "length"), field(&info, "skipped-seqs")),
        (9, 3, 3, 6),
        "seqs 1-2 and 5-8 are skipped: {info:?}"
    );
    assert_eq!((field(&info, "first-ts"), field(&info, "last-ts")), (t, t + 1_000));

    // ALLOC continues after the imported last, and its ts never goes below the imported one.
    assert_eq!(alloc(&mut con, key, "d", None), 10);
    // A retried id that was imported gets its imported seq from ALLOC.
    assert_eq!(alloc(&mut con, key, "a", None), 3);
    let ints: Vec<i64> = array(&call(&mut con, &["SEQ.MLAST", key])).iter().map(int).collect();
    assert_eq!(ints, vec![10]);
    let imports = seq_stat(&mut con, "seq_imports");
    assert_eq!(imports, 3, "INFO seq counts imports apart from allocations");
    assert_eq!(seq_stat(&mut con, "seq_allocations"), 1);
}

#[test]
fn a_resumed_import_replies_the_seq_and_changes_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key = "conv:{i2}";
    assert_eq!(import(&mut con, key, 1, 10, "a", "x"), 1);
    assert_eq!(import(&mut con, key, 5, 20, "b", "y"), 5);
    let before = snapshot(&mut con, key);
    let digest = digest_value(&mut con, key.as_bytes());
    // The same id at the same seq (even with another ts or payload): already imported.
    assert_eq!(import(&mut con, key, 1, 10, "a", "x"), 1);
    assert_eq!(import(&mut con, key, 5, 99, "b", "other"), 5);
    assert_eq!(snapshot(&mut con, key), before);
    assert_eq!(digest_value(&mut con, key.as_bytes()), digest, "nothing changed");
}

#[test]
fn every_refusal_changes_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key = "conv:{i3}";
    assert_eq!(import(&mut con, key, 5, 1_000, "a", "x"), 5);
    let before = db_state(&mut con);

    // The id is in the window at another seq.
    let text = import_err(&mut con, key, "6", "1000", "a", &["client-msg-id", "seq 5"]);
    assert!(text.starts_with("ERR"), "{text}");
    // seq not above last.
    import_err(&mut con, key, "5", "1000", "b", &["seq 5", "last seq 5"]);
    import_err(&mut con, key, "2", "1000", "b", &["seq 2", "last seq 5"]);
    // ts older than the log's newest.
    import_err(&mut con, key, "6", "999", "b", &["ts 999", "newest ts 1000"]);
    // Arguments.
    import_err(&mut con, key, "x", "1000", "b", &["seq", "not an integer"]);
    import_err(&mut con, key, "-1", "1000", "b", &["seq"]);
    import_err(&mut con, key, "6", "later", "b", &["ts", "not an integer"]);
    import_err(&mut con, key, "6", "-5", "b", &["ts"]);
    import_err(&mut con, key, "9223372036854775808", "1000", "b", &["seq"]);
    import_err(&mut con, key, "6", "1000", "", &["client-msg-id", "empty"]);
    config_set(&mut con, "seq.max-client-msg-id-bytes", "4");
    import_err(&mut con, key, "6", "1000", "abcde", &["client-msg-id", "seq.max-client-msg-id-bytes"]);
    config_set(&mut con, "seq.max-client-msg-id-bytes", "256");
    config_set(&mut con, "seq.max-payload-bytes", "2");
    assert_err(&mut con, &["SEQ.IMPORT", key, "6", "1000", "b", "abc"], &["payload", "seq.max-payload-bytes"]);
    config_set(&mut con, "seq.max-payload-bytes", "1048576");
    assert_err(&mut con, &["SEQ.IMPORT", key, "6", "1000", "b"], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.IMPORT", key, "6", "1000", "b", "p", "extra"], &["wrong number of arguments"]);
    // seq 0 on a missing key is not above last (0): refused, and no key is created.
    import_err(&mut con, "conv:{missing}", "0", "1", "b", &["seq 0", "last seq 0"]);
    // A key of another type.
    let _: () = redis::cmd("SET").arg("plain").arg("v").query(&mut con).unwrap();
    let before_plain = db_state(&mut con);
    let text = call_err(&mut con, &["SEQ.IMPORT", "plain", "1", "1", "b", "p"]);
    assert!(text.starts_with("WRONGTYPE"), "{text}");
    assert_same_db(&before_plain, &db_state(&mut con), "after a WRONGTYPE import");
    let _: () = redis::cmd("DEL").arg("plain").query(&mut con).unwrap();
    assert_same_db(&before, &db_state(&mut con), "after refused imports");
}

#[test]
fn window_and_retention_go_by_the_entry_ts_and_the_fence_does_not_apply() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    config_set(&mut con, "seq.dedup-window-ms", "100");
    config_set(&mut con, "seq.max-age-ms", "50");
    config_set(&mut con, "seq.failover-gap", "1000");
    let key = "conv:{i4}";
    assert_eq!(import(&mut con, key, 1, 1_000, "a", "x"), 1);
    assert_eq!(import(&mut con, key, 2, 1_060, "b", "y"), 2);
    assert_eq!(seqs(&entries(&mut con, key)), vec![2], "max-age by the imported ts trims entry 1");
    // "a" is still inside the window (by the log's ts 1060): at another seq it is refused.
    import_err(&mut con, key, "3", "1060", "a", &["seq 1"]);
    assert_eq!(import(&mut con, key, 3, 1_200, "c", "z"), 3);
    // Now "a" is out of the window by the imported ts: it is a new message.
    assert_eq!(import(&mut con, key, 4, 1_200, "a", "again"), 4);
    config_set(&mut con, "seq.max-len", "2");
    assert_eq!(import(&mut con, key, 10, 1_200, "d", "w"), 10);
    assert_eq!(seqs(&entries(&mut con, key)), vec![4, 10], "max-len applies to imports");
    let info = info_of(&mut con, key);
    assert_eq!(field(&info, "skipped-seqs"), 5, "only the explicit gap is skipped, no fence: {info:?}");
}

#[test]
fn persisted_and_replicated_identically() {
    let (master, _dm) = start_seq(&[]);
    let (replica, _dr) = start_seq(&[]);
    attach_replica(&master, &replica);
    let mut m = master.connect();
    let mut r = replica.connect();
    let keys = ["conv:{p1}", "conv:{p2}"];
    let t = server_time_ms(&mut m) - 3_600_000;
    for (n, key) in keys.iter().enumerate() {
        let mut seq = 0;
        for i in 0..300i64 {
            seq += 1 + (i % 4) * (n as i64 + 1);
            assert_eq!(import(&mut m, key, seq, t + i * 7, &format!("m{i}"), &format!("payload {i}")), seq);
        }
        alloc(&mut m, key, "after", Some(b"allocated"));
        call(&mut m, &["SEQ.ACK", key, "reader", "5"]);
    }
    wait_replica_caught_up(&mut m, &mut r);
    for key in keys {
        assert_eq!(digest_value(&mut m, key.as_bytes()), digest_value(&mut r, key.as_bytes()), "{key}");
        assert_eq!(snapshot(&mut m, key), snapshot(&mut r, key), "{key}");
    }
    let before: Vec<_> = keys.iter().map(|k| (snapshot(&mut m, k), digest_value(&mut m, k.as_bytes()))).collect();
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut m).expect("DEBUG RELOAD");
    let after: Vec<_> = keys.iter().map(|k| (snapshot(&mut m, k), digest_value(&mut m, k.as_bytes()))).collect();
    assert_eq!(before, after, "DEBUG RELOAD keeps every imported log as it was");
    // A resumed import after the reload is still recognised.
    assert_eq!(import(&mut m, keys[0], 1, t, "m0", "payload 0"), 1);
}

#[test]
fn an_aof_replay_rebuilds_imported_logs() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut con = server.connect();
    let key = "conv:{aof}";
    for (seq, ts) in [(2, 5), (3, 5), (8, 9)] {
        import(&mut con, key, seq, ts, &format!("id{seq}"), "p");
    }
    let before = snapshot(&mut con, key);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_eq!(snapshot(&mut con, key), before, "replayed from the AOF's IMPORT effects");
}

#[test]
fn an_import_wakes_a_blocked_sync() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key = "inbox:{wake}";
    import(&mut con, key, 2, 10, "a", "x");
    let mut waiter = connect_with_timeout(&server, 10);
    let handle = thread::spawn(move || try_call(&mut waiter, &["SEQ.SYNC", key, "phone", "AFTER", "2", "BLOCK", "0"]));
    let blocked = wait_until(Duration::from_secs(10), || blocked_clients(&mut con) == 1);
    assert!(blocked, "SEQ.SYNC never blocked");
    import(&mut con, key, 7, 11, "b", "wake up");
    let reply = handle.join().expect("waiter thread").unwrap_or_else(|e| panic!("blocked SEQ.SYNC failed: {e}"));
    let (last, es) = sync_reply(&reply);
    assert_eq!(last, 7);
    assert_eq!(es.iter().map(|e| (e.seq, e.id_str())).collect::<Vec<_>>(), vec![(7, "b".to_string())]);
}

#[test]
fn import_raises_seq_import_not_seq_alloc() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    config_set(&mut con, "notify-keyspace-events", "KEd");
    let mut sub = server.connect();
    let mut ps = psubscribe(&mut sub, "__key*@0__:*");

    import(&mut con, "conv:{ev}", 4, 1, "a", "x");
    // A resumed import and a refused one raise nothing: the next events are the ALLOC's.
    import(&mut con, "conv:{ev}", 4, 1, "a", "x");
    let _ = try_call(&mut con, &["SEQ.IMPORT", "conv:{ev}", "1", "1", "b", "x"]);
    alloc(&mut con, "conv:{ev}", "c", None);
    let mut got = read_messages(&mut ps, 4);
    got[..2].sort();
    got[2..].sort();
    assert_eq!(
        got,
        vec![
            ("__keyevent@0__:seq.import".to_string(), b"conv:{ev}".to_vec()),
            ("__keyspace@0__:conv:{ev}".to_string(), b"seq.import".to_vec()),
            ("__keyevent@0__:seq.alloc".to_string(), b"conv:{ev}".to_vec()),
            ("__keyspace@0__:conv:{ev}".to_string(), b"seq.alloc".to_vec()),
        ]
    );
}

#[test]
fn a_long_gap_keeps_the_window_and_one_too_long_for_it_is_refused() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let key = "conv:{gap}";
    let t = server_time_ms(&mut con) - 1_000;
    assert_eq!(import(&mut con, key, 1, t, "a", "x"), 1);
    assert_eq!(import(&mut con, key, 1_000_000_000_000, t, "b", "y"), 1_000_000_000_000);
    assert_eq!(alloc(&mut con, key, "a", None), 1, "an id below a gap of 10^12 seqs is still de-duplicated");
    let before = snapshot(&mut con, key);
    // The window's index spans at most 2^56 seqs: a gap beyond it while ids are inside
    // the window is refused, and changes nothing.
    assert_err(&mut con, &["SEQ.IMPORT", key, "100000000000000000", &t.to_string(), "c", "z"], &["2^56"]);
    assert_eq!(snapshot(&mut con, key), before);
    assert_eq!(field(&info_of(&mut con, key), "skipped-seqs"), 1_000_000_000_000 - 2);
}
