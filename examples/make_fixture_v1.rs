//! Writes the encoding-v1 RDB fixture and its expected values (`tests/fixtures/`) from a
//! fixed workload against a real redis-server with the module:
//!
//! ```text
//! cargo build --release && cargo run --release --example make_fixture_v1
//! ```
//!
//! It refuses to overwrite existing fixtures (a released encoding's fixture never changes)
//! unless `SEQ_FIXTURE_OVERWRITE=1`; `SEQ_FIXTURES_DIR=/tmp/x` writes elsewhere.
//! `tests/it/fixtures_load.rs` checks that the module still loads what this wrote.

#[path = "../tests/common/mod.rs"]
mod common;

use common::fixture::*;
use common::*;
use redis::Connection;

fn main() {
    let dir = ScratchDir::new("make-fixture-v1");
    let server = Server::start_in(&dir.0, &["--dbfilename", "dump.rdb"]);
    let mut con = server.connect();
    let ack = |con: &mut Connection, key: &[u8], who: &[u8], seq: i64| {
        let got: i64 = redis::cmd("SEQ.ACK").arg(key).arg(who).arg(seq).query(con).expect("SEQ.ACK");
        assert_eq!(got, seq);
    };
    let trim = |con: &mut Connection, key: &[u8], how: &str, n: i64| -> i64 {
        redis::cmd("SEQ.TRIM").arg(key).arg(how).arg(n).query(con).expect("SEQ.TRIM")
    };

    // conv:{g1}: text entries, a duplicated id, three cursors.
    let g1: &[u8] = b"conv:{g1}";
    for i in 1..=6 {
        assert_eq!(alloc(&mut con, g1, format!("m{i}").as_bytes(), Some(format!("hello {i}").as_bytes())), i);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(alloc(&mut con, g1, b"m3", Some(b"duplicate")), 3);
    ack(&mut con, g1, b"dev:a", 4);
    ack(&mut con, g1, b"dev:b", 6);
    ack(&mut con, g1, b"dev:c", 0);

    // inbox:{u7}: binary ids and payloads, an empty payload, big compressible and random ones.
    let u7: &[u8] = b"inbox:{u7}";
    let mut rng = Rng(7);
    let binaries: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"\x00".to_vec(), b"\x00\x01\x02".to_vec()),
        (b"\xff\xfe".to_vec(), b"\xc3\x28\r\n".to_vec()),
        (b"empty".to_vec(), Vec::new()),
        (b"123".to_vec(), b"456".to_vec()),
        (b"big-z".to_vec(), vec![b'z'; 3000]),
        (b"big-r".to_vec(), rng.bytes(512)),
    ];
    for (i, (id, p)) in binaries.iter().enumerate() {
        assert_eq!(alloc(&mut con, u7, id, Some(p)), i as i64 + 1);
    }
    assert_eq!(alloc(&mut con, u7, b"no-payload", None), 7);
    ack(&mut con, u7, b"\x00user\xff", 5);

    // trimmed:{t}: MINSEQ trim; dedup records outlive the trimmed entries.
    let t: &[u8] = b"trimmed:{t}";
    for i in 1..=8 {
        alloc(&mut con, t, format!("t{i}").as_bytes(), Some(b"t"));
    }
    assert_eq!(trim(&mut con, t, "MINSEQ", 6), 5);
    ack(&mut con, t, b"reader", 7);

    // emptied:{e}: every entry trimmed, last remembered.
    let e: &[u8] = b"emptied:{e}";
    for i in 1..=3 {
        alloc(&mut con, e, format!("e{i}").as_bytes(), None);
    }
    assert_eq!(trim(&mut con, e, "MAXLEN", 0), 3);

    // fenced:{f}: a log written before a promotion, then allocated on with the fence on:
    // epoch 1 and skipped seqs in the encoding. The promotion is a replica (of a port
    // nobody listens on) turned master again.
    let f: &[u8] = b"fenced:{f}";
    for i in 1..=3 {
        alloc(&mut con, f, format!("f{i}").as_bytes(), Some(b"before"));
    }
    let _: () = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(common::free_port()).query(&mut con).unwrap();
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("seq.failover-gap").arg(10).query(&mut con).unwrap();
    assert_eq!(alloc(&mut con, f, b"f4", Some(b"after")), 14, "the fence skips 10 seqs");
    assert_eq!(alloc(&mut con, f, b"f5", Some(b"after")), 15);

    let _: () = redis::cmd("SET").arg("plain").arg("a plain string").query(&mut con).unwrap();

    let payload: Vec<u8> = redis::cmd("DUMP").arg(g1).query(&mut con).unwrap();
    let encver = dump_encver(&payload);
    assert_eq!(encver, 1, "this fixture is for encoding version 1, the module writes {encver}");

    let ids = |prefix: &str, n: i64| (1..=n).map(|i| format!("{prefix}{i}").into_bytes()).collect::<Vec<_>>();
    let exp = Expect {
        logs: vec![
            describe_log(&mut con, g1, &ids("m", 6)),
            describe_log(&mut con, u7, &{
                let mut ids: Vec<Vec<u8>> = binaries.iter().map(|(i, _)| i.clone()).collect();
                ids.push(b"no-payload".to_vec());
                ids
            }),
            describe_log(&mut con, t, &ids("t", 8)),
            describe_log(&mut con, e, &ids("e", 3)),
            describe_log(&mut con, f, &ids("f", 5)),
        ],
        strings: vec![(b"plain".to_vec(), b"a plain string".to_vec())],
    };
    write_fixture(&mut con, &dir, &exp, encver);
}
