//! The message lifecycle against a real server (COMMANDS.md, "The message lifecycle"):
//! SEQ.EDIT, SEQ.DEL, SEQ.CHANGES with its RESYNC error, SEQ.LOOKUP, the `rev` and
//! `deleted` fields of SEQ.INFO, the `seq.edit`/`seq.del` notifications, and every new
//! state surviving DEBUG RELOAD, SAVE + restart, AOF (rewritten with and without the RDB
//! preamble, and replayed), DUMP/RESTORE, COPY and a replica.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::*;
use redis::{Connection, Value};

const KEY: &str = "conv:{life}";

/// A log of `n` entries with ids `m1..` and payloads `payload-m1..`.
fn log_of(con: &mut Connection, key: &str, n: usize) -> Vec<Entry> {
    alloc_many(con, key, "m", n);
    entries(con, key)
}

fn info_field(con: &mut Connection, key: &str, name: &str) -> i64 {
    field(&info_of(con, key), name)
}

fn seqs_of(con: &mut Connection, key: &str) -> Vec<i64> {
    seqs(&entries(con, key))
}

fn entry_at(es: &[Entry], seq: i64) -> Entry {
    es.iter().find(|e| e.seq == seq).cloned().unwrap_or_else(|| panic!("no entry {seq} in {es:?}"))
}

fn deletion(rev: i64, seq: i64) -> Change {
    Change { rev, seq, entry: None }
}

fn edited(rev: i64, entry: Entry) -> Change {
    Change { rev, seq: entry.seq, entry: Some(entry) }
}

#[test]
fn edit_replaces_the_payload_and_replies_the_rev() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let before = log_of(&mut con, KEY, 5);
    assert_eq!(info_field(&mut con, KEY, "rev"), 0, "a new log's rev");

    assert_eq!(edit(&mut con, KEY, 2, b"edited"), 1);
    let after = entries(&mut con, KEY);
    let mut want = before.clone();
    want[1].payload = b"edited".to_vec();
    assert_eq!(after, want, "only the payload of seq 2 changed (seq, id and ts stay)");
    assert_eq!(edit(&mut con, KEY, 2, b"edited"), 1, "the same payload again changes nothing");
    assert_eq!(edit(&mut con, KEY, 2, b""), 2, "an empty payload is a payload");
    assert_eq!(edit(&mut con, KEY, 5, b"\x00\xff binary"), 3);
    assert_eq!(entry_at(&entries(&mut con, KEY), 5).payload, b"\x00\xff binary".to_vec());
    let info = info_of(&mut con, KEY);
    assert_eq!((info["rev"], info["last"], info["length"], info["deleted"]), (3, 5, 5, 0), "{info:?}");
    assert_eq!(alloc(&mut con, KEY, b"m6", None), 6, "numbering goes on at last + 1");
}

#[test]
fn edit_refuses_every_seq_that_is_not_a_retained_entry_and_changes_nothing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 6);
    call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "3"]);
    del(&mut con, KEY, &[4]);
    let before = (info_of(&mut con, KEY), entries(&mut con, KEY));
    for (seq, why) in
        [("1", "trimmed"), ("2", "trimmed"), ("4", "deleted"), ("7", "beyond last"), ("0", "never issued")]
    {
        let e = assert_err(&mut con, &["SEQ.EDIT", KEY, seq, "x"], &["no entry", seq]);
        assert!(!e.contains('\n'), "{why}: {e}");
    }
    assert_err(&mut con, &["SEQ.EDIT", "conv:{missing}", "1", "x"], &["no entry", "1"]);
    assert!(!exists(&mut con, "conv:{missing}"), "a refused edit created the key");
    assert_err(&mut con, &["SEQ.EDIT", KEY, "-1", "x"], &["seq", "negative"]);
    assert_err(&mut con, &["SEQ.EDIT", KEY, "three", "x"], &["seq", "integer"]);
    assert_err(&mut con, &["SEQ.EDIT", KEY, "3"], &["wrong number of arguments"]);
    assert_err(&mut con, &["SEQ.EDIT", KEY, "3", "x", "y"], &["wrong number of arguments"]);
    config_set(&mut con, "seq.max-payload-bytes", "4");
    assert_err(&mut con, &["SEQ.EDIT", KEY, "3", "12345"], &["payload", "seq.max-payload-bytes"]);
    assert_eq!(call_int(&mut con, &["SEQ.EDIT", KEY, "3", "1234"]), 2, "a payload at the limit is accepted");
    let mut want = before.1.clone();
    want[0].payload = b"1234".to_vec();
    assert_eq!(entries(&mut con, KEY), want);
    assert_eq!(info_field(&mut con, KEY, "rev"), 2, "only the accepted edit counted");
    call(&mut con, &["SET", "plain", "x"]);
    let e = call_err(&mut con, &["SEQ.EDIT", "plain", "1", "x"]);
    assert!(e.starts_with("WRONGTYPE"), "{e}");
}

#[test]
fn del_deletes_retained_entries_ascending_one_rev_each() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let es = log_of(&mut con, KEY, 10);
    assert_eq!(del(&mut con, KEY, &[7, 3, 3, 99, 0]), 2, "a seq given twice counts once; others are ignored");
    assert_eq!(del(&mut con, KEY, &[3]), 0, "an already deleted seq is ignored");
    assert_eq!(seqs_of(&mut con, KEY), vec![1, 2, 4, 5, 6, 8, 9, 10]);
    let (rev, list) = changes(&mut con, KEY, 0, None).unwrap();
    assert_eq!((rev, list), (2, vec![deletion(1, 3), deletion(2, 7)]), "revs are given in ascending seq order");
    let info = info_of(&mut con, KEY);
    assert_eq!((info["length"], info["deleted"], info["rev"], info["last"]), (8, 2, 2, 10), "{info:?}");
    assert_eq!(range(&mut con, KEY, "3", "7", None).len(), 3, "SEQ.RANGE skips deleted entries");
    assert_eq!(seqs(&revrange(&mut con, KEY, "8", "2", Some(3))), vec![8, 6, 5]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", KEY, "dev"]), 8, "SEQ.UNREAD counts no deleted entry");
    call_int(&mut con, &["SEQ.ACK", KEY, "dev", "5"]);
    assert_eq!(call_int(&mut con, &["SEQ.UNREAD", KEY, "dev"]), 4);
    let (_, page) = sync(&mut con, &[KEY, "dev", "COUNT", "2"]);
    assert_eq!(seqs(&page), vec![6, 8], "SEQ.SYNC skips deleted entries");
    assert_eq!(entry_at(&entries(&mut con, KEY), 8), es[7], "other entries are untouched");

    // MINSEQ trims deleted entries too, but counts only the others.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "5"]), 3, "seqs 1, 2, 4 (3 was deleted)");
    assert_eq!(info_field(&mut con, KEY, "deleted"), 1);

    // Refusals change nothing: one bad argument refuses the whole call.
    let before = (info_of(&mut con, KEY), entries(&mut con, KEY));
    assert_err(&mut con, &["SEQ.DEL", KEY, "5", "x"], &["seq", "integer"]);
    assert_err(&mut con, &["SEQ.DEL", KEY, "5", "-6"], &["seq", "negative"]);
    assert_err(&mut con, &["SEQ.DEL", KEY, "5", "1.5"], &["seq", "integer"]);
    assert_err(&mut con, &["SEQ.DEL", KEY], &["wrong number of arguments"]);
    assert_eq!((info_of(&mut con, KEY), entries(&mut con, KEY)), before, "a refused SEQ.DEL changed the log");
    assert_eq!(call_int(&mut con, &["SEQ.DEL", "conv:{missing}", "1", "2"]), 0, "missing key");
    assert!(!exists(&mut con, "conv:{missing}"), "SEQ.DEL created a key");
    call(&mut con, &["SET", "plain", "x"]);
    assert!(call_err(&mut con, &["SEQ.DEL", "plain", "1"]).starts_with("WRONGTYPE"));
}

#[test]
fn deleting_the_first_and_last_entries_moves_first_and_the_timestamps_but_not_last() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let mut es = Vec::new();
    for i in 1..=4 {
        alloc(&mut con, KEY, format!("m{i}").as_bytes(), None);
        std::thread::sleep(Duration::from_millis(3));
    }
    es.extend(entries(&mut con, KEY));
    assert_eq!(del(&mut con, KEY, &[1]), 1);
    let info = info_of(&mut con, KEY);
    assert_eq!((info["first"], info["first-ts"], info["last-ts"]), (2, es[1].ts, es[3].ts), "{info:?}");
    assert_eq!(del(&mut con, KEY, &[2, 4]), 2);
    let info = info_of(&mut con, KEY);
    assert_eq!(
        (info["first"], info["first-ts"], info["last-ts"], info["last"], info["length"]),
        (3, es[2].ts, es[2].ts, 4, 1),
        "{info:?}"
    );
    assert_eq!(del(&mut con, KEY, &[3]), 1);
    let info = info_of(&mut con, KEY);
    assert_eq!(
        (info["first"], info["first-ts"], info["last-ts"], info["last"], info["length"], info["deleted"]),
        (5, 0, 0, 4, 0, 4),
        "every entry deleted: first is last + 1: {info:?}"
    );
    assert_eq!(entries(&mut con, KEY), vec![]);
    assert_eq!(alloc(&mut con, KEY, b"m5", None), 5);
    assert_eq!(info_field(&mut con, KEY, "first"), 5);
}

#[test]
fn maxlen_keeps_the_newest_entries_that_are_not_deleted() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 10);
    del(&mut con, KEY, &[8, 9]);
    // The newest 3 not deleted are 10, 7, 6: everything below 6 goes.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", KEY, "MAXLEN", "3"]), 5);
    assert_eq!(seqs_of(&mut con, KEY), vec![6, 7, 10]);
    assert_eq!(info_field(&mut con, KEY, "deleted"), 2);
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", KEY, "MAXLEN", "1"]), 2, "6 and 7; deleted 8, 9 go uncounted");
    let info = info_of(&mut con, KEY);
    assert_eq!((info["first"], info["length"], info["deleted"]), (10, 1, 0), "{info:?}");

    // seq.max-len on append counts the same way.
    log_of(&mut con, "conv:{auto}", 6);
    del(&mut con, "conv:{auto}", &[5, 6]);
    config_set(&mut con, "seq.max-len", "3");
    assert_eq!(alloc(&mut con, "conv:{auto}", b"n7", None), 7);
    assert_eq!(seqs_of(&mut con, "conv:{auto}"), vec![3, 4, 7]);
    assert_eq!(info_field(&mut con, "conv:{auto}", "deleted"), 2);
}

#[test]
fn a_retried_alloc_of_a_deleted_id_returns_its_seq_and_nothing_reappears() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 3);
    del(&mut con, KEY, &[2]);
    let before = (info_of(&mut con, KEY), entries(&mut con, KEY));
    assert_eq!(alloc(&mut con, KEY, b"m2", Some(b"the retry")), 2);
    assert_eq!((info_of(&mut con, KEY), entries(&mut con, KEY)), before, "the retry changed the log");
    assert_eq!(lookup(&mut con, KEY, "m2"), Some(2));
    assert_eq!(alloc(&mut con, KEY, b"m4", None), 4);
}

#[test]
fn changes_lists_each_seq_once_at_its_latest_change() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 6);
    assert_eq!(edit(&mut con, KEY, 2, b"a"), 1);
    assert_eq!(edit(&mut con, KEY, 3, b"b"), 2);
    assert_eq!(edit(&mut con, KEY, 2, b"c"), 3);
    assert_eq!(del(&mut con, KEY, &[3]), 1);
    assert_eq!(edit(&mut con, KEY, 5, b"d"), 5);
    let es = entries(&mut con, KEY);
    let all = vec![edited(3, entry_at(&es, 2)), deletion(4, 3), edited(5, entry_at(&es, 5))];
    assert_eq!(changes(&mut con, KEY, 0, None).unwrap(), (5, all.clone()), "a seq edited then deleted is listed once");
    assert_eq!(changes(&mut con, KEY, 3, None).unwrap(), (5, all[1..].to_vec()));
    assert_eq!(changes(&mut con, KEY, 5, None).unwrap(), (5, vec![]));
    assert_eq!(changes(&mut con, KEY, 1000, None).unwrap(), (5, vec![]), "since-rev beyond rev");
    // Page by page: ask again from the last change-rev seen, missing nothing.
    let mut since = 0;
    let mut seen = Vec::new();
    loop {
        let (rev, page) = changes(&mut con, KEY, since, Some(1)).unwrap();
        assert_eq!(rev, 5);
        let Some(last) = page.last() else { break };
        assert_eq!(page.len(), 1, "COUNT 1");
        since = last.rev;
        seen.extend(page);
    }
    assert_eq!(seen, all);
    // The reply's shape, raw: [rev, [[change-rev, seq, [seq, id, ts, payload]], [change-rev, seq, nil]]].
    let raw = call(&mut con, &["SEQ.CHANGES", KEY, "3", "COUNT", "1"]);
    assert_eq!(
        raw,
        Value::Array(vec![
            Value::Int(5),
            Value::Array(vec![Value::Array(vec![Value::Int(4), Value::Int(3), Value::Nil])])
        ])
    );
    assert_eq!(changes(&mut con, "conv:{missing}", 0, None).unwrap(), (0, vec![]), "missing key");
    assert!(!exists(&mut con, "conv:{missing}"));
    // The default COUNT is 100.
    log_of(&mut con, "conv:{many}", 150);
    del(&mut con, "conv:{many}", &(1..=150).collect::<Vec<_>>());
    let (rev, page) = changes(&mut con, "conv:{many}", 0, None).unwrap();
    assert_eq!((rev, page.len(), page[99].rev), (150, 100, 100));
    assert_eq!(changes(&mut con, "conv:{many}", 100, Some(1000)).unwrap().1.len(), 50);

    assert_err(&mut con, &["SEQ.CHANGES", KEY, "-1"], &["since-rev", "negative"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY, "x"], &["since-rev", "integer"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY, "0", "COUNT", "0"], &["COUNT"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY, "0", "COUNT", "-1"], &["COUNT", "negative"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY, "0", "COUNT"], &["COUNT"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY, "0", "LIMIT", "1"], &["unknown option", "LIMIT"]);
    assert_err(&mut con, &["SEQ.CHANGES", KEY], &["wrong number of arguments"]);
    call(&mut con, &["SET", "plain", "x"]);
    assert!(call_err(&mut con, &["SEQ.CHANGES", "plain", "0"]).starts_with("WRONGTYPE"));
}

#[test]
fn resync_appears_exactly_when_a_dropped_change_is_newer_than_since_rev() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 10);
    edit(&mut con, KEY, 8, b"rev 1");
    edit(&mut con, KEY, 2, b"rev 2");
    del(&mut con, KEY, &[3]);
    edit(&mut con, KEY, 9, b"rev 4");
    let resync = |r: i64| format!("RESYNC changes up to rev {r} are no longer kept");

    // Trimming seqs 1..=3 drops the changes at revs 2 and 3.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "4"]), 2);
    assert_eq!(info_field(&mut con, KEY, "rev"), 4, "a trim changes no rev");
    for since in 0..3 {
        assert_eq!(changes(&mut con, KEY, since, None), Err(resync(3)), "since-rev {since}");
    }
    let es = entries(&mut con, KEY);
    assert_eq!(changes(&mut con, KEY, 3, None), Ok((4, vec![edited(4, entry_at(&es, 9))])));
    // The RESYNC reply is an error whose code is RESYNC (not ERR).
    let e = redis::cmd("SEQ.CHANGES").arg(KEY).arg(0).query::<Value>(&mut con).unwrap_err();
    assert_eq!(e.code(), Some("RESYNC"), "{e:?}");

    // Dropping the change at rev 1 (older than every since-rev still accepted) changes nothing.
    assert_eq!(call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "9"]), 5);
    assert_eq!(changes(&mut con, KEY, 3, None), Ok((4, vec![edited(4, entry_at(&es, 9))])));
    assert_eq!(changes(&mut con, KEY, 2, None), Err(resync(3)));
    // Dropping rev 4 moves the floor to 4.
    config_set(&mut con, "seq.max-len", "1");
    assert_eq!(alloc(&mut con, KEY, b"m11", None), 11, "retention trims 9 and 10");
    assert_eq!(changes(&mut con, KEY, 3, None), Err(resync(4)));
    assert_eq!(changes(&mut con, KEY, 4, None), Ok((4, vec![])));
    // A trim that drops no change moves nothing.
    assert_eq!(edit(&mut con, KEY, 11, b"rev 5"), 5);
    assert_eq!(alloc(&mut con, KEY, b"m12", None), 12);
    assert_eq!(changes(&mut con, KEY, 4, None), Err(resync(5)), "seq 11 was trimmed with its change");
    assert_eq!(info_field(&mut con, KEY, "deleted"), 0);
}

#[test]
fn lookup_answers_the_seq_alloc_would_return_without_writing() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 5);
    call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "3"]);
    del(&mut con, KEY, &[4]);
    let before = info_of(&mut con, KEY);
    assert_eq!(lookup(&mut con, KEY, "m5"), Some(5));
    assert_eq!(lookup(&mut con, KEY, "m1"), Some(1), "a trimmed entry inside the window");
    assert_eq!(lookup(&mut con, KEY, "m4"), Some(4), "a deleted entry inside the window");
    assert_eq!(lookup(&mut con, KEY, "m9"), None);
    assert_eq!(lookup(&mut con, KEY, b"\x00\xff"), None);
    assert_eq!(info_of(&mut con, KEY), before, "SEQ.LOOKUP wrote something");
    assert_eq!(lookup(&mut con, "conv:{missing}", "m1"), None);
    assert!(!exists(&mut con, "conv:{missing}"));
    // Outside the window: nil, exactly when SEQ.ALLOC would append.
    config_set(&mut con, "seq.dedup-window-ms", "1");
    std::thread::sleep(Duration::from_millis(5));
    alloc(&mut con, KEY, b"m6", None);
    assert_eq!(lookup(&mut con, KEY, "m5"), None);
    assert_eq!(alloc(&mut con, KEY, b"m5", None), 7);
    assert_eq!(lookup(&mut con, KEY, "m5"), Some(7));
    assert_err(&mut con, &["SEQ.LOOKUP", KEY], &["wrong number of arguments"]);
    call(&mut con, &["SET", "plain", "x"]);
    assert!(call_err(&mut con, &["SEQ.LOOKUP", "plain", "m1"]).starts_with("WRONGTYPE"));
}

#[test]
fn edit_and_del_raise_their_keyspace_notifications() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 3);
    config_set(&mut con, "notify-keyspace-events", "Ed");
    let mut sub = server.connect();
    let mut ps = psubscribe(&mut sub, "__keyevent@0__:*");
    let event = |name: &str| (format!("__keyevent@0__:{name}"), KEY.as_bytes().to_vec());

    edit(&mut con, KEY, 1, b"new");
    assert_eq!(read_messages(&mut ps, 1), vec![event("seq.edit")]);
    // No change, no event: a same-payload edit, a refused edit, a DEL that deletes nothing.
    edit(&mut con, KEY, 1, b"new");
    call_err(&mut con, &["SEQ.EDIT", KEY, "9", "x"]);
    del(&mut con, KEY, &[7]);
    del(&mut con, KEY, &[2, 3]);
    assert_eq!(read_messages(&mut ps, 1), vec![event("seq.del")], "one seq.del for one call");
    assert_eq!(read_messages(&mut ps, 1), vec![], "no stray notification");
}

// ---- every new state persists and replicates ----

/// Logs whose lifecycle state covers everything: edits (one edited twice), deletions of
/// the first, a middle and the last entry, a seq edited then deleted, a trimmed change (a
/// RESYNC floor), a fully deleted log, a log over many chunks. `round` 1 adds more changes.
fn lifecycle_workload(con: &mut Connection, round: u32) {
    if round == 0 {
        log_of(con, "life:{a}", 40);
        log_of(con, "life:{t}", 20);
        log_of(con, "life:{e}", 3);
        alloc_many(con, "life:{big}", "b", 1500);
        log_of(con, "life:{plain}", 5);
        call(con, &["SET", "plain:string", "x"]);
        call_int(con, &["SEQ.ACK", "life:{a}", "dev", "10"]);
    }
    let r = round as i64;
    let payload = |what: &str| format!("{what} in round {round}").into_bytes();
    edit(con, "life:{a}", 5 + r, &payload("edit"));
    edit(con, "life:{a}", 6 + r, &payload("edit"));
    edit(con, "life:{a}", 5 + r, &payload("second edit"));
    edit(con, "life:{a}", 12 + r, &payload("edit before deletion"));
    del(con, "life:{a}", &[1 + r, 12 + r, 20 + r, 40 - r]);
    // Round 0 trims its changes of seqs 3 and 4, round 1 those of 8 and 9.
    let base = 5 * r;
    edit(con, "life:{t}", 3 + base, &payload("edit to be trimmed"));
    del(con, "life:{t}", &[4 + base, 15 + r]);
    edit(con, "life:{t}", 16 + 2 * r, &payload("edit"));
    call_int(con, &["SEQ.TRIM", "life:{t}", "MINSEQ", &(6 + base).to_string()]);
    del(con, "life:{e}", &[1, 2, 3]);
    let spread: Vec<i64> = (0..15).map(|i| i * 100 + 7 + r).collect();
    for &seq in &spread {
        edit(con, "life:{big}", seq + 50, &payload("big edit"));
    }
    del(con, "life:{big}", &spread);
}

/// A lifecycle state's sanity: the workload made what it claims.
fn lifecycle_sanity(con: &mut Connection) {
    let t = info_of(con, "life:{t}");
    assert!(t["rev"] > 0 && t["deleted"] > 0, "life:{{t}}: {t:?}");
    assert!(changes(con, "life:{t}", 0, None).unwrap_err().starts_with("RESYNC"), "life:{{t}} has a RESYNC floor");
    assert_eq!(info_field(con, "life:{e}", "length"), 0);
    assert!(info_field(con, "life:{big}", "deleted") >= 15);
}

/// Every log's SEQ.CHANGES from each since-rev 0..=rev (reply or error text), and the
/// SEQ.LOOKUP answers for `ids`.
type Answers = BTreeMap<Vec<u8>, (Vec<Result<(i64, Vec<Change>), String>>, Vec<Option<i64>>)>;

fn lifecycle_answers(con: &mut Connection) -> Answers {
    let ids: Vec<String> = (1..=45).map(|i| format!("m{i}")).chain((1..=20).map(|i| format!("b{i}"))).collect();
    let mut out = Answers::new();
    for key in all_keys(con) {
        if key_type(con, &key) == "string" {
            continue;
        }
        let rev = field(&info_of(con, &key), "rev");
        let listed = (0..=rev).map(|since| changes(con, &key, since, Some(1000))).collect();
        let found = ids.iter().map(|id| lookup(con, &key, id)).collect();
        out.insert(key, (listed, found));
    }
    out
}

/// The whole observable state: every log's SEQ.INFO, entries and digest, DEBUG DIGEST,
/// and every SEQ.CHANGES / SEQ.LOOKUP answer.
fn full_state(con: &mut Connection) -> (DbState, Answers) {
    (db_state(con), lifecycle_answers(con))
}

fn assert_same_state(before: &(DbState, Answers), after: &(DbState, Answers), what: &str) {
    assert_same_db(&before.0, &after.0, what);
    for (key, answers) in &before.1 {
        assert_eq!(Some(answers), after.1.get(key), "{what}: SEQ.CHANGES/SEQ.LOOKUP of {}", show_bytes(key));
    }
    assert_eq!(before.1.len(), after.1.len(), "{what}: logs");
}

/// After a round trip the logs keep working alike: retried ids of deleted entries return
/// their seqs without reappearing; one more edit and deletion give the next revs.
fn keeps_working(con: &mut Connection, what: &str) {
    let before = entries(con, "life:{a}");
    assert_eq!(alloc(con, "life:{a}", b"m1", Some(b"retry")), 1, "{what}");
    assert_eq!(alloc(con, "life:{a}", b"m20", Some(b"retry")), 20, "{what}");
    assert_eq!(entries(con, "life:{a}"), before, "{what}: a retry brought an entry back");
    let rev = info_field(con, "life:{a}", "rev");
    assert_eq!(edit(con, "life:{a}", 30, b"after the round trip"), rev + 1, "{what}");
    assert_eq!(del(con, "life:{a}", &[31]), 1, "{what}");
    assert_eq!(info_field(con, "life:{a}", "rev"), rev + 2, "{what}");
}

#[test]
fn debug_reload_keeps_the_lifecycle() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    lifecycle_workload(&mut con, 0);
    lifecycle_sanity(&mut con);
    let before = full_state(&mut con);
    call(&mut con, &["DEBUG", "RELOAD"]);
    assert_same_state(&before, &full_state(&mut con), "DEBUG RELOAD");
    keeps_working(&mut con, "DEBUG RELOAD");
}

#[test]
fn save_and_restart_keeps_the_lifecycle() {
    let (mut server, _dir) = start_seq(&["--dbfilename", "dump.rdb"]);
    let mut con = server.connect();
    lifecycle_workload(&mut con, 0);
    let before = full_state(&mut con);
    call(&mut con, &["SAVE"]);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_state(&before, &full_state(&mut con), "SAVE + restart");
    keeps_working(&mut con, "SAVE + restart");
}

fn aof_keeps_the_lifecycle(preamble: &str) {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
    let mut con = server.connect();
    lifecycle_workload(&mut con, 0);
    rewrite_aof(&mut con);
    // More changes after the rewrite land in the incremental file, as EDIT/DEL effects.
    lifecycle_workload(&mut con, 1);
    lifecycle_sanity(&mut con);
    let before = full_state(&mut con);
    drop(con);
    server.restart();
    let mut con = server.connect();
    let what = format!("BGREWRITEAOF (aof-use-rdb-preamble {preamble}) + restart");
    assert_same_state(&before, &full_state(&mut con), &what);
    // And a rewrite of the replayed state, replayed again.
    rewrite_aof(&mut con);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_state(&before, &full_state(&mut con), &format!("{what}, rewritten again"));
    keeps_working(&mut con, &what);
}

#[test]
fn aof_rewritten_with_rdb_preamble_keeps_the_lifecycle() {
    aof_keeps_the_lifecycle("yes");
}

#[test]
fn aof_rewritten_without_rdb_preamble_keeps_the_lifecycle() {
    aof_keeps_the_lifecycle("no");
}

#[test]
fn plain_aof_replay_keeps_the_lifecycle() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes"]);
    let mut con = server.connect();
    lifecycle_workload(&mut con, 0);
    lifecycle_workload(&mut con, 1);
    let before = full_state(&mut con);
    drop(con);
    server.restart();
    let mut con = server.connect();
    assert_same_state(&before, &full_state(&mut con), "AOF replay");
}

#[test]
fn dump_restore_and_copy_keep_the_lifecycle() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    lifecycle_workload(&mut con, 0);
    let before = full_state(&mut con);
    for key in before.0.logs.keys() {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut con).expect("DUMP");
        let mut restored = b"restored:".to_vec();
        restored.extend_from_slice(key);
        let _: String = redis::cmd("RESTORE").arg(&restored).arg(0).arg(&payload).query(&mut con).expect("RESTORE");
        let mut copied = b"copied:".to_vec();
        copied.extend_from_slice(key);
        let n: i64 = redis::cmd("COPY").arg(key).arg(&copied).query(&mut con).expect("COPY");
        assert_eq!(n, 1);
    }
    let after = full_state(&mut con);
    for (prefix, what) in [(&b"restored:"[..], "DUMP/RESTORE"), (b"copied:", "COPY")] {
        for (key, state) in &before.0.logs {
            let mut other = prefix.to_vec();
            other.extend_from_slice(key);
            assert_eq!(after.0.logs.get(&other), Some(state), "{what} of {}", show_bytes(key));
            assert_eq!(after.1.get(&other), before.1.get(key), "{what} of {}: changes/lookups", show_bytes(key));
        }
    }
    // The copy is independent: a change to it leaves the original alone.
    let original = full_state(&mut con).1[&b"life:{a}".to_vec()].clone();
    edit(&mut con, "copied:life:{a}", 30, b"only in the copy");
    del(&mut con, "copied:life:{a}", &[31]);
    assert_eq!(full_state(&mut con).1[&b"life:{a}".to_vec()], original, "changing the copy changed the original");
}

#[test]
fn a_replica_holds_the_same_lifecycle_by_stream_and_by_full_sync() {
    let (master, _d1) = start_seq(&[]);
    let (replica, _d2) = start_seq(&[]);
    let mut m = master.connect();
    lifecycle_workload(&mut m, 0);
    attach_replica(&master, &replica);
    // After the full sync, the command stream: EDIT and DEL effects.
    lifecycle_workload(&mut m, 1);
    lifecycle_sanity(&mut m);
    wait_for_replica_offset(&master, &replica);
    let mut r = replica.connect();
    let ms = full_state(&mut m);
    assert_same_state(&ms, &full_state(&mut r), "master vs replica");
    for key in ms.0.logs.keys() {
        assert_eq!(digest_value(&mut m, key), digest_value(&mut r, key), "DEBUG DIGEST-VALUE of {}", show_bytes(key));
    }
    let e = call_err(&mut r, &["SEQ.EDIT", "life:{a}", "30", "x"]);
    assert!(e.starts_with("READONLY"), "SEQ.EDIT on a replica: {e}");
    // The digest sees the lifecycle: an edit or a deletion changes it.
    let d = digest_value(&mut m, b"life:{a}");
    edit(&mut m, "life:{a}", 30, b"x");
    let d2 = digest_value(&mut m, b"life:{a}");
    assert_ne!(d, d2, "an edit did not change DEBUG DIGEST-VALUE");
    del(&mut m, "life:{a}", &[30]);
    assert_ne!(d2, digest_value(&mut m, b"life:{a}"), "a deletion did not change DEBUG DIGEST-VALUE");
    wait_for_replica_offset(&master, &replica);
    assert_same_state(&full_state(&mut m), &full_state(&mut r), "master vs replica after more changes");
}

#[test]
fn effects_from_an_ordinary_client_are_refused() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 3);
    for op in [&["EDIT", "1", "x"][..], &["DEL", "\x01"]] {
        let mut args = vec!["SEQ.EFFECT", KEY];
        args.extend_from_slice(op);
        assert_err(&mut con, &args, &["internal"]);
    }
    assert_eq!(info_field(&mut con, KEY, "rev"), 0);
}

#[test]
fn memory_usage_falls_when_payloads_are_deleted() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    let big = vec![b'p'; 2000];
    for i in 1..=50 {
        alloc(&mut con, KEY, format!("m{i}").as_bytes(), Some(&big));
    }
    let usage = |con: &mut Connection| call_int(con, &["MEMORY", "USAGE", KEY]);
    let before = usage(&mut con);
    del(&mut con, KEY, &(1..=25).collect::<Vec<_>>());
    let after = usage(&mut con);
    assert!(after + 25 * 1900 <= before, "deleting 25 payloads of 2000 bytes: MEMORY USAGE {before} -> {after}");
}

#[test]
fn digest_value_covers_rev_and_change_records() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 3);
    call_int(&mut con, &["COPY", KEY, "conv:{life}:copy"]);
    assert_eq!(digest_value(&mut con, KEY.as_bytes()), digest_value(&mut con, b"conv:{life}:copy"));
    // Edited and edited back: the same entries, but two changes more.
    edit(&mut con, "conv:{life}:copy", 2, b"other");
    edit(&mut con, "conv:{life}:copy", 2, b"payload-m2");
    assert_eq!(entries(&mut con, "conv:{life}:copy"), entries(&mut con, KEY));
    assert_ne!(
        digest_value(&mut con, KEY.as_bytes()),
        digest_value(&mut con, b"conv:{life}:copy"),
        "DEBUG DIGEST-VALUE does not see rev and the change records"
    );
}

#[test]
fn every_lifecycle_refusal_changes_nothing_in_the_whole_database() {
    let (server, _dir) = start_seq(&[]);
    let mut con = server.connect();
    log_of(&mut con, KEY, 6);
    edit(&mut con, KEY, 1, b"edited");
    del(&mut con, KEY, &[2]);
    call_int(&mut con, &["SEQ.TRIM", KEY, "MINSEQ", "2"]);
    call(&mut con, &["SET", "plain", "x"]);
    config_set(&mut con, "seq.max-payload-bytes", "8");
    let refusals: &[&[&str]] = &[
        &["SEQ.EDIT", KEY, "2", "x"],
        &["SEQ.EDIT", KEY, "1", "x"],
        &["SEQ.EDIT", KEY, "7", "x"],
        &["SEQ.EDIT", KEY, "3", "123456789"],
        &["SEQ.EDIT", KEY, "-3", "x"],
        &["SEQ.EDIT", KEY, "3"],
        &["SEQ.EDIT", "plain", "1", "x"],
        &["SEQ.EDIT", "conv:{missing}", "1", "x"],
        &["SEQ.DEL", KEY, "3", "4", "x"],
        &["SEQ.DEL", KEY, "-1"],
        &["SEQ.DEL", "plain", "1"],
        &["SEQ.CHANGES", KEY, "0"],
        &["SEQ.CHANGES", KEY, "1", "COUNT", "0"],
        &["SEQ.CHANGES", "plain", "0"],
        &["SEQ.LOOKUP", "plain", "m1"],
        &["SEQ.LOOKUP", KEY, "m1", "extra"],
    ];
    for args in refusals {
        let before = db_state(&mut con);
        let e = call_err(&mut con, args);
        assert!(
            ["ERR ", "WRONGTYPE ", "RESYNC "].iter().any(|code| e.starts_with(code)),
            "{args:?}: an error reply naming the problem, got {e:?}"
        );
        assert_same_db(&before, &db_state(&mut con), &format!("after the refused {args:?}"));
    }
    assert!(answers_ping(&server));
    assert_eq!(alloc(&mut con, KEY, b"m7", None), 7);
}

#[test]
fn an_aof_rewritten_by_a_module_before_the_lifecycle_still_replays() {
    let (mut server, _dir) = start_seq(&["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut con = server.connect();
    let stored = log_of(&mut con, KEY, 3);
    call_int(&mut con, &["SEQ.ACK", KEY, "dev", "2"]);
    rewrite_aof(&mut con);
    let before = full_state(&mut con);
    drop(con);
    server.shutdown();
    // The older rewrite: RESTORE-HEADER without `rev resync-floor`, RESTORE-CHUNK without
    // the change records.
    let aof_dir = server.dir.join("appendonlydir");
    let base = std::fs::read_dir(&aof_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".base.aof"))
        .expect("a base AOF file");
    let mut commands = aof_commands(&std::fs::read(&base).unwrap());
    let mut rewritten = (0, 0);
    for command in commands.iter_mut().filter(|c| c.first().map(Vec::as_slice) == Some(b"SEQ.EFFECT")) {
        match command[2].as_slice() {
            b"RESTORE-HEADER" => {
                assert_eq!((command.len(), &command[9], &command[10]), (11, &b"0".to_vec(), &b"0".to_vec()));
                command.truncate(9);
                rewritten.0 += 1;
            }
            b"RESTORE-PACKED-CHUNK" => {
                assert_eq!((command.len(), command[8].is_empty()), (9, true), "an unchanged chunk has no records");
                command.truncate(8);
                command[2] = b"RESTORE-CHUNK".to_vec();
                command[7] = plain_chunk(&stored);
                rewritten.1 += 1;
            }
            _ => {}
        }
    }
    assert_eq!(rewritten, (1, 1), "one header and one chunk in the base file");
    std::fs::write(&base, aof_bytes(&commands)).unwrap();
    server.start_again();
    let mut con = server.connect();
    assert_same_state(&before, &full_state(&mut con), "an AOF in the older RESTORE-* form");
    assert_eq!(edit(&mut con, KEY, 2, b"edited after the upgrade"), 1);
    assert_eq!(del(&mut con, KEY, &[1]), 1);
}
