//! Writes the RDB fixture of the encoding the module writes now (v2 and later: v2 when it
//! was released, then v3, v4 since; `tests/fixtures/seq-v<N>.*`) and its expected values,
//! from a fixed workload of the message lifecycle against a real redis-server with the module: edits (one entry edited twice), deletions (the first entry, a middle one, a
//! whole log), a seq edited then deleted, a change trimmed away (a RESYNC floor) and a
//! log over several chunks with 1% edited and 1% deleted; since v4 also a log with
//! client-msg-ids of every stored form (`every_stored_form`), some of them retired.
//!
//! ```text
//! cargo build --release && cargo run --release --example make_fixture_lifecycle
//! ```
//!
//! Run it once for each new encoding version. Like `make_fixture_v1`, it refuses to
//! overwrite existing fixtures (a released encoding's fixture never changes) unless
//! `SEQ_FIXTURE_OVERWRITE=1`; `SEQ_FIXTURES_DIR=/tmp/x` writes elsewhere.
//! `tests/it/fixtures_load.rs` checks that the module still loads what this wrote.

#[path = "../tests/common/mod.rs"]
mod common;

use common::fixture::*;
use common::*;
use redis::Connection;

fn trim(con: &mut Connection, key: &[u8], how: &str, n: i64) -> i64 {
    redis::cmd("SEQ.TRIM").arg(key).arg(how).arg(n).query(con).expect("SEQ.TRIM")
}

fn ids(prefix: &str, n: i64) -> Vec<Vec<u8>> {
    (1..=n).map(|i| format!("{prefix}{i}").into_bytes()).collect()
}

fn main() {
    let dir = ScratchDir::new("make-fixture-lifecycle");
    let server = Server::start_in(&dir.0, &["--dbfilename", "dump.rdb"]);
    let mut con = server.connect();

    // conv:{g1}: edits (seq 2 twice), the first entry and a middle one deleted, an edited
    // seq deleted, a retry of a deleted id, a cursor.
    let g1: &[u8] = b"conv:{g1}";
    for i in 1..=8 {
        assert_eq!(alloc(&mut con, g1, format!("m{i}").as_bytes(), Some(format!("hello {i}").as_bytes())), i);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(edit(&mut con, g1, 2, b"hello 2, edited"), 1);
    assert_eq!(edit(&mut con, g1, 3, b"hello 3, edited"), 2);
    assert_eq!(edit(&mut con, g1, 2, b"hello 2, edited twice"), 3);
    assert_eq!(del(&mut con, g1, &[1, 5]), 2);
    assert_eq!(del(&mut con, g1, &[3]), 1);
    assert_eq!(alloc(&mut con, g1, b"m5", Some(b"retry")), 5);
    let _: i64 = redis::cmd("SEQ.ACK").arg(g1).arg("dev:a").arg(4).query(&mut con).expect("SEQ.ACK");

    // trimmed:{t}: changes of seqs 2 and 3 trimmed (RESYNC below rev 2), others kept.
    let t: &[u8] = b"trimmed:{t}";
    for i in 1..=10 {
        alloc(&mut con, t, format!("t{i}").as_bytes(), Some(b"t"));
    }
    edit(&mut con, t, 2, b"trimmed edit");
    del(&mut con, t, &[3]);
    edit(&mut con, t, 8, b"kept edit");
    del(&mut con, t, &[9]);
    assert_eq!(trim(&mut con, t, "MINSEQ", 4), 2);
    edit(&mut con, t, 6, b"edit after the trim");

    // emptied:{e}: every entry deleted (not trimmed).
    let e: &[u8] = b"emptied:{e}";
    for i in 1..=3 {
        alloc(&mut con, e, format!("e{i}").as_bytes(), None);
    }
    assert_eq!(del(&mut con, e, &[1, 2, 3]), 3);

    // inbox:{u7}: binary ids and payloads, a binary edit.
    let u7: &[u8] = b"inbox:{u7}";
    let binaries: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"\x00".to_vec(), b"\x00\x01\x02".to_vec()),
        (b"\xff\xfe".to_vec(), b"\xc3\x28\r\n".to_vec()),
        (b"empty".to_vec(), Vec::new()),
    ];
    for (id, p) in &binaries {
        alloc(&mut con, u7, id, Some(p));
    }
    edit(&mut con, u7, 3, b"\r\n\x00 no longer empty");
    del(&mut con, u7, &[2]);

    // big:{b}: 1000 entries over many chunks, 1% edited and 1% deleted.
    let b: &[u8] = b"big:{b}";
    let mut rng = Rng(2);
    for i in 1..=1000 {
        alloc(&mut con, b, format!("b{i}").as_bytes(), Some(&rng.bytes(8)));
    }
    for i in 0..10 {
        edit(&mut con, b, i * 100 + 50, format!("edit {i}").as_bytes());
        del(&mut con, b, &[i * 100 + 7]);
    }

    // unchanged:{u}: a log that never changed, in the new encoding.
    let u: &[u8] = b"unchanged:{u}";
    for i in 1..=3 {
        alloc(&mut con, u, format!("u{i}").as_bytes(), Some(b"u"));
    }

    // ids:{i} (from v4): ids of every stored form, every other one retired (a whole chunk
    // of hex fillers trimmed after them), an edit under a UUID, deletions under hex ids.
    let i: &[u8] = b"ids:{i}";
    let forms = every_stored_form();
    let front: Vec<Vec<u8>> = forms.iter().step_by(2).cloned().collect();
    let later: Vec<Vec<u8>> = forms.iter().skip(1).step_by(2).cloned().collect();
    let fillers: Vec<Vec<u8>> = (1..=300).map(|n| format!("{n:06x}").into_bytes()).collect();
    for id in front.iter().chain(&fillers).chain(&later) {
        alloc(&mut con, i, id, Some(&[b"p:", &id[..]].concat()));
    }
    let past_the_first_chunk = (front.len() + 280) as i64;
    assert_eq!(trim(&mut con, i, "MINSEQ", past_the_first_chunk), past_the_first_chunk - 1);
    let seq_of =
        |id: &[u8]| (front.len() + fillers.len() + 1 + later.iter().position(|l| l == id).expect("later")) as i64;
    edit(&mut con, i, seq_of(b"00000000-0000-0000-0000-000000000000"), b"edited under a UUID");
    assert_eq!(del(&mut con, i, &[seq_of(b"DEADBEEF"), seq_of(&hex_digits(64, false))]), 2);
    let i_ids: Vec<Vec<u8>> = forms.iter().chain(&fillers).cloned().collect();
    let i_info = info_of(&mut con, i);
    assert!(i_info["dedup-entries"] > i_info["length"] + 2, "retired ids: {i_info:?}");

    let _: () = redis::cmd("SET").arg("plain").arg("a plain string").query(&mut con).unwrap();

    let payload: Vec<u8> = redis::cmd("DUMP").arg(g1).query(&mut con).unwrap();
    let encver = dump_encver(&payload);
    assert!(encver >= 2, "the lifecycle exists from encoding version 2 on, the module writes {encver}");

    let exp = Expect {
        logs: vec![
            describe_changed_log(&mut con, g1, &ids("m", 8)),
            describe_changed_log(&mut con, t, &ids("t", 10)),
            describe_changed_log(&mut con, e, &ids("e", 3)),
            describe_changed_log(&mut con, u7, &binaries.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>()),
            describe_changed_log(&mut con, b, &ids("b", 1000)),
            describe_changed_log(&mut con, u, &ids("u", 3)),
            describe_changed_log(&mut con, i, &i_ids),
        ],
        strings: vec![(b"plain".to_vec(), b"a plain string".to_vec())],
    };
    write_fixture(&mut con, &dir, &exp, encver);
}
