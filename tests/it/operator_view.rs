//! What an operator sees: the `INFO seq` section and its counters, `COMMAND DOCS` for
//! every SEQ.* command, and `COMMAND INFO` flags and key positions as the contract's
//! table states them.
//!
//! The INFO counters are process-wide, so the tests compare deltas around each action.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use crate::common::*;
use redis::{Connection, Value};

const FIELDS: [&str; 6] =
    ["seq_logs", "seq_allocations", "seq_dedup_hits", "seq_entries_trimmed", "seq_blocked_clients", "seq_epoch"];

/// Field deltas between two `INFO seq` readings, only the non-zero ones.
fn delta(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    FIELDS.iter().map(|f| (f.to_string(), after[*f] - before[*f])).filter(|(_, d)| *d != 0).collect()
}

fn expect(list: &[(&str, i64)]) -> BTreeMap<String, i64> {
    list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Runs `action` and returns how the `INFO seq` counters moved.
fn moved(con: &mut Connection, action: impl FnOnce(&mut Connection)) -> BTreeMap<String, i64> {
    let before = seq_stats(con);
    action(con);
    let after = seq_stats(con);
    delta(&before, &after)
}

#[test]
fn info_seq_has_every_field() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let stats = seq_stats(&mut con);
    for f in FIELDS {
        assert!(stats.contains_key(f), "INFO seq lacks {f}: {stats:?}");
    }
    assert_eq!(
        (stats["seq_logs"], stats["seq_blocked_clients"], stats["seq_epoch"]),
        (0, 0, 0),
        "fresh server: {stats:?}"
    );
    for section in ["modules", "everything"] {
        let s = info_section(&mut con, section);
        for f in FIELDS {
            assert!(s.contains_key(f), "INFO {section} lacks {f}");
        }
    }
    let raw: String = redis::cmd("INFO").arg("seq").query(&mut con).unwrap();
    assert!(raw.lines().any(|l| l.starts_with('#')), "INFO seq has a section header: {raw:?}");
}

#[test]
fn seq_logs_counts_the_logs_in_the_keyspace() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let d = moved(&mut con, |c| {
        alloc(c, "conv:{1}", "a", None);
        alloc(c, "conv:{1}", "b", None);
        alloc(c, "conv:{2}", "a", None);
    });
    assert_eq!(d, expect(&[("seq_logs", 2), ("seq_allocations", 3)]), "two new logs, three appends");

    let d = moved(&mut con, |c| {
        sync(c, &["nokey", "c"]);
        call_int(c, &["SEQ.ACK", "nokey", "c", "0"]);
        call_int(c, &["SEQ.TRIM", "nokey", "MAXLEN", "0"]);
        call_int(c, &["SEQ.TRIM", "conv:{1}", "MAXLEN", "0"]);
    });
    assert_eq!(
        d,
        expect(&[("seq_entries_trimmed", 2)]),
        "reads of missing keys create no log; a fully trimmed log stays"
    );

    let d = moved(&mut con, |c| {
        assert_eq!(call_int(c, &["COPY", "conv:{2}", "conv:{2}:copy"]), 1);
    });
    assert_eq!(d, expect(&[("seq_logs", 1)]), "COPY makes one more log");

    let d = moved(&mut con, |c| {
        assert_eq!(call_int(c, &["DEL", "conv:{1}"]), 1);
    });
    assert_eq!(d, expect(&[("seq_logs", -1)]), "DEL removes a log (and trims nothing)");

    let d = moved(&mut con, |c| {
        call(c, &["FLUSHALL", "SYNC"]);
    });
    assert_eq!(d, expect(&[("seq_logs", -2)]), "FLUSHALL removes every log");
    assert_eq!(seq_stat(&mut con, "seq_logs"), 0);
}

#[test]
fn allocation_and_dedup_counters() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc(&mut con, "conv:{c}", "first", None);

    let d = moved(&mut con, |c| {
        alloc_many(c, "conv:{c}", "m", 5);
    });
    assert_eq!(d, expect(&[("seq_allocations", 5)]));

    let d = moved(&mut con, |c| {
        assert_eq!(alloc(c, "conv:{c}", "m2", Some(b"retry")), 3);
        assert_eq!(alloc(c, "conv:{c}", "first", None), 1);
    });
    assert_eq!(d, expect(&[("seq_dedup_hits", 2)]), "two de-duplicated retries, nothing appended");

    let d = moved(&mut con, |c| {
        call_err(c, &["SEQ.ALLOC", "conv:{c}", ""]);
        call_err(c, &["SEQ.ALLOC", "conv:{c}"]);
        call_err(c, &["SEQ.ALLOC", "conv:{new}", ""]);
    });
    assert_eq!(d, expect(&[]), "refused SEQ.ALLOCs count nothing");

    let d = moved(&mut con, |c| {
        let _: Vec<i64> = redis::pipe()
            .atomic()
            .cmd("SEQ.ALLOC")
            .arg("conv:{c}")
            .arg("t1")
            .cmd("SEQ.ALLOC")
            .arg("conv:{c}")
            .arg("t1")
            .cmd("SEQ.ALLOC")
            .arg("conv:{d}")
            .arg("t1")
            .query(c)
            .expect("MULTI/EXEC");
    });
    assert_eq!(d, expect(&[("seq_allocations", 2), ("seq_dedup_hits", 1), ("seq_logs", 1)]), "inside MULTI");

    let d = moved(&mut con, |c| {
        entries(c, "conv:{c}");
        call_int(c, &["SEQ.LAST", "conv:{c}"]);
        info_of(c, "conv:{c}");
        call_int(c, &["SEQ.ACK", "conv:{c}", "x", "2"]);
        sync(c, &["conv:{c}", "x"]);
    });
    assert_eq!(d, expect(&[]), "reads and cursor commands count nothing");

    let d = moved(&mut con, |c| {
        assert_eq!(call_int(c, &["SEQ.EDIT", "conv:{c}", "1", "edited"]), 1);
        assert_eq!(call_int(c, &["SEQ.DEL", "conv:{c}", "2"]), 1);
        call(c, &["SEQ.CHANGES", "conv:{c}", "0"]);
        assert_eq!(call_int(c, &["SEQ.LOOKUP", "conv:{c}", "m1"]), 2);
    });
    assert_eq!(d, expect(&[]), "edits and deletions are neither allocations nor trims");
}

#[test]
fn entries_trimmed_counts_explicit_and_automatic_trims() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc_many(&mut con, "conv:{t}", "m", 10);

    let d = moved(&mut con, |c| {
        assert_eq!(call_int(c, &["SEQ.TRIM", "conv:{t}", "MAXLEN", "7"]), 3);
    });
    assert_eq!(d, expect(&[("seq_entries_trimmed", 3)]));
    let d = moved(&mut con, |c| {
        assert_eq!(call_int(c, &["SEQ.TRIM", "conv:{t}", "MINSEQ", "6"]), 2);
        assert_eq!(call_int(c, &["SEQ.TRIM", "conv:{t}", "MINSEQ", "6"]), 0);
    });
    assert_eq!(d, expect(&[("seq_entries_trimmed", 2)]));

    // Automatic retention: 5 retained, limit 2, one append → 6 - 2 = 4 trimmed.
    call(&mut con, &["CONFIG", "SET", "seq.max-len", "2"]);
    let d = moved(&mut con, |c| {
        assert_eq!(alloc(c, "conv:{t}", "m11", None), 11);
    });
    assert_eq!(d, expect(&[("seq_allocations", 1), ("seq_entries_trimmed", 4)]));
    assert_eq!(field(&info_of(&mut con, "conv:{t}"), "length"), 2);
}

#[test]
fn blocked_clients_gauge() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    alloc(&mut con, "conv:{b}", "m1", None);
    assert_eq!(seq_stat(&mut con, "seq_blocked_clients"), 0);

    let mut c1 = connect_with_timeout(&server, 10);
    let mut c2 = connect_with_timeout(&server, 10);
    let mut c3 = connect_with_timeout(&server, 10);
    let w1 = thread::spawn(move || try_call(&mut c1, &["SEQ.SYNC", "conv:{b}", "d1", "AFTER", "1", "BLOCK", "0"]));
    let w2 = thread::spawn(move || try_call(&mut c2, &["SEQ.SYNC", "conv:{missing}", "d2", "BLOCK", "0"]));
    let w3 = thread::spawn(move || try_call(&mut c3, &["SEQ.SYNC", "conv:{b}", "d3", "AFTER", "1", "BLOCK", "1000"]));
    let ok = wait_until(Duration::from_secs(10), || seq_stat(&mut con, "seq_blocked_clients") == 3);
    assert!(ok, "three waiters, seq_blocked_clients = {}", seq_stat(&mut con, "seq_blocked_clients"));

    // The BLOCK 1000 one times out.
    w3.join().unwrap().expect("timed-out SEQ.SYNC");
    let ok = wait_until(Duration::from_secs(10), || seq_stat(&mut con, "seq_blocked_clients") == 2);
    assert!(ok, "after a timeout, seq_blocked_clients = {}", seq_stat(&mut con, "seq_blocked_clients"));

    alloc(&mut con, "conv:{missing}", "x", None);
    w2.join().unwrap().expect("woken SEQ.SYNC");
    let ok = wait_until(Duration::from_secs(10), || seq_stat(&mut con, "seq_blocked_clients") == 1);
    assert!(ok, "after one wake-up, seq_blocked_clients = {}", seq_stat(&mut con, "seq_blocked_clients"));

    alloc(&mut con, "conv:{b}", "m2", None);
    w1.join().unwrap().expect("woken SEQ.SYNC");
    let ok = wait_until(Duration::from_secs(10), || seq_stat(&mut con, "seq_blocked_clients") == 0);
    assert!(ok, "all woken, seq_blocked_clients = {}", seq_stat(&mut con, "seq_blocked_clients"));
}

#[test]
fn epoch_moves_on_promotion_only() {
    let (master, _mdir) = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let (replica, _rdir) = Server::start(&[]);
    let mut m = connect_with_timeout(&master, 10);
    let mut r = connect_with_timeout(&replica, 10);
    alloc_many(&mut m, "conv:{e}", "m", 3);
    assert_eq!(seq_stat(&mut m, "seq_epoch"), 0, "a fresh node is in epoch 0");

    // REPLICAOF NO ONE on a node that is already a master is no promotion.
    call(&mut m, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(seq_stat(&mut m, "seq_epoch"), 0, "REPLICAOF NO ONE on a master moved the epoch");

    attach_replica(&master, &replica);
    assert_eq!(seq_stat(&mut r, "seq_epoch"), 0, "a replica of an epoch-0 master");
    call(&mut r, &["REPLICAOF", "NO", "ONE"]);
    let ok = wait_until(Duration::from_secs(5), || seq_stat(&mut r, "seq_epoch") == 1);
    assert!(ok, "the promoted replica's seq_epoch is {}, expected max(seen)+1 = 1", seq_stat(&mut r, "seq_epoch"));
    assert_eq!(seq_stat(&mut m, "seq_epoch"), 0, "the old master's epoch moved");
    // Promotion itself changes no log.
    assert_eq!(snapshot(&mut r, "conv:{e}"), snapshot(&mut m, "conv:{e}"));
}

// ---- COMMAND DOCS / COMMAND INFO ----

/// name, flags among {write, readonly, denyoom, fast}, positional argument names, tokens.
struct Spec {
    name: &'static str,
    flags: &'static [&'static str],
    args: &'static [&'static str],
    tokens: &'static [&'static str],
}

const SPECS: [Spec; 18] = [
    Spec {
        name: "SEQ.ALLOC",
        flags: &["write", "denyoom"],
        args: &["key", "client-msg-id", "payload"],
        tokens: &["ACK"],
    },
    Spec { name: "SEQ.RANGE", flags: &["readonly"], args: &["key", "start", "end"], tokens: &["COUNT"] },
    Spec { name: "SEQ.REVRANGE", flags: &["readonly"], args: &["key", "end", "start"], tokens: &["COUNT"] },
    Spec { name: "SEQ.LAST", flags: &["readonly", "fast"], args: &["key"], tokens: &[] },
    Spec { name: "SEQ.MLAST", flags: &["readonly", "fast"], args: &["key"], tokens: &[] },
    Spec { name: "SEQ.INFO", flags: &["readonly"], args: &["key"], tokens: &[] },
    Spec { name: "SEQ.TRIM", flags: &["write"], args: &["key"], tokens: &["MAXLEN", "MINSEQ", "MAXAGE"] },
    Spec { name: "SEQ.ACK", flags: &["write"], args: &["key", "consumer", "seq"], tokens: &[] },
    Spec { name: "SEQ.SYNC", flags: &["write"], args: &["key", "consumer"], tokens: &["AFTER", "COUNT", "BLOCK"] },
    Spec { name: "SEQ.UNREAD", flags: &["readonly"], args: &["key", "consumer"], tokens: &[] },
    Spec { name: "SEQ.CURSORS", flags: &["readonly"], args: &["key"], tokens: &[] },
    Spec { name: "SEQ.FORGET", flags: &["write"], args: &["key", "consumer"], tokens: &[] },
    Spec { name: "SEQ.EDIT", flags: &["write", "denyoom"], args: &["key", "seq", "payload"], tokens: &[] },
    Spec { name: "SEQ.DEL", flags: &["write"], args: &["key", "seq"], tokens: &[] },
    Spec { name: "SEQ.CHANGES", flags: &["readonly"], args: &["key", "since-rev"], tokens: &["COUNT"] },
    Spec { name: "SEQ.LOOKUP", flags: &["readonly", "fast"], args: &["key", "client-msg-id"], tokens: &[] },
    Spec { name: "SEQ.READERS", flags: &["readonly", "fast"], args: &["key", "seq"], tokens: &[] },
    Spec {
        name: "SEQ.IMPORT",
        flags: &["write", "denyoom"],
        args: &["key", "seq", "ts", "client-msg-id", "payload"],
        tokens: &[],
    },
];

/// Every `token` in an argument tree (nested blocks and oneofs included).
fn tokens_in(args: &[Value], out: &mut Vec<String>) {
    for a in args {
        let m = field_map(a).expect("an argument is a field/value map");
        if let Some(t) = m.get("token") {
            out.push(text(t).to_uppercase());
        }
        if let Some(sub) = m.get("arguments") {
            tokens_in(array(sub), out);
        }
    }
}

fn non_empty_text(m: &BTreeMap<String, Value>, f: &str, cmd: &str) -> String {
    let s = m.get(f).map(text).unwrap_or_default();
    assert!(!s.trim().is_empty(), "COMMAND DOCS {cmd}: empty or missing {f}: {m:?}");
    s
}

#[test]
fn command_docs_for_every_command() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let mut failures = Vec::new();
    for spec in &SPECS {
        let v = call(&mut con, &["COMMAND", "DOCS", spec.name]);
        let items = array(&v);
        if items.len() != 2 {
            failures.push(format!("{}: COMMAND DOCS reply {v:?}", spec.name));
            continue;
        }
        assert!(text(&items[0]).eq_ignore_ascii_case(spec.name), "COMMAND DOCS names {:?}", items[0]);
        let doc = field_map(&items[1]).expect("doc map");
        non_empty_text(&doc, "summary", spec.name);
        non_empty_text(&doc, "complexity", spec.name);
        assert_eq!(doc.get("module").map(text).as_deref(), Some("seq"), "{}: module field: {doc:?}", spec.name);
        let args = doc.get("arguments").map(|a| array(a).to_vec()).unwrap_or_default();
        assert!(!args.is_empty(), "{}: no arguments in COMMAND DOCS: {doc:?}", spec.name);
        let names: Vec<String> = args
            .iter()
            .map(|a| {
                let m = field_map(a).expect("argument map");
                let n = m.get("name").map(text).unwrap_or_default();
                assert!(!n.is_empty(), "{}: an argument without a name: {m:?}", spec.name);
                assert!(m.contains_key("type"), "{}: argument {n} has no type: {m:?}", spec.name);
                n.to_lowercase()
            })
            .collect();
        for (i, want) in spec.args.iter().enumerate() {
            assert_eq!(names.get(i).map(String::as_str), Some(*want), "{}: argument {i} of {names:?}", spec.name);
        }
        let key_type = field_map(&args[0]).unwrap().get("type").map(text);
        assert_eq!(key_type.as_deref(), Some("key"), "{}: the first argument is of type key", spec.name);
        let mut tokens = Vec::new();
        tokens_in(&args, &mut tokens);
        for t in spec.tokens {
            assert!(tokens.iter().any(|x| x == t), "{}: no {t} token among {tokens:?}", spec.name);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn command_info_flags_and_keys() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    for spec in &SPECS {
        let v = call(&mut con, &["COMMAND", "INFO", spec.name]);
        let info = &array(&v)[0];
        assert_ne!(info, &Value::Nil, "COMMAND INFO {} is nil: command not registered", spec.name);
        let info = array(info);
        assert!(text(&info[0]).eq_ignore_ascii_case(spec.name));
        let flags: Vec<String> = array(&info[2]).iter().map(text).collect();
        let relevant: Vec<&str> =
            ["write", "readonly", "denyoom", "fast"].into_iter().filter(|f| flags.iter().any(|x| x == f)).collect();
        let mut want = spec.flags.to_vec();
        want.sort();
        let mut got = relevant.clone();
        got.sort();
        assert_eq!(got, want, "{}: flags {flags:?}", spec.name);

        let (first, last, step) = (int(&info[3]), int(&info[4]), int(&info[5]));
        let want_last = if spec.name == "SEQ.MLAST" { -1 } else { 1 };
        assert_eq!((first, last, step), (1, want_last, 1), "{}: first/last/step", spec.name);

        let specs = array(&info[8]);
        assert!(!specs.is_empty(), "{}: no key specs", spec.name);
        let ks = field_map(&specs[0]).unwrap();
        let bs = field_map(&ks["begin_search"]).unwrap();
        assert_eq!(text(&bs["type"]), "index", "{}: begin_search {bs:?}", spec.name);
        let bs_spec = field_map(&bs["spec"]).unwrap();
        assert_eq!(int(&bs_spec["index"]), 1, "{}: begin_search {bs:?}", spec.name);
        let fk = field_map(&ks["find_keys"]).unwrap();
        assert_eq!(text(&fk["type"]), "range", "{}: find_keys {fk:?}", spec.name);
        let fk_spec = field_map(&fk["spec"]).unwrap();
        let want_lastkey = if spec.name == "SEQ.MLAST" { -1 } else { 0 };
        assert_eq!(
            (int(&fk_spec["lastkey"]), int(&fk_spec["keystep"])),
            (want_lastkey, 1),
            "{}: find_keys {fk:?}",
            spec.name
        );
    }
}

#[test]
fn command_getkeys_and_list() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let keys = |con: &mut Connection, args: &[&str]| -> Vec<String> {
        let mut full = vec!["COMMAND", "GETKEYS"];
        full.extend_from_slice(args);
        array(&call(con, &full)).iter().map(text).collect()
    };
    assert_eq!(keys(&mut con, &["SEQ.MLAST", "a", "b", "c"]), vec!["a", "b", "c"]);
    assert_eq!(keys(&mut con, &["SEQ.ALLOC", "k", "id", "payload"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.SYNC", "k", "c", "AFTER", "1", "COUNT", "2", "BLOCK", "0"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.TRIM", "k", "MAXLEN", "1"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.ACK", "k", "c", "1"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.EDIT", "k", "1", "payload"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.DEL", "k", "1", "2", "3"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.CHANGES", "k", "0", "COUNT", "5"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.LOOKUP", "k", "id"]), vec!["k"]);
    assert_eq!(keys(&mut con, &["SEQ.IMPORT", "k", "1", "2", "id", "payload"]), vec!["k"]);

    let listed: Vec<String> = array(&call(&mut con, &["COMMAND", "LIST", "FILTERBY", "MODULE", "seq"]))
        .iter()
        .map(|v| text(v).to_uppercase())
        .collect();
    for spec in &SPECS {
        assert!(
            listed.iter().any(|n| n == spec.name),
            "COMMAND LIST FILTERBY MODULE seq lacks {}: {listed:?}",
            spec.name
        );
    }
}

/// SEQ.READ's keys follow `LOGS` (as XREAD's follow `STREAMS`): COMMAND INFO shows the
/// legacy triple 0, 0, 0 with `movablekeys` and a keyword key spec taking the first half
/// of what follows; COMMAND DOCS shows its options and the LOGS block.
#[test]
fn seq_read_info_and_docs() {
    let (server, _dir) = Server::start(&[]);
    let mut con = connect_with_timeout(&server, 10);
    let v = call(&mut con, &["COMMAND", "INFO", "SEQ.READ"]);
    let info = array(&array(&v)[0]);
    assert_eq!(int(&info[1]), -4, "arity");
    let flags: Vec<String> = array(&info[2]).iter().map(text).collect();
    assert!(flags.iter().any(|f| f == "readonly"), "flags {flags:?}");
    assert!(flags.iter().any(|f| f == "movablekeys"), "flags {flags:?}");
    assert!(!flags.iter().any(|f| f == "write" || f == "denyoom" || f == "fast"), "flags {flags:?}");
    assert_eq!((int(&info[3]), int(&info[4]), int(&info[5])), (0, 0, 0), "first/last/step as XREAD's");
    let specs = array(&info[8]);
    assert_eq!(specs.len(), 1, "one key spec: {specs:?}");
    let ks = field_map(&specs[0]).unwrap();
    let ks_flags: Vec<String> = array(&ks["flags"]).iter().map(text).collect();
    assert_eq!(ks_flags, vec!["RO", "access"], "read-only keys");
    let bs = field_map(&ks["begin_search"]).unwrap();
    assert_eq!(text(&bs["type"]), "keyword");
    let bs_spec = field_map(&bs["spec"]).unwrap();
    assert_eq!((text(&bs_spec["keyword"]), int(&bs_spec["startfrom"])), ("LOGS".to_string(), 1));
    let fk = field_map(&ks["find_keys"]).unwrap();
    assert_eq!(text(&fk["type"]), "range");
    let fk_spec = field_map(&fk["spec"]).unwrap();
    assert_eq!((int(&fk_spec["lastkey"]), int(&fk_spec["keystep"]), int(&fk_spec["limit"])), (-1, 1, 2));

    let v = call(&mut con, &["COMMAND", "DOCS", "SEQ.READ"]);
    let doc = field_map(&array(&v)[1]).expect("doc map");
    non_empty_text(&doc, "summary", "SEQ.READ");
    non_empty_text(&doc, "complexity", "SEQ.READ");
    let args = array(&doc["arguments"]).to_vec();
    let mut tokens = Vec::new();
    tokens_in(&args, &mut tokens);
    assert_eq!(tokens, vec!["COUNT", "BLOCK", "LOGS"]);
    let listed: Vec<String> = array(&call(&mut con, &["COMMAND", "LIST", "FILTERBY", "MODULE", "seq"]))
        .iter()
        .map(|v| text(v).to_uppercase())
        .collect();
    assert!(listed.iter().any(|n| n == "SEQ.READ"), "{listed:?}");
}
