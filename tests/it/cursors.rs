//! Consumer cursors: SEQ.ACK, SEQ.SYNC (without BLOCK), SEQ.UNREAD, SEQ.CURSORS and
//! SEQ.FORGET; cursors surviving DEBUG RELOAD, SAVE + restart, AOF rewrite + restart,
//! DUMP/RESTORE and COPY; and a replica (without the master's retention configs) that ends
//! with identical logs and cursors.

use std::time::Duration;

use crate::common::*;
use redis::Connection;

#[test]
fn ack_only_moves_forward() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{u1}";
    alloc_many(&mut con, key, "m", 5);

    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "phone", "3"]), 3);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "phone", "2"]), 3, "a cursor never moves backwards");
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "phone", "0"]), 3);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "phone", "3"]), 3);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "phone", "5"]), 5, "acking last is allowed");
    assert_eq!(cursors(&mut con, key), pairs(&[("phone", 5)]));

    // Out of range: above last, negative, not an integer. Nothing changes.
    assert_err(&mut con, &["SEQ.ACK", key, "phone", "6"], &["out of range"]);
    assert_err(&mut con, &["SEQ.ACK", key, "laptop", "6"], &["out of range"]);
    assert_err(&mut con, &["SEQ.ACK", key, "laptop", "-1"], &[]);
    assert_err(&mut con, &["SEQ.ACK", key, "laptop", "abc"], &["not an integer"]);
    assert_err(&mut con, &["SEQ.ACK", key, "laptop"], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.ACK", key, "laptop", "1", "2"], &[]);
    assert_eq!(cursors(&mut con, key), pairs(&[("phone", 5)]), "a refused ACK registered or moved a cursor");

    // ACK 0 on an existing key registers the consumer at 0.
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "laptop", "0"]), 0);
    assert_eq!(cursors(&mut con, key), pairs(&[("laptop", 0), ("phone", 5)]));
    assert_eq!(field(&info_of(&mut con, key), "consumers"), 2);

    // A cursor may point at a trimmed seq; trimming never moves cursors.
    call_int(&mut con, &["SEQ.TRIM", key, "MAXLEN", "1"]);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "laptop", "2"]), 2);
    assert_eq!(cursors(&mut con, key), pairs(&[("laptop", 2), ("phone", 5)]));
    assert_eq!(call_int(&mut con, &["SEQ.LAST", key]), 5, "ACK never changes last");
}

#[test]
fn ack_on_a_missing_key_accepts_only_zero_and_creates_nothing() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    assert_eq!(call_int(&mut con, &["SEQ.ACK", "nokey", "phone", "0"]), 0);
    assert!(!exists(&mut con, "nokey"), "SEQ.ACK nokey phone 0 created the key");
    assert_err(&mut con, &["SEQ.ACK", "nokey", "phone", "1"], &["out of range"]);
    assert!(!exists(&mut con, "nokey"), "a refused SEQ.ACK created the key");
    assert_eq!(call_int(&mut con, &["DBSIZE"]), 0);

    call(&mut con, &["SET", "plain", "v"]);
    let e = call_err(&mut con, &["SEQ.ACK", "plain", "phone", "0"]);
    assert!(e.starts_with("WRONGTYPE "), "SEQ.ACK on a string key: {e:?}");
}

#[test]
fn sync_acknowledges_after_and_pages() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{u2}";
    alloc_many(&mut con, key, "m", 5);
    let all = entries(&mut con, key);

    // No AFTER: from the stored cursor (0 for a new consumer), acknowledging nothing.
    let (last, es) = sync(&mut con, &[key, "tablet"]);
    assert_eq!((last, es.clone()), (5, all.clone()), "SEQ.SYNC for a new consumer returns everything");
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "tablet"]), 5, "SYNC without AFTER acknowledged something");

    // AFTER s acknowledges s, returns seq > s, at most COUNT.
    let (last, es) = sync(&mut con, &[key, "tablet", "AFTER", "2", "COUNT", "2"]);
    assert_eq!((last, es), (5, all[2..4].to_vec()));
    assert_eq!(cursors(&mut con, key), pairs(&[("tablet", 2)]));
    let (last, es) = sync(&mut con, &[key, "tablet", "after", "4", "count", "2"]);
    assert_eq!((last, es), (5, all[4..5].to_vec()), "options are case-insensitive");
    assert_eq!(cursors(&mut con, key), pairs(&[("tablet", 4)]));

    // Without AFTER the position is the stored cursor.
    let (last, es) = sync(&mut con, &[key, "tablet"]);
    assert_eq!((last, es), (5, all[4..5].to_vec()));

    // Re-pulling an older page returns it without moving the cursor back.
    let (last, es) = sync(&mut con, &[key, "tablet", "AFTER", "1"]);
    assert_eq!((last, es), (5, all[1..].to_vec()), "AFTER 1 returns seq > 1, not > the cursor");
    assert_eq!(cursors(&mut con, key), pairs(&[("tablet", 4)]), "a re-pull moved the cursor back");

    // The end: nothing after last.
    let (last, es) = sync(&mut con, &[key, "tablet", "AFTER", "5"]);
    assert_eq!((last, es.len()), (5, 0));
    assert_eq!(cursors(&mut con, key), pairs(&[("tablet", 5)]));
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "tablet"]), 0);

    // Repeated option: the last one wins.
    let (_, es) = sync(&mut con, &[key, "other", "COUNT", "1", "COUNT", "3"]);
    assert_eq!(seqs(&es), vec![1, 2, 3], "the last COUNT wins");

    // Refusals change nothing.
    let before = snapshot(&mut con, key);
    assert_err(&mut con, &["SEQ.SYNC", key, "tablet", "AFTER", "6"], &["out of range"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "AFTER", "6"], &["out of range"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "AFTER", "-1"], &[]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "AFTER", "x"], &["not an integer"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "COUNT", "0"], &["COUNT"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "COUNT", "-3"], &[]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "COUNT"], &[]);
    assert_err(&mut con, &["SEQ.SYNC", key, "late", "FROM", "1"], &["unknown option"]);
    assert_err(&mut con, &["SEQ.SYNC", key], &["wrong number of arguments"]);
    assert_eq!(snapshot(&mut con, key), before, "a refused SEQ.SYNC changed the log or its cursors");
}

#[test]
fn sync_count_defaults_to_100() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{big}";
    alloc_many(&mut con, key, "m", 150);

    let (last, es) = sync(&mut con, &[key, "c"]);
    assert_eq!(last, 150);
    assert_eq!(seqs(&es), (1..=100).collect::<Vec<_>>(), "default COUNT is 100");
    let (last, es) = sync(&mut con, &[key, "c", "AFTER", "100"]);
    assert_eq!((last, seqs(&es)), (150, (101..=150).collect::<Vec<_>>()));
    let (_, es) = sync(&mut con, &[key, "d", "COUNT", "150"]);
    assert_eq!(es.len(), 150);
    let (_, es) = sync(&mut con, &[key, "d", "COUNT", "1000"]);
    assert_eq!(es.len(), 150);
}

#[test]
fn sync_returns_whole_entries() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{shape}";
    alloc(&mut con, key, "with", Some(b"hello"));
    alloc(&mut con, key, "without", None);
    let (last, es) = sync(&mut con, &[key, "c"]);
    assert_eq!(last, 2);
    assert_eq!(es, entries(&mut con, key), "SEQ.SYNC entries are the SEQ.RANGE entries");
    assert_eq!((es[0].seq, es[0].id_str(), es[0].payload.clone()), (1, "with".to_string(), b"hello".to_vec()));
    assert_eq!((es[1].seq, es[1].id_str(), es[1].payload.clone()), (2, "without".to_string(), Vec::new()));
    assert!(es[0].ts > 1_600_000_000_000, "ts is server time in milliseconds: {}", es[0].ts);
}

#[test]
fn sync_on_a_missing_key_replies_zero_and_creates_nothing() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    assert_eq!(sync(&mut con, &["nokey", "c"]), (0, vec![]));
    assert_eq!(sync(&mut con, &["nokey", "c", "AFTER", "0", "COUNT", "5"]), (0, vec![]));
    assert!(!exists(&mut con, "nokey"), "SEQ.SYNC created the key");
    assert_err(&mut con, &["SEQ.SYNC", "nokey", "c", "AFTER", "1"], &["out of range"]);
    assert!(!exists(&mut con, "nokey"));
    assert_eq!(call_int(&mut con, &["DBSIZE"]), 0);
    // The raw reply shape: [0, []].
    let v = call(&mut con, &["SEQ.SYNC", "nokey", "c"]);
    assert_eq!(v, redis::Value::Array(vec![redis::Value::Int(0), redis::Value::Array(vec![])]));
}

#[test]
fn unread_counts_retained_entries_after_the_cursor() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{u3}";
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", "nokey", "c"]), 0);
    assert!(!exists(&mut con, "nokey"), "SEQ.UNREAD created the key");

    alloc_many(&mut con, key, "m", 10);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "never-seen"]), 10, "a new consumer counts from 0");
    assert!(cursors(&mut con, key).is_empty(), "SEQ.UNREAD registered a consumer");
    call_int(&mut con, &["SEQ.ACK", key, "c", "3"]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "c"]), 7);

    // Trims reduce it: only retained entries are unread.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "MAXLEN", "4"]), 6);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "c"]), 4);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "never-seen"]), 4);
    call_int(&mut con, &["SEQ.ACK", key, "c", "8"]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "c"]), 2);
    call_int(&mut con, &["SEQ.TRIM", key, "MINSEQ", "11"]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "c"]), 0);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "never-seen"]), 0);
    alloc(&mut con, key, "m11", None);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "c"]), 1);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "never-seen"]), 1);

    assert_err(&mut con, &["SEQ.UNREAD", key], &["wrong number of arguments"]);
}

#[test]
fn cursors_lists_and_forget_removes() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{g1}";
    let v = call(&mut con, &["SEQ.CURSORS", "nokey"]);
    assert_eq!(v, redis::Value::Array(vec![]), "SEQ.CURSORS on a missing key");
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", "nokey", "c"]), 0);
    assert!(!exists(&mut con, "nokey"));

    alloc_many(&mut con, key, "m", 6);
    assert!(cursors(&mut con, key).is_empty());
    call_int(&mut con, &["SEQ.ACK", key, "u7", "2"]);
    call_int(&mut con, &["SEQ.ACK", key, "u8", "6"]);
    sync(&mut con, &[key, "u9", "AFTER", "4"]);
    let v = call(&mut con, &["SEQ.CURSORS", key]);
    assert_eq!(array(&v).len(), 6, "a flat consumer, cursor, ... array: {v:?}");
    assert_eq!(cursors(&mut con, key), pairs(&[("u7", 2), ("u8", 6), ("u9", 4)]));
    assert_eq!(field(&info_of(&mut con, key), "consumers"), 3);

    assert_eq!(call_int(&mut con, &["SEQ.FORGET", key, "u8"]), 1);
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", key, "u8"]), 0);
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", key, "nobody"]), 0);
    assert_eq!(cursors(&mut con, key), pairs(&[("u7", 2), ("u9", 4)]));
    assert_eq!(field(&info_of(&mut con, key), "consumers"), 2);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", key, "u8"]), 6, "a forgotten consumer counts from 0 again");
    assert_eq!(call_int(&mut con, &["SEQ.ACK", key, "u8", "1"]), 1, "a forgotten cursor starts over");
    assert_eq!(call_int(&mut con, &["SEQ.LAST", key]), 6, "cursor commands never change last");
    assert_eq!(field(&info_of(&mut con, key), "length"), 6);

    assert_err(&mut con, &["SEQ.FORGET", key], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.CURSORS"], &["wrong number of arguments"]);
    call(&mut con, &["SET", "plain", "v"]);
    for args in [
        vec!["SEQ.CURSORS", "plain"],
        vec!["SEQ.FORGET", "plain", "c"],
        vec!["SEQ.UNREAD", "plain", "c"],
        vec!["SEQ.SYNC", "plain", "c"],
    ] {
        let e = call_err(&mut con, &args);
        assert!(e.starts_with("WRONGTYPE "), "{args:?} on a string key: {e:?}");
    }
}

// ---- persistence of cursors ----

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

/// A log with retained and trimmed entries, four cursors (one at 0) and one forgotten.
fn build_cursor_state(con: &mut Connection, key: &str) -> Snapshot {
    alloc_many(con, key, "m", 8);
    call_int(con, &["SEQ.ACK", key, "alice", "3"]);
    call_int(con, &["SEQ.ACK", key, "bob", "8"]);
    sync(con, &[key, "carol", "AFTER", "5", "COUNT", "1"]);
    call_int(con, &["SEQ.ACK", key, "dave", "0"]);
    call_int(con, &["SEQ.ACK", key, "eve", "4"]);
    assert_eq!(call_int(con, &["SEQ.FORGET", key, "eve"]), 1);
    assert_eq!(call_int(con, &["SEQ.TRIM", key, "MAXLEN", "6"]), 2);
    let snap = snapshot(con, key);
    assert_eq!(snap.cursors, pairs(&[("alice", 3), ("bob", 8), ("carol", 5), ("dave", 0)]));
    assert_eq!(snap.unread, pairs(&[("alice", 5), ("bob", 0), ("carol", 3), ("dave", 6)]));
    snap
}

/// After a reload: same snapshot, same de-duplication answers, cursors still move forward only.
fn assert_survived(con: &mut Connection, key: &str, before: &Snapshot, how: &str) {
    assert_eq!(&snapshot(con, key), before, "{how}: the log or its cursors changed");
    assert_eq!(alloc(con, key, "m1", None), 1, "{how}: de-duplication of a trimmed id lost");
    assert_eq!(call_int(con, &["SEQ.ACK", key, "bob", "2"]), 8, "{how}: cursor moved back");
    assert_eq!(call_int(con, &["SEQ.ACK", key, "alice", "4"]), 4, "{how}: cursor does not move forward");
}

#[test]
fn cursors_survive_debug_reload() {
    let (server, _dir) = Server::start(&DEBUG);
    let mut con = connect_with_timeout(&server, 30);
    let before = build_cursor_state(&mut con, "conv:{p1}");
    call(&mut con, &["DEBUG", "RELOAD"]);
    assert_survived(&mut con, "conv:{p1}", &before, "DEBUG RELOAD");
}

#[test]
fn cursors_survive_save_and_restart() {
    let (mut server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 30);
    let before = build_cursor_state(&mut con, "conv:{p2}");
    call(&mut con, &["SAVE"]);
    drop(con);
    server.restart();
    let mut con = connect_with_timeout(&server, 30);
    assert_survived(&mut con, "conv:{p2}", &before, "SAVE + restart");
}

fn wait_rewrite_done(con: &mut Connection) {
    let done = wait_until(Duration::from_secs(30), || {
        let p = info_section(con, "persistence");
        p.get("aof_rewrite_in_progress").map(String::as_str) == Some("0")
            && p.get("aof_rewrite_scheduled").map(String::as_str) == Some("0")
    });
    assert!(done, "AOF rewrite did not finish in 30 s");
}

fn cursors_survive_aof_rewrite(preamble: &str) {
    let (mut server, _dir) = Server::start(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
    let mut con = connect_with_timeout(&server, 30);
    wait_rewrite_done(&mut con);
    let mut before = build_cursor_state(&mut con, "conv:{p3}");
    call(&mut con, &["BGREWRITEAOF"]);
    wait_rewrite_done(&mut con);
    let p = info_section(&mut con, "persistence");
    assert_eq!(p.get("aof_last_bgrewrite_status").map(String::as_str), Some("ok"), "{p:?}");
    // The rewrite really produced the kind of base file this case is about: an RDB preamble,
    // or commands emitted by the type's AOF-rewrite callback.
    let base_ext = if preamble == "yes" { ".base.rdb" } else { ".base.aof" };
    let aof_dir = server.dir.join("appendonlydir");
    let names: Vec<String> = std::fs::read_dir(&aof_dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(names.iter().any(|n| n.ends_with(base_ext)), "no *{base_ext} in {}: {names:?}", aof_dir.display());

    // More cursor traffic after the rewrite lands in the incremental AOF.
    assert_eq!(call_int(&mut con, &["SEQ.ACK", "conv:{p3}", "dave", "7"]), 7);
    assert_eq!(call_int(&mut con, &["SEQ.FORGET", "conv:{p3}", "carol"]), 1);
    before.cursors = pairs(&[("alice", 3), ("bob", 8), ("dave", 7)]);
    before.unread = pairs(&[("alice", 5), ("bob", 0), ("dave", 1)]);
    before.info = seq_info(&mut con, "conv:{p3}");
    assert_eq!(snapshot(&mut con, "conv:{p3}"), before);

    drop(con);
    server.restart();
    let mut con = connect_with_timeout(&server, 30);
    let loading_done = wait_until(Duration::from_secs(30), || {
        info_section(&mut con, "persistence").get("loading").map(String::as_str) == Some("0")
    });
    assert!(loading_done);
    assert_survived(&mut con, "conv:{p3}", &before, &format!("AOF rewrite (rdb preamble {preamble}) + restart"));
}

#[test]
fn cursors_survive_aof_rewrite_with_rdb_preamble() {
    cursors_survive_aof_rewrite("yes");
}

#[test]
fn cursors_survive_aof_rewrite_without_rdb_preamble() {
    cursors_survive_aof_rewrite("no");
}

#[test]
fn cursors_survive_dump_restore_and_copy() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 30);
    let before = build_cursor_state(&mut con, "conv:{p4}");

    let payload: Vec<u8> = redis::cmd("DUMP").arg("conv:{p4}").query(&mut con).expect("DUMP");
    let _: () = redis::cmd("RESTORE").arg("conv:{p4}:restored").arg(0).arg(&payload).query(&mut con).expect("RESTORE");
    assert_eq!(snapshot(&mut con, "conv:{p4}:restored"), before, "DUMP/RESTORE lost state");

    assert_eq!(call_int(&mut con, &["COPY", "conv:{p4}", "conv:{p4}:copy"]), 1);
    assert_eq!(snapshot(&mut con, "conv:{p4}:copy"), before, "COPY lost state");

    // The copies are independent of the original.
    call_int(&mut con, &["SEQ.ACK", "conv:{p4}:copy", "alice", "7"]);
    call_int(&mut con, &["SEQ.FORGET", "conv:{p4}:restored", "bob"]);
    assert_eq!(snapshot(&mut con, "conv:{p4}"), before, "changing a copy changed the original");
    let mut without_bob = before;
    without_bob.cursors.retain(|(c, _)| c != b"bob");
    without_bob.unread.retain(|(c, _)| c != b"bob");
    without_bob.info = seq_info(&mut con, "conv:{p4}:restored");
    assert_eq!(field(without_bob.info.as_ref().unwrap(), "consumers"), 3);
    assert_eq!(snapshot(&mut con, "conv:{p4}:restored"), without_bob);
    assert_eq!(alloc(&mut con, "conv:{p4}:restored", "m1", None), 1, "RESTORE: de-duplication of a trimmed id lost");
    assert_eq!(alloc(&mut con, "conv:{p4}:copy", "m2", None), 2, "COPY: de-duplication of a trimmed id lost");
}

// ---- replication ----

/// Traffic that exercises every cursor path plus explicit and automatic trims.
fn cursor_traffic(m: &mut Connection, round: &str) {
    let a = format!("conv:{{a}}:{round}");
    let b = format!("conv:{{b}}:{round}");
    let c = format!("inbox:{{c}}:{round}");
    alloc_many(m, &a, "m", 12);
    call_int(m, &["SEQ.ACK", &a, "alice", "9"]);
    call_int(m, &["SEQ.ACK", &a, "alice", "4"]);
    sync(m, &[&a, "bob", "AFTER", "8", "COUNT", "2"]);
    sync(m, &[&a, "carol"]);
    sync(m, &[&a, "carol", "AFTER", "3"]);
    sync(m, &[&a, "carol", "AFTER", "1"]);
    call_int(m, &["SEQ.ACK", &a, "dave", "0"]);
    call_int(m, &["SEQ.ACK", &a, "erin", "12"]);
    call_int(m, &["SEQ.FORGET", &a, "dave"]);
    call_int(m, &["SEQ.TRIM", &a, "MAXLEN", "2"]);
    alloc(m, &a, "m3", Some(b"retry"));
    alloc(m, &a, "m13", None);

    alloc_many(m, &b, "x", 3);
    call_int(m, &["SEQ.TRIM", &b, "MINSEQ", "2"]);
    sync(m, &[&b, "phone", "AFTER", "3"]);
    call_int(m, &["SEQ.TRIM", &b, "MAXAGE", "0"]);
    call_int(m, &["SEQ.TRIM", &b, "MINSEQ", "100"]);
    call_int(m, &["SEQ.FORGET", &b, "nobody"]);

    alloc_many(m, &c, "y", 7);
    call_int(m, &["SEQ.ACK", &c, "web", "7"]);
    call_int(m, &["SEQ.FORGET", &c, "web"]);
    sync(m, &[&c, "web", "COUNT", "1"]);

    // Nothing on missing keys.
    sync(m, &["nokey", "c", "AFTER", "0"]);
    call_int(m, &["SEQ.ACK", "nokey", "c", "0"]);
    call_int(m, &["SEQ.FORGET", "nokey", "c"]);
}

#[test]
fn replica_holds_identical_logs_and_cursors() {
    let (master, _mdir) = Server::start(&[
        "--seq.max-len",
        "5",
        "--seq.max-age-ms",
        "100000",
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let (replica, _rdir) = Server::start(&DEBUG);
    let mut m = connect_with_timeout(&master, 30);
    // Before the link: reaches the replica through the full-sync RDB.
    cursor_traffic(&mut m, "before");
    attach_replica(&master, &replica);
    // After the link: reaches it through the replication stream.
    cursor_traffic(&mut m, "after");
    let mut r = connect_with_timeout(&replica, 30);
    wait_replica_caught_up(&mut m, &mut r);

    let mut mkeys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut m).unwrap();
    let mut rkeys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut r).unwrap();
    mkeys.sort();
    rkeys.sort();
    assert_eq!(mkeys.len(), 6, "three logs per round, nothing created on missing keys: {mkeys:?}");
    assert_eq!(rkeys, mkeys, "replica keyspace");

    for key in &mkeys {
        let (md, rd) = (digest_value(&mut m, key.as_bytes()), digest_value(&mut r, key.as_bytes()));
        assert!(md.iter().any(|ch| *ch != b'0'), "DEBUG DIGEST-VALUE {key} is all zeros: no digest callback?");
        assert_eq!(rd, md, "DEBUG DIGEST-VALUE {key} differs on the replica");
        assert_eq!(snapshot(&mut r, key), snapshot(&mut m, key), "{key} differs on the replica");
    }
    // The master's retention applied, and the replica (without the configs) followed it.
    assert_eq!(field(&info_of(&mut r, "conv:{a}:after"), "length"), 3);
    assert_eq!(field(&info_of(&mut r, "inbox:{c}:after"), "length"), 5);
    assert_eq!(cursors(&mut r, "conv:{a}:after"), pairs(&[("alice", 9), ("bob", 8), ("carol", 3), ("erin", 12)]));
    assert_eq!(cursors(&mut r, "conv:{b}:after"), pairs(&[("phone", 3)]));
    assert_ne!(
        digest_value(&mut m, "conv:{a}:after".as_bytes()),
        digest_value(&mut m, "conv:{b}:after".as_bytes()),
        "digests tell logs apart"
    );
}
