//! Released RDB encodings keep loading: `tests/fixtures/seq-v1.rdb` (written by encoding
//! version 1 of the module) is loaded by the current module and must read back exactly as
//! `tests/fixtures/seq-v1.expected.txt` describes (format: `tests/common/fixture.rs`).
//!
//! Both files were produced once, from a fixed workload, by
//! `cargo run --release --example make_fixture_v1`, which refuses to overwrite them: a
//! released encoding's fixture never changes.

mod common;

use common::fixture::*;
use common::*;
use redis::Value;

#[test]
fn loads_the_encoding_v1_fixture() {
    let rdb = fixtures_dir().join("seq-v1.rdb");
    let expected = fixtures_dir().join("seq-v1.expected.txt");
    assert!(
        rdb.exists() && expected.exists(),
        "missing {} or {}: generate them once with `cargo run --release --example make_fixture_v1`",
        rdb.display(),
        expected.display()
    );
    let exp = parse_expected(&std::fs::read_to_string(&expected).unwrap());
    assert!(!exp.logs.is_empty(), "the expected file describes no log");

    let dir = ScratchDir::new("fixture-v1");
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
    }
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
        assert_eq!(alloc(&mut con, &l.key, b"appended after loading v1", None), last_v + 1, "{}", show_bytes(&l.key));
    }
    // Round trip in the current encoding.
    let after = db_state(&mut con);
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).expect("DEBUG RELOAD");
    assert_same_db(&after, &db_state(&mut con), "DEBUG RELOAD of the loaded fixture");
}
