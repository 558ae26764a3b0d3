//! `SEQ.SYNC ... BLOCK ms`: woken by an append to the key (also one that creates it),
//! timing out with `[last, []]`, not blocking inside MULTI or a script, many waiters on
//! one key, and blocked clients that disconnect. A waiter whose log is deleted, expired,
//! flushed or replaced while it waits is woken with an ERR saying so, never served the
//! seqs a new log under the key issues again from 1 (DEL, UNLINK, FLUSHALL, FLUSHDB ASYNC,
//! EXPIRE, eviction, SET, DEL + SEQ.ALLOC in MULTI, RESTORE REPLACE).
//!
//! The only timing assertions are generous bounds: a wake-up within 2 s, a timeout not
//! before ~100 ms.

use std::io::Write;
use std::net::TcpStream;
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};

use crate::common::*;
use redis::{Connection, Value};

/// Sends a (blocking) command on its own connection in a thread; the thread returns the
/// reply (or error text) and the instant it arrived.
fn spawn_call(server: &Server, args: Vec<String>) -> JoinHandle<(Result<Value, String>, Instant)> {
    let mut con = connect_with_timeout(server, 10);
    thread::spawn(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = try_call(&mut con, &refs);
        (r, Instant::now())
    })
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn block_0_is_woken_by_an_alloc_from_another_client() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{b1}";
    alloc_many(&mut con, key, "m", 2);

    let waiter = spawn_call(&server, args(&["SEQ.SYNC", key, "phone", "AFTER", "2", "BLOCK", "0"]));
    wait_blocked(&mut con, 1);
    assert_eq!(cursors(&mut con, key), vec![(b"phone".to_vec(), 2)], "AFTER is acknowledged before blocking");

    let t0 = Instant::now();
    assert_eq!(alloc(&mut con, key, "m3", Some(b"wake up")), 3);
    let (reply, t1) = waiter.join().expect("waiter thread");
    let delay = t1.saturating_duration_since(t0);
    eprintln!("SEQ.SYNC BLOCK 0 woke {delay:?} after the SEQ.ALLOC was sent");
    let reply = reply.unwrap_or_else(|e| panic!("blocked SEQ.SYNC failed: {e}"));
    assert!(delay < Duration::from_secs(2), "wake-up took {delay:?}");

    let (last, es) = sync_reply(&reply);
    assert_eq!(last, 3);
    assert_eq!(es, entries(&mut con, key)[2..].to_vec());
    assert_eq!((es[0].seq, es[0].id_str(), es[0].payload.clone()), (3, "m3".to_string(), b"wake up".to_vec()));
    assert_eq!(cursors(&mut con, key), vec![(b"phone".to_vec(), 2)], "the woken reply acknowledges nothing more");
    wait_blocked(&mut con, 0);
}

#[test]
fn block_times_out_with_last_and_no_entries() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{b2}";
    alloc_many(&mut con, key, "m", 2);

    let t0 = Instant::now();
    let (last, es) = sync(&mut con, &[key, "phone", "AFTER", "2", "BLOCK", "100"]);
    let waited = t0.elapsed();
    assert_eq!((last, es.len()), (2, 0), "a timed-out SEQ.SYNC replies [last, []]");
    assert!(waited >= Duration::from_millis(90), "BLOCK 100 returned after only {waited:?}");
    assert!(waited < Duration::from_secs(5), "BLOCK 100 returned after {waited:?}");
    assert_eq!(cursors(&mut con, key), vec![(b"phone".to_vec(), 2)]);

    // Same on a missing key: [0, []], and nothing is created.
    let t0 = Instant::now();
    let v = call(&mut con, &["SEQ.SYNC", "nokey", "phone", "block", "100"]);
    let waited = t0.elapsed();
    assert_eq!(v, Value::Array(vec![Value::Int(0), Value::Array(vec![])]));
    assert!(waited >= Duration::from_millis(90), "BLOCK 100 on a missing key returned after only {waited:?}");
    assert!(!exists(&mut con, "nokey"), "a timed-out SEQ.SYNC created the key");
    wait_blocked(&mut con, 0);
}

#[test]
fn block_returns_at_once_when_entries_are_there() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 5);
    let key = "inbox:{b3}";
    alloc_many(&mut con, key, "m", 3);
    let (last, es) = sync(&mut con, &[key, "phone", "AFTER", "1", "BLOCK", "0"]);
    assert_eq!((last, seqs(&es)), (3, vec![2, 3]));
    let (last, es) = sync(&mut con, &[key, "laptop", "BLOCK", "0", "COUNT", "1"]);
    assert_eq!((last, seqs(&es)), (3, vec![1]));
}

#[test]
fn block_on_a_missing_key_is_woken_when_alloc_creates_it() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "inbox:{new}";

    let waiter = spawn_call(&server, args(&["SEQ.SYNC", key, "phone", "BLOCK", "0"]));
    wait_blocked(&mut con, 1);
    assert!(!exists(&mut con, key), "a blocked SEQ.SYNC created the key");
    let t0 = Instant::now();
    assert_eq!(alloc(&mut con, key, "first", Some(b"hello")), 1);
    let (reply, t1) = waiter.join().expect("waiter thread");
    let reply = reply.unwrap_or_else(|e| panic!("blocked SEQ.SYNC failed: {e}"));
    assert!(t1.saturating_duration_since(t0) < Duration::from_secs(2));
    let (last, es) = sync_reply(&reply);
    assert_eq!(last, 1);
    assert_eq!(es, entries(&mut con, key));
    assert_eq!(es[0].id_str(), "first");
}

#[test]
fn ten_clients_blocked_on_one_key_are_all_woken_by_one_append() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{many}";
    alloc_many(&mut con, key, "m", 3);

    let waiters: Vec<_> = (0..10)
        .map(|i| {
            let consumer = format!("device-{i}");
            spawn_call(&server, args(&["SEQ.SYNC", key, &consumer, "AFTER", "3", "BLOCK", "0"]))
        })
        .collect();
    wait_blocked(&mut con, 10);

    let t0 = Instant::now();
    assert_eq!(alloc(&mut con, key, "m4", Some(b"to everyone")), 4);
    let expected = entries(&mut con, key)[3..].to_vec();
    for (i, w) in waiters.into_iter().enumerate() {
        let (reply, t1) = w.join().expect("waiter thread");
        let reply = reply.unwrap_or_else(|e| panic!("waiter {i}: blocked SEQ.SYNC failed: {e}"));
        assert_eq!(sync_reply(&reply), (4, expected.clone()), "waiter {i}");
        assert!(t1.saturating_duration_since(t0) < Duration::from_secs(2), "waiter {i} woke late");
    }
    wait_blocked(&mut con, 0);
    let cs = cursors(&mut con, key);
    assert_eq!(cs.len(), 10);
    assert!(cs.iter().all(|(_, c)| *c == 3), "{cs:?}");
}

#[test]
fn woken_reply_is_computed_at_wake_time() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{multi}";
    alloc_many(&mut con, key, "m", 2);

    let waiter = spawn_call(&server, args(&["SEQ.SYNC", key, "phone", "AFTER", "2", "COUNT", "2", "BLOCK", "0"]));
    wait_blocked(&mut con, 1);
    // Three appends in one transaction: the waiter sees them all (up to its COUNT).
    let got: Vec<i64> = redis::pipe()
        .atomic()
        .cmd("SEQ.ALLOC")
        .arg(key)
        .arg("n1")
        .cmd("SEQ.ALLOC")
        .arg(key)
        .arg("n2")
        .cmd("SEQ.ALLOC")
        .arg(key)
        .arg("n3")
        .query(&mut con)
        .expect("MULTI/EXEC of three SEQ.ALLOC");
    assert_eq!(got, vec![3, 4, 5]);
    let (reply, _) = waiter.join().expect("waiter thread");
    let reply = reply.unwrap_or_else(|e| panic!("blocked SEQ.SYNC failed: {e}"));
    let (last, es) = sync_reply(&reply);
    assert_eq!((last, seqs(&es)), (5, vec![3, 4]), "reply computed after the whole EXEC, from AFTER 2, COUNT 2");
}

#[test]
fn only_an_append_to_that_key_wakes_it() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{quiet}";
    alloc_many(&mut con, key, "m", 3);

    let waiter = spawn_call(&server, args(&["SEQ.SYNC", key, "phone", "AFTER", "3", "BLOCK", "0"]));
    wait_blocked(&mut con, 1);
    // None of these append to `key`.
    alloc(&mut con, "conv:{other}", "x1", None);
    assert_eq!(alloc(&mut con, key, "m3", None), 3, "a de-duplicated retry");
    call_int(&mut con, &["SEQ.TRIM", key, "MAXLEN", "1"]);
    call_int(&mut con, &["SEQ.ACK", key, "laptop", "3"]);
    sync(&mut con, &[key, "laptop"]);
    sleep(Duration::from_millis(300));
    assert_eq!(blocked_clients(&mut con), 1, "the waiter was released without an append to its key");
    assert!(!waiter.is_finished(), "the waiter replied without an append to its key");

    assert_eq!(alloc(&mut con, key, "m4", None), 4);
    let (reply, _) = waiter.join().expect("waiter thread");
    let reply = reply.unwrap_or_else(|e| panic!("blocked SEQ.SYNC failed: {e}"));
    let (last, es) = sync_reply(&reply);
    assert_eq!((last, seqs(&es)), (4, vec![4]));
}

#[test]
fn block_inside_multi_or_a_script_does_not_block() {
    let (server, _dir) = Server::start(&[]);
    // A 5 s read timeout turns "blocked the whole connection" into a failure, not a hang.
    let mut con = connect_with_timeout(&server, 5);
    let key = "conv:{tx}";
    alloc_many(&mut con, key, "m", 2);

    let t0 = Instant::now();
    let replies: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("SEQ.SYNC")
        .arg(key)
        .arg("phone")
        .arg("AFTER")
        .arg(2)
        .arg("BLOCK")
        .arg(0)
        .cmd("SEQ.SYNC")
        .arg("nokey")
        .arg("phone")
        .arg("BLOCK")
        .arg(0)
        .cmd("SEQ.SYNC")
        .arg(key)
        .arg("laptop")
        .arg("AFTER")
        .arg(1)
        .arg("BLOCK")
        .arg(0)
        .query(&mut con)
        .unwrap_or_else(|e| panic!("MULTI/EXEC with SEQ.SYNC BLOCK 0: {}", error_text(&e)));
    assert!(t0.elapsed() < Duration::from_secs(3), "EXEC blocked for {:?}", t0.elapsed());
    assert_eq!(replies.len(), 3);
    assert_eq!(sync_reply(&replies[0]), (2, vec![]));
    assert_eq!(sync_reply(&replies[1]), (0, vec![]));
    assert_eq!(seqs(&sync_reply(&replies[2]).1), vec![2]);
    assert!(!exists(&mut con, "nokey"));
    assert_eq!(cursors(&mut con, key), vec![(b"laptop".to_vec(), 1), (b"phone".to_vec(), 2)]);

    let script = "return redis.call('SEQ.SYNC', KEYS[1], ARGV[1], 'AFTER', ARGV[2], 'BLOCK', '0')";
    let t0 = Instant::now();
    let v = call(&mut con, &["EVAL", script, "1", key, "tablet", "2"]);
    assert!(t0.elapsed() < Duration::from_secs(3), "EVAL blocked for {:?}", t0.elapsed());
    assert_eq!(sync_reply(&v), (2, vec![]), "SEQ.SYNC BLOCK inside a script replies as without BLOCK");
    wait_blocked(&mut con, 0);
    assert_eq!(call(&mut con, &["PING"]), Value::SimpleString("PONG".into()));
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    out
}

fn assert_healthy_after_waiter_left(server: &Server, con: &mut Connection, key: &str) {
    wait_blocked(con, 0);
    let ok = wait_until(Duration::from_secs(5), || seq_stat(con, "seq_blocked_clients") == 0);
    assert!(ok, "INFO seq seq_blocked_clients stays {} after the waiter left", seq_stat(con, "seq_blocked_clients"));
    // Appending to the key the gone client waited on is safe, and the server still serves.
    let next = call_int(con, &["SEQ.LAST", key]) + 1;
    assert_eq!(alloc(con, key, format!("after-{next}"), None), next);
    assert_eq!(call(con, &["PING"]), Value::SimpleString("PONG".into()));
    let mut fresh = connect_with_timeout(server, 5);
    assert_eq!(call_int(&mut fresh, &["SEQ.LAST", key]), next);
}

/// A client blocked in `SEQ.SYNC key phone AFTER 2 BLOCK 0` on a thread; returns its
/// client id and the thread, once the server counts it as blocked.
fn spawn_waiter_after_2(
    server: &Server,
    con: &mut Connection,
    key: &'static str,
) -> (i64, thread::JoinHandle<Result<Value, String>>) {
    let mut blocker = connect_with_timeout(server, 10);
    let id = call_int(&mut blocker, &["CLIENT", "ID"]);
    let waiter = thread::spawn(move || try_call(&mut blocker, &["SEQ.SYNC", key, "phone", "AFTER", "2", "BLOCK", "0"]));
    wait_blocked(con, 1);
    (id, waiter)
}

#[test]
fn a_blocked_client_that_is_killed_leaves_nothing_behind() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{kill}";
    alloc_many(&mut con, key, "m", 2);

    let (id, waiter) = spawn_waiter_after_2(&server, &mut con, key);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 1);
    assert_eq!(call_int(&mut con, &["CLIENT", "KILL", "ID", &id.to_string()]), 1);
    let r = waiter.join().expect("waiter thread");
    assert!(r.is_err(), "a killed blocked client got a reply: {r:?}");
    assert_healthy_after_waiter_left(&server, &mut con, key);
}

#[test]
fn a_blocked_client_that_disconnects_leaves_nothing_behind() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);

    // On an existing key and on a missing one.
    for key in ["conv:{drop}", "conv:{drop-missing}"] {
        if key == "conv:{drop}" {
            alloc_many(&mut con, key, "m", 2);
        }
        let mut raw = TcpStream::connect(("127.0.0.1", server.port)).expect("raw connection");
        raw.write_all(&resp(&[
            "SEQ.SYNC",
            key,
            "phone",
            "BLOCK",
            "0",
            "AFTER",
            &call_int(&mut con, &["SEQ.LAST", key]).to_string(),
        ]))
        .expect("send SEQ.SYNC");
        wait_blocked(&mut con, 1);
        assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 1);
        drop(raw);
        assert_healthy_after_waiter_left(&server, &mut con, key);
    }
}

#[test]
fn block_errors() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 5);
    let key = "conv:{berr}";
    alloc_many(&mut con, key, "m", 2);
    let before = snapshot(&mut con, key);
    assert_err(&mut con, &["SEQ.SYNC", key, "phone", "BLOCK", "-1"], &["negative"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "phone", "AFTER", "1", "BLOCK", "-100"], &["negative"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "phone", "BLOCK", "soon"], &["not an integer"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "phone", "BLOCK", "1.5"], &["not an integer"]);
    assert_err(&mut con, &["SEQ.SYNC", key, "phone", "BLOCK"], &[]);
    assert_err(&mut con, &["SEQ.SYNC", "nokey", "phone", "BLOCK", "-1"], &["negative"]);
    assert_eq!(snapshot(&mut con, key), before, "a refused SEQ.SYNC BLOCK changed the log");
    assert!(!exists(&mut con, "nokey"));
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn blocked_syncs_replicate_their_acknowledgements() {
    let (master, _mdir) = Server::start(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let (replica, _rdir) = Server::start(&["--enable-debug-command", "yes"]);
    let mut m = connect_with_timeout(&master, 10);
    let key = "conv:{rep}";
    alloc_many(&mut m, key, "m", 3);
    crate::common::attach_replica(&master, &replica);

    // One waiter woken by an append, one that times out, one on a missing key.
    let woken = spawn_call(&master, args(&["SEQ.SYNC", key, "woken", "AFTER", "3", "BLOCK", "0"]));
    let timed = spawn_call(&master, args(&["SEQ.SYNC", key, "timed", "AFTER", "3", "BLOCK", "500"]));
    let fresh = spawn_call(&master, args(&["SEQ.SYNC", "conv:{rep-new}", "fresh", "BLOCK", "0"]));
    wait_blocked(&mut m, 3);
    let (r, _) = timed.join().expect("timed waiter");
    assert_eq!(sync_reply(&r.expect("timed-out SEQ.SYNC")), (3, vec![]));
    alloc(&mut m, key, "m4", None);
    alloc(&mut m, "conv:{rep-new}", "n1", None);
    let (r, _) = woken.join().expect("woken waiter");
    assert_eq!(seqs(&sync_reply(&r.expect("woken SEQ.SYNC")).1), vec![4]);
    let (r, _) = fresh.join().expect("fresh waiter");
    assert_eq!(seqs(&sync_reply(&r.expect("woken SEQ.SYNC on a new key")).1), vec![1]);

    let mut r = connect_with_timeout(&replica, 10);
    wait_replica_caught_up(&mut m, &mut r);
    for k in [key, "conv:{rep-new}"] {
        assert_eq!(snapshot(&mut r, k), snapshot(&mut m, k), "{k} differs on the replica");
        let dm = call(&mut m, &["DEBUG", "DIGEST-VALUE", k]);
        let dr = call(&mut r, &["DEBUG", "DIGEST-VALUE", k]);
        assert_eq!(dr, dm, "DEBUG DIGEST-VALUE {k}");
    }
    let cs = cursors(&mut r, key);
    assert!(cs.contains(&(b"woken".to_vec(), 3)) && cs.contains(&(b"timed".to_vec(), 3)), "replica cursors {cs:?}");
}

#[test]
fn client_unblock_ends_the_wait_like_a_timeout() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{unblock}";
    alloc_many(&mut con, key, "m", 2);
    let (id, waiter) = spawn_waiter_after_2(&server, &mut con, key);
    assert_eq!(call_int(&mut con, &["CLIENT", "UNBLOCK", &id.to_string()]), 1, "CLIENT UNBLOCK of a SEQ.SYNC waiter");
    let r = waiter.join().expect("waiter thread");
    assert_eq!(
        sync_reply(&r.expect("unblocked SEQ.SYNC")),
        (2, vec![]),
        "CLIENT UNBLOCK (TIMEOUT) replies as a timeout"
    );
    wait_blocked(&mut con, 0);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 0);
}

const RESET: &str = "deleted or replaced while waiting";

/// Blocks a SEQ.SYNC after the 10 entries of `key`, runs `reset` on another connection and
/// returns what the waiter got.
fn waiter_after_reset(extra: &[&str], key: &str, reset: impl FnOnce(&mut Connection)) -> Result<Value, String> {
    let (server, _dir) = start_seq(extra);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, key, "m", 10);
    let waiter = spawn_call(&server, args(&["SEQ.SYNC", key, "phone", "AFTER", "10", "BLOCK", "0"]));
    wait_blocked(&mut con, 1);
    reset(&mut con);
    let (reply, _) = waiter.join().expect("waiter thread");
    wait_blocked(&mut con, 0);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 0);
    reply
}

fn assert_reset_error(reply: Result<Value, String>, how: &str) {
    match reply {
        Err(text) => {
            assert!(
                text.starts_with("ERR ") && text.contains(RESET) && text.contains("restarts its seqs at 1"),
                "{how}: {text}"
            )
        }
        Ok(v) => panic!("{how}: a waiter whose log went away got {v:?}"),
    }
}

#[test]
fn a_waiter_is_told_when_its_log_is_deleted_flushed_or_expires() {
    assert_reset_error(
        waiter_after_reset(&[], "inbox:{r1}", |c| assert_eq!(call_int(c, &["DEL", "inbox:{r1}"]), 1)),
        "DEL",
    );
    assert_reset_error(
        waiter_after_reset(&[], "inbox:{r2}", |c| assert_eq!(call_int(c, &["UNLINK", "inbox:{r2}"]), 1)),
        "UNLINK",
    );
    assert_reset_error(waiter_after_reset(&[], "inbox:{r3}", |c| drop(call(c, &["FLUSHALL"]))), "FLUSHALL");
    assert_reset_error(
        waiter_after_reset(&[], "inbox:{r4}", |c| drop(call(c, &["FLUSHDB", "ASYNC"]))),
        "FLUSHDB ASYNC",
    );
    assert_reset_error(
        waiter_after_reset(&[], "inbox:{r5}", |c| assert_eq!(call_int(c, &["PEXPIRE", "inbox:{r5}", "50"]), 1)),
        "EXPIRE",
    );
}

#[test]
fn a_waiter_is_told_when_its_log_is_replaced() {
    assert_reset_error(waiter_after_reset(&[], "inbox:{p1}", |c| drop(call(c, &["SET", "inbox:{p1}", "text"]))), "SET");
    // A new log in its place (DEL + SEQ.ALLOC in one transaction) issues seq 1 again.
    let recreate = |c: &mut Connection| {
        let _: () = redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg("inbox:{p2}")
            .ignore()
            .cmd("SEQ.ALLOC")
            .arg("inbox:{p2}")
            .arg("other")
            .ignore()
            .query(c)
            .expect("MULTI DEL + SEQ.ALLOC");
    };
    assert_reset_error(waiter_after_reset(&[], "inbox:{p2}", recreate), "DEL + SEQ.ALLOC in MULTI");
    let restore = |c: &mut Connection| {
        alloc(c, "inbox:{other}", "x", None);
        let dump: Vec<u8> = redis::cmd("DUMP").arg("inbox:{other}").query(c).expect("DUMP");
        let _: () = redis::cmd("RESTORE").arg("inbox:{p3}").arg(0).arg(dump).arg("REPLACE").query(c).expect("RESTORE");
    };
    assert_reset_error(waiter_after_reset(&[], "inbox:{p3}", restore), "RESTORE REPLACE");
}

#[test]
fn a_ttl_or_a_write_to_another_key_does_not_end_the_wait() {
    let reply = waiter_after_reset(&[], "inbox:{k1}", |c| {
        assert_eq!(call_int(c, &["EXPIRE", "inbox:{k1}", "1000"]), 1);
        drop(call(c, &["SET", "unrelated", "x"]));
        assert_eq!(call_int(c, &["DEL", "unrelated"]), 1);
        assert_eq!(alloc(c, "inbox:{k1}", "m11", None), 11);
    });
    let (last_seq, page) = sync_reply(&reply.expect("the waiter is served"));
    assert_eq!((last_seq, seqs(&page)), (11, vec![11]));
}

#[test]
fn a_waiter_is_told_when_its_log_is_evicted() {
    let evict = |c: &mut Connection| {
        let used: i64 = info_field(c, "memory", "used_memory").and_then(|v| v.parse().ok()).expect("used_memory");
        config_set(c, "maxmemory", &(used + 4 * 1024 * 1024).to_string());
        // The log is the least recently used key: filling memory evicts it (EXISTS does not
        // touch it).
        let filler = vec![b'f'; 64 * 1024];
        for i in 0..2000 {
            let _: () = redis::cmd("SET").arg(format!("filler-{i}")).arg(&filler).query(c).expect("SET");
            if call_int(c, &["EXISTS", "inbox:{ev}"]) == 0 {
                return;
            }
        }
        panic!("the log was never evicted");
    };
    let reply = waiter_after_reset(&["--maxmemory-policy", "allkeys-lru"], "inbox:{ev}", evict);
    assert_reset_error(reply, "eviction");
}
