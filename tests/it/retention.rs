//! Retention: SEQ.TRIM (MAXLEN / MINSEQ / MAXAGE), automatic retention through the
//! `seq.max-len` / `seq.max-age-ms` configs, and the de-duplication window, which outlives
//! trimmed entries and ends by the log's own timestamps.

use std::thread::sleep;
use std::time::Duration;

use crate::common::*;

/// A log of `n` entries with ids `m1..mn`; returns its entries.
fn log_of(con: &mut redis::Connection, key: &str, n: usize) -> Vec<Entry> {
    let seqs_got = alloc_many(con, key, "m", n);
    assert_eq!(seqs_got, (1..=n as i64).collect::<Vec<_>>(), "a new log numbers its entries 1..=n");
    let es = entries(con, key);
    assert_eq!(seqs(&es), seqs_got);
    es
}

/// Asserts SEQ.INFO's last/first/length/first-ts of `key`.
fn assert_shape(con: &mut redis::Connection, key: &str, last: i64, first: i64, length: i64, first_ts: i64) {
    let i = info_of(con, key);
    assert_eq!(
        (field(&i, "last"), field(&i, "first"), field(&i, "length"), field(&i, "first-ts")),
        (last, first, length, first_ts),
        "SEQ.INFO {key} (last, first, length, first-ts); full reply {i:?}"
    );
    assert_eq!(call_int(con, &["SEQ.LAST", key]), last, "SEQ.LAST {key}");
}

#[test]
fn trim_maxlen_keeps_the_newest_n_and_never_moves_last() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let es = log_of(&mut con, "conv:{a}", 10);

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{a}", "MAXLEN", "3"]), 7, "10 entries, MAXLEN 3 removes 7");
    assert_shape(&mut con, "conv:{a}", 10, 8, 3, es[7].ts);
    assert_eq!(entries(&mut con, "conv:{a}"), es[7..].to_vec(), "the newest three entries stay untouched");

    // Nothing more to remove: same or larger limits remove 0.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{a}", "MAXLEN", "3"]), 0);
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{a}", "maxlen", "50"]), 0, "options are case-insensitive");
    assert_shape(&mut con, "conv:{a}", 10, 8, 3, es[7].ts);

    // Trimming everything: first = last + 1, length 0, first-ts 0; the key (and last) stay.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{a}", "MAXLEN", "0"]), 3);
    assert_shape(&mut con, "conv:{a}", 10, 11, 0, 0);
    assert!(exists(&mut con, "conv:{a}"), "a fully trimmed log still exists (it remembers last)");
    assert!(entries(&mut con, "conv:{a}").is_empty());

    // The next append continues the numbering.
    assert_eq!(alloc(&mut con, "conv:{a}", "after-trim", None), 11);
    let i = info_of(&mut con, "conv:{a}");
    assert_eq!((field(&i, "first"), field(&i, "length"), field(&i, "last")), (11, 1, 11));
}

#[test]
fn trim_minseq_removes_lower_seqs_only() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let es = log_of(&mut con, "conv:{b}", 10);

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MINSEQ", "4"]), 3, "MINSEQ 4 removes seqs 1..=3");
    assert_shape(&mut con, "conv:{b}", 10, 4, 7, es[3].ts);
    assert_eq!(entries(&mut con, "conv:{b}"), es[3..].to_vec());

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MINSEQ", "4"]), 0);
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MinSeq", "2"]), 0, "a lower MINSEQ removes nothing");
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MINSEQ", "0"]), 0);
    assert_shape(&mut con, "conv:{b}", 10, 4, 7, es[3].ts);

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MINSEQ", "11"]), 7, "MINSEQ last+1 removes everything");
    assert_shape(&mut con, "conv:{b}", 10, 11, 0, 0);

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", "conv:{b}", "MINSEQ", "1000"]), 0);
    assert_shape(&mut con, "conv:{b}", 10, 11, 0, 0);
}

#[test]
fn trim_maxage_is_relative_to_the_newest_entry() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{age}";
    // Three groups of two entries, separated by real gaps of >= 120 ms.
    alloc(&mut con, key, "g1a", None);
    alloc(&mut con, key, "g1b", None);
    sleep(Duration::from_millis(120));
    alloc(&mut con, key, "g2a", None);
    alloc(&mut con, key, "g2b", None);
    sleep(Duration::from_millis(120));
    alloc(&mut con, key, "g3a", None);
    alloc(&mut con, key, "g3b", None);
    let es = entries(&mut con, key);
    assert_eq!(seqs(&es), vec![1, 2, 3, 4, 5, 6]);
    for w in es.windows(2) {
        assert!(w[0].ts <= w[1].ts, "ts never decreases within a log: {es:?}");
    }
    assert!(es[2].ts - es[1].ts >= 100 && es[4].ts - es[3].ts >= 100, "ts are server milliseconds: {es:?}");
    let newest = es[5].ts;

    // A large MAXAGE removes nothing.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "MAXAGE", "3600000"]), 0);

    // An age limit halfway between group 1's and group 2's ages removes group 1 only.
    let ms = ((newest - es[1].ts) + (newest - es[2].ts)) / 2;
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "MAXAGE", &ms.to_string()]), 2, "MAXAGE {ms} on {es:?}");
    assert_shape(&mut con, key, 6, 3, 4, es[2].ts);

    // Halfway between group 2 and group 3: group 2 goes.
    let ms = ((newest - es[3].ts) + (newest - es[4].ts)) / 2;
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "maxage", &ms.to_string()]), 2, "MAXAGE {ms} on {es:?}");
    assert_shape(&mut con, key, 6, 5, 2, es[4].ts);

    // MAXAGE 0: only entries strictly older than the newest go.
    let older = es[4..].iter().filter(|e| e.ts < newest).count() as i64;
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "MAXAGE", "0"]), older, "MAXAGE 0 on {:?}", &es[4..]);
    let left = entries(&mut con, key);
    assert!(!left.is_empty() && left.iter().all(|e| e.ts == newest), "the newest entry survives MAXAGE 0: {left:?}");
    assert_eq!(call_int(&mut con, &["SEQ.LAST", key]), 6);
}

#[test]
fn trim_on_a_missing_key_removes_nothing_and_creates_nothing() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    for mode in ["MAXLEN", "MINSEQ", "MAXAGE"] {
        assert_eq!(call_int(&mut con, &["SEQ.TRIM", "nokey", mode, "0"]), 0, "SEQ.TRIM nokey {mode} 0");
        assert!(!exists(&mut con, "nokey"), "SEQ.TRIM {mode} created the key");
    }
}

#[test]
fn trim_errors_change_nothing() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{err}";
    log_of(&mut con, key, 5);
    let before = snapshot(&mut con, key);

    for mode in ["MAXLEN", "MINSEQ", "MAXAGE"] {
        assert_err(&mut con, &["SEQ.TRIM", key, mode, "-1"], &["negative"]);
        assert_err(&mut con, &["SEQ.TRIM", key, mode, "abc"], &["not an integer"]);
        assert_err(&mut con, &["SEQ.TRIM", key, mode, "1.5"], &["not an integer"]);
        assert_err(&mut con, &["SEQ.TRIM", key, mode], &[]);
    }
    assert_err(&mut con, &["SEQ.TRIM", key, "MAXCOUNT", "1"], &["unknown"]);
    assert_err(&mut con, &["SEQ.TRIM", key, "1", "MAXLEN"], &[]);
    assert_err(&mut con, &["SEQ.TRIM", key], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.TRIM"], &["wrong number of arguments"]);
    assert_eq!(snapshot(&mut con, key), before, "a refused SEQ.TRIM changed the log");

    // Errors on a missing key create nothing; another type's key is WRONGTYPE.
    assert_err(&mut con, &["SEQ.TRIM", "nokey", "MAXLEN", "-1"], &["negative"]);
    assert!(!exists(&mut con, "nokey"));
    call(&mut con, &["SET", "plain", "v"]);
    let e = call_err(&mut con, &["SEQ.TRIM", "plain", "MAXLEN", "1"]);
    assert!(e.starts_with("WRONGTYPE "), "SEQ.TRIM on a string key: {e:?}");
}

#[test]
fn config_max_len_trims_on_append() {
    let (server, _dir) = Server::start(&["--seq.max-len", "3"]);
    let mut con = connect_with_timeout(&server, 10);
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("seq.max-len").query(&mut con).unwrap();
    assert_eq!(got, vec!["seq.max-len".to_string(), "3".to_string()]);

    let seqs_got = alloc_many(&mut con, "conv:{ml}", "m", 10);
    assert_eq!(seqs_got, (1..=10).collect::<Vec<_>>(), "retention never changes the numbering");
    let es = entries(&mut con, "conv:{ml}");
    assert_eq!(seqs(&es), vec![8, 9, 10], "seq.max-len 3 keeps the newest 3");
    assert_shape(&mut con, "conv:{ml}", 10, 8, 3, es[0].ts);

    // Raised at run time: the log grows back to the new limit, then is held there.
    call(&mut con, &["CONFIG", "SET", "seq.max-len", "5"]);
    alloc_many(&mut con, "conv:{ml}", "n", 4);
    let es = entries(&mut con, "conv:{ml}");
    assert_eq!(seqs(&es), vec![10, 11, 12, 13, 14]);
    assert_shape(&mut con, "conv:{ml}", 14, 10, 5, es[0].ts);

    // 0 is "no limit".
    call(&mut con, &["CONFIG", "SET", "seq.max-len", "0"]);
    alloc_many(&mut con, "conv:{ml}", "o", 4);
    assert_eq!(field(&info_of(&mut con, "conv:{ml}"), "length"), 9);

    // Automatic retention, like SEQ.TRIM, keeps the de-duplication answers of what it drops.
    call(&mut con, &["CONFIG", "SET", "seq.max-len", "1"]);
    assert_eq!(alloc(&mut con, "conv:{ml}", "p1", None), 19);
    assert_eq!(seqs(&entries(&mut con, "conv:{ml}")), vec![19]);
    assert_eq!(alloc(&mut con, "conv:{ml}", "m1", None), 1, "m1 was trimmed by retention but is still de-duplicated");
    assert_eq!(call_int(&mut con, &["SEQ.LAST", "conv:{ml}"]), 19);

    // Refused values.
    let e = call_err(&mut con, &["CONFIG", "SET", "seq.max-len", "-1"]);
    assert!(e.starts_with("ERR"), "CONFIG SET seq.max-len -1: {e:?}");
}

#[test]
fn config_max_age_drops_old_entries_on_append() {
    let (server, _dir) = Server::start(&["--seq.max-age-ms", "300"]);
    let mut con = connect_with_timeout(&server, 10);
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("seq.max-age-ms").query(&mut con).unwrap();
    assert_eq!(got, vec!["seq.max-age-ms".to_string(), "300".to_string()]);

    alloc_many(&mut con, "conv:{ma}", "old", 3);
    sleep(Duration::from_millis(400));
    assert_eq!(alloc(&mut con, "conv:{ma}", "new", None), 4);
    let es = entries(&mut con, "conv:{ma}");
    assert_eq!(seqs(&es), vec![4], "entries 400 ms older than the newest one are dropped at append");
    assert_shape(&mut con, "conv:{ma}", 4, 4, 1, es[0].ts);
    assert_eq!(alloc(&mut con, "conv:{ma}", "old2", None), 2, "a trimmed id within the window keeps its seq");

    // Set at run time on a server started without it.
    let (server2, _dir2) = Server::start(&[]);
    let mut con2 = connect_with_timeout(&server2, 10);
    alloc_many(&mut con2, "conv:{mb}", "old", 3);
    sleep(Duration::from_millis(400));
    alloc(&mut con2, "conv:{mb}", "mid", None);
    assert_eq!(field(&info_of(&mut con2, "conv:{mb}"), "length"), 4, "no age limit by default");
    call(&mut con2, &["CONFIG", "SET", "seq.max-age-ms", "300"]);
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("seq.max-age-ms").query(&mut con2).unwrap();
    assert_eq!(got[1], "300");
    assert_eq!(alloc(&mut con2, "conv:{mb}", "new", None), 5);
    let es = entries(&mut con2, "conv:{mb}");
    assert_eq!(seqs(&es), vec![4, 5], "the next append drops what is older than 300 ms: {es:?}");
    assert_shape(&mut con2, "conv:{mb}", 5, 4, 2, es[0].ts);
}

#[test]
fn dedup_survives_an_explicit_trim() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let key = "conv:{dd}";
    log_of(&mut con, key, 5);
    let dedup_before = field(&info_of(&mut con, key), "dedup-entries");
    assert_eq!(dedup_before, 5);

    assert_eq!(call_int(&mut con, &["SEQ.TRIM", key, "MINSEQ", "6"]), 5);
    let before = snapshot(&mut con, key);
    for (i, id) in ["m1", "m2", "m3", "m4", "m5"].iter().enumerate() {
        assert_eq!(alloc(&mut con, key, id, Some(b"retry")), i as i64 + 1, "retry of trimmed {id}");
    }
    assert_eq!(snapshot(&mut con, key), before, "a de-duplicated retry of a trimmed id changed the log");
    assert_eq!(field(&info_of(&mut con, key), "dedup-entries"), 5);
    assert_eq!(alloc(&mut con, key, "m6", None), 6, "a new id still appends");
}

#[test]
fn dedup_window_expires_by_the_logs_own_ts() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    call(&mut con, &["CONFIG", "SET", "seq.dedup-window-ms", "50"]);
    let key = "conv:{win}";
    assert_eq!(alloc(&mut con, key, "a", None), 1);
    assert_eq!(alloc(&mut con, key, "a", None), 1, "an immediate retry is de-duplicated");
    sleep(Duration::from_millis(120));
    assert_eq!(alloc(&mut con, key, "b", None), 2, "b advances the log's ts by >= 120 ms");
    assert_eq!(alloc(&mut con, key, "a", Some(b"late")), 3, "a's window (50 ms of log time) has ended: new seq");
    let es = entries(&mut con, key);
    assert_eq!(seqs(&es), vec![1, 2, 3]);
    assert_eq!((es[2].id_str(), es[2].payload.as_slice()), ("a".to_string(), &b"late"[..]));
    assert_eq!(alloc(&mut con, key, "a", None), 3, "the new seq is now what a retry of a gets");
}

#[test]
fn dedup_window_is_not_measured_by_the_wall_clock() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    call(&mut con, &["CONFIG", "SET", "seq.dedup-window-ms", "50"]);
    let key = "conv:{wall}";
    assert_eq!(alloc(&mut con, key, "a", None), 1);
    sleep(Duration::from_millis(120));
    // Nothing was appended since: by the log's own ts, a is still within its window.
    assert_eq!(alloc(&mut con, key, "a", None), 1, "the window is measured in log time, not wall-clock time");
    assert_eq!(call_int(&mut con, &["SEQ.LAST", key]), 1);
}
