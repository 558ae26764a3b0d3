//! Released RDB encodings keep loading: each `tests/fixtures/seq-v<N>.rdb` (written by
//! encoding version N of the module) is loaded by the current module and must read back
//! exactly as `tests/fixtures/seq-v<N>.expected.txt` describes (format:
//! `tests/common/fixture.rs`): v1 (append-only logs: cursors, trims, the fence), v2
//! (the message lifecycle: edits, deletions, change records, a RESYNC floor), v3 (v2's
//! workload with the flags word of a damaged log) and v4 (chunks hold client-msg-ids in
//! their stored form, hex and UUID ids packed: v3's workload plus a log with ids of every
//! form). Loading v1 to v3 converts their chunks, whose ids are as the client gave them
//! (`b1`..`b1000`, `e1`.. are hex), to the stored form.
//!
//! Each pair was produced once, from a fixed workload, by
//! `cargo run --release --example make_fixture_v<N>`, which refuses to overwrite them: a
//! released encoding's fixture never changes.

use std::collections::BTreeSet;

use crate::common::fixture::*;
use crate::common::*;
use redis::{Connection, Value};

/// Loads `seq-v<version>.rdb`, checks it against its expected file, runs the version's own
/// `check`, then the de-duplication answers, appends and a DEBUG RELOAD round trip.
fn load_fixture(version: u32, check: impl FnOnce(&mut Connection, &Expect)) {
    let rdb = fixtures_dir().join(format!("seq-v{version}.rdb"));
    let expected = fixtures_dir().join(format!("seq-v{version}.expected.txt"));
    assert!(
        rdb.exists() && expected.exists(),
        "missing {} or {}: generate them once with `cargo run --release --example {}`",
        rdb.display(),
        expected.display(),
        fixture_generator(u64::from(version))
    );
    let exp = parse_expected(&std::fs::read_to_string(&expected).unwrap());
    assert!(!exp.logs.is_empty(), "the expected file describes no log");

    let dir = ScratchDir::new(&format!("fixture-v{version}"));
    std::fs::copy(&rdb, dir.0.join("dump.rdb")).expect("copy the fixture");
    let mut args: Vec<&str> = DEBUG_ON.to_vec();
    args.extend(["--dbfilename", "dump.rdb"]);
    let server = Server::start_in(&dir.0, &args);
    let mut con = server.connect();

    let mut want_keys: Vec<Vec<u8>> = exp.logs.iter().map(|l| l.key.clone()).collect();
    want_keys.extend(exp.strings.iter().map(|(k, _)| k.clone()));
    want_keys.sort();
    assert_eq!(all_keys(&mut con), want_keys, "keys loaded from the fixture");

    for (k, v) in &exp.strings {
        let got: Vec<u8> = redis::cmd("GET").arg(k).query(&mut con).unwrap();
        assert_eq!(&got, v, "string {}", show_bytes(k));
    }
    for l in &exp.logs {
        let k = show_bytes(&l.key);
        let pairs = seq_info_pairs(&mut con, &l.key).unwrap_or_else(|| panic!("{k}: SEQ.INFO is nil"));
        for (field, v) in &l.info {
            let got = pairs.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone());
            assert_eq!(got, Some(Value::Int(*v)), "{k}: SEQ.INFO {field}");
        }
        assert_eq!(entries(&mut con, &l.key), l.entries, "{k}: entries");
        assert_eq!(cursors(&mut con, &l.key), l.cursors, "{k}: cursors");
        for (since, answer) in &l.changes {
            let got = changes(&mut con, &l.key, *since, Some(1000)).map_err(|e| resync_rev(&e));
            assert_eq!(&got, answer, "{k}: SEQ.CHANGES {since}");
        }
    }
    check(&mut con, &exp);
    // De-duplication answers (before any new append, so by the log's own ts every window
    // is still open), which change nothing; then each log continues at last + 1.
    let before = db_state(&mut con);
    for l in &exp.logs {
        for (id, seq) in &l.dedup {
            assert_eq!(
                alloc(&mut con, &l.key, id, Some(b"retry")),
                *seq,
                "{}: retry of {}",
                show_bytes(&l.key),
                show_bytes(id)
            );
        }
    }
    assert_same_db(&before, &db_state(&mut con), "retries on the loaded fixture");
    for l in &exp.logs {
        let last_v = l.info.iter().find(|(f, _)| f == "last").map(|(_, v)| *v).expect("info last");
        let id = format!("appended after loading v{version}");
        assert_eq!(alloc(&mut con, &l.key, id.as_bytes(), None), last_v + 1, "{}", show_bytes(&l.key));
    }
    // Round trip in the current encoding.
    let after = db_state(&mut con);
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_same_db(&after, &db_state(&mut con), &format!("DEBUG RELOAD of the loaded v{version} fixture"));
}

#[test]
fn loads_the_encoding_v1_fixture() {
    load_fixture(1, |con, exp| {
        // A v1 log never changed: rev 0, nothing deleted, nothing to list.
        for l in &exp.logs {
            let info = info_of(con, &l.key);
            assert_eq!((info["rev"], info["deleted"]), (0, 0), "{}: {info:?}", show_bytes(&l.key));
            assert_eq!(changes(con, &l.key, 0, None), Ok((0, vec![])), "{}", show_bytes(&l.key));
        }
    });
}

#[test]
fn loads_the_encoding_v2_fixture() {
    load_fixture(2, lifecycle_fixture_holds_what_it_claims);
}

/// v3 added a flags word (the damaged mark, 0 here) to v2: the same workload.
#[test]
fn loads_the_encoding_v3_fixture() {
    load_fixture(3, |con, exp| {
        lifecycle_fixture_holds_what_it_claims(con, exp);
        assert_eq!(field(&info_of(con, b"conv:{g1}"), "damaged"), 0);
    });
}

/// v4 stores hex and UUID ids packed: v3's workload plus `ids:{i}`, ids of every stored
/// form, some retained (an edit, deletions) and some retired.
#[test]
fn loads_the_encoding_v4_fixture() {
    load_fixture(4, |con, exp| {
        lifecycle_fixture_holds_what_it_claims(con, exp);
        let log = exp.logs.iter().find(|l| l.key == b"ids:{i}").expect("the v4 fixture has ids:{i}");
        let retained: BTreeSet<&[u8]> = log.entries.iter().map(|e| &e.id[..]).collect();
        let (kept, retired): (Vec<&[u8]>, Vec<&[u8]>) =
            log.dedup.iter().map(|(id, _)| &id[..]).partition(|id| retained.contains(id));
        for (what, ids) in [("retained", &kept), ("retired", &retired)] {
            let forms: BTreeSet<&str> = ids.iter().map(|id| stored_form(id)).collect();
            assert_eq!(forms.len(), 4, "{what} ids of ids:{{i}} are of every stored form: {forms:?}");
        }
        let info = info_of(con, b"ids:{i}");
        assert!(info["deleted"] == 2 && info["rev"] == 3, "ids:{{i}}: {info:?}");
        assert!(info["dedup-entries"] > info["length"] + info["deleted"], "ids:{{i}} has retired ids: {info:?}");
    });
}

/// The form a chunk stores `id` in (`crates/seq-core/src/stored_id.rs`).
fn stored_form(id: &[u8]) -> &'static str {
    let hex_of = |case: fn(&u8) -> bool| id.iter().all(|c| c.is_ascii_digit() || (c.is_ascii_hexdigit() && case(c)));
    let uuid = id.len() == 36
        && id.iter().enumerate().all(|(i, c)| match [8, 13, 18, 23].contains(&i) {
            true => *c == b'-',
            false => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        });
    match () {
        _ if uuid => "lowercase UUID",
        _ if id.len() > 64 => "as given",
        _ if hex_of(u8::is_ascii_lowercase) => "lowercase hex",
        _ if hex_of(u8::is_ascii_uppercase) => "uppercase hex",
        _ => "as given",
    }
}

/// The lifecycle workload's fixture (v2 and later): edits, deletions, a RESYNC floor,
/// every SEQ.CHANGES answer, and changes going on from the loaded rev.
fn lifecycle_fixture_holds_what_it_claims(con: &mut Connection, exp: &Expect) {
    let info = |con: &mut Connection, key: &[u8], f: &str| field(&info_of(con, key), f);
    assert!(exp.logs.iter().all(|l| !l.changes.is_empty()), "every v2 log lists its SEQ.CHANGES answers");
    assert!(exp.logs.iter().any(|l| l.changes.iter().any(|(_, a)| a.is_err())), "a RESYNC floor");
    assert!(info(con, b"conv:{g1}", "deleted") > 0 && info(con, b"conv:{g1}", "rev") > 3);
    assert_eq!(info(con, b"conv:{g1}", "first"), 2, "the deleted first entry stays deleted");
    assert!(info(con, b"big:{b}", "deleted") == 10 && info(con, b"big:{b}", "rev") == 20);
    // Changes go on from the loaded rev.
    let rev = info(con, b"conv:{g1}", "rev");
    assert_eq!(edit(con, b"conv:{g1}", 4, b"edited after loading"), rev + 1);
    assert_eq!(del(con, b"conv:{g1}", &[4]), 1);
    let (now, list) = changes(con, b"conv:{g1}", rev, None).unwrap();
    assert_eq!((now, list), (rev + 2, vec![Change { rev: rev + 2, seq: 4, entry: None }]));
}
