//! Released RDB encodings keep loading: `tests/fixtures/seq-v1.rdb` (written by encoding
//! version 1 of the module) is loaded by the current module and must read back exactly as
//! `tests/fixtures/seq-v1.expected.txt` describes.
//!
//! Both files are produced once, from a fixed workload, by the ignored test in this file:
//!
//! ```text
//! cargo build --release
//! cargo test --release --test fixtures_load -- --ignored make_fixture_v1
//! ```
//!
//! It refuses to overwrite existing fixtures (a released encoding's fixture never changes)
//! unless `SEQ_FIXTURE_OVERWRITE=1`.
//!
//! Expected-file format, one record per line, bytes hex-encoded, `#` starts a comment:
//! `log <key>` opens a log; then `info <field> <int>` (SEQ.INFO, in order),
//! `entry <seq> <id> <ts> <payload>`, `cursor <consumer> <cursor>`, `dedup <id> <seq>`
//! (a retry of `id` answers `seq`); `string <key> <value>` is a plain string key.

mod common;

use std::path::{Path, PathBuf};

use common::contract::*;
use common::{ScratchDir, Server};
use redis::{Connection, Value};

/// `tests/fixtures`, or `$SEQ_FIXTURES_DIR` (to try the generator without touching the
/// committed fixture).
fn fixtures_dir() -> PathBuf {
    match std::env::var_os("SEQ_FIXTURES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
    }
}

#[derive(Debug, Default, PartialEq)]
struct LogExpect {
    key: Vec<u8>,
    info: Vec<(String, i64)>,
    entries: Vec<Entry>,
    cursors: Vec<(Vec<u8>, i64)>,
    dedup: Vec<(Vec<u8>, i64)>,
}

#[derive(Debug, Default, PartialEq)]
struct Expect {
    logs: Vec<LogExpect>,
    strings: Vec<(Vec<u8>, Vec<u8>)>,
}

fn int(s: &str, line: &str) -> i64 {
    s.parse().unwrap_or_else(|_| panic!("bad integer {s:?} in line {line:?}"))
}

fn parse_expected(text: &str) -> Expect {
    let mut exp = Expect::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let t: Vec<&str> = line.split(' ').collect();
        let cur = || "a record before any `log` line";
        match t.as_slice() {
            ["log", key] => exp.logs.push(LogExpect { key: bytes_of(key), ..Default::default() }),
            ["string", key, value] => exp.strings.push((bytes_of(key), bytes_of(value))),
            ["info", field, v] => exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur())).info.push((field.to_string(), int(v, line))),
            ["entry", seq, id, ts, payload] => exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur())).entries.push((
                int(seq, line),
                bytes_of(id),
                int(ts, line),
                bytes_of(payload),
            )),
            ["cursor", name, c] => exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur())).cursors.push((bytes_of(name), int(c, line))),
            ["dedup", id, seq] => exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur())).dedup.push((bytes_of(id), int(seq, line))),
            _ => panic!("unknown line in the expected file: {line:?}"),
        }
    }
    exp
}

/// An empty hex field must still be a token: `-` stands for zero bytes.
fn hx(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_string()
    } else {
        hex(bytes)
    }
}

/// The inverse of `hx`.
fn bytes_of(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        unhex(s)
    }
}

/// What the expected file records about one log, read from a live server.
fn describe_log(con: &mut Connection, key: &[u8], dedup_ids: &[Vec<u8>]) -> LogExpect {
    let info = seq_info(con, key).expect("log exists");
    let pairs = seq_info_pairs(con, key).unwrap();
    let info_ordered: Vec<(String, i64)> = pairs.iter().map(|(k, _)| (k.clone(), info[k])).collect();
    let mut dedup = Vec::new();
    for id in dedup_ids {
        // Only ids the log knows: a retry must not append here.
        let es_before = entries(con, key);
        let seq = alloc(con, key, id, None);
        assert_eq!(entries(con, key), es_before, "dedup probe of {} appended", show_bytes(id));
        dedup.push((id.clone(), seq));
    }
    LogExpect { key: key.to_vec(), info: info_ordered, entries: entries(con, key), cursors: cursors(con, key), dedup }
}

fn render(exp: &Expect, encver: u64) -> String {
    let mut out = String::new();
    out.push_str("# redis-seq RDB fixture, encoding version ");
    out.push_str(&encver.to_string());
    out.push_str(": written by `cargo test --release --test fixtures_load -- --ignored make_fixture_v1`.\n");
    out.push_str("# Bytes are hex (`-` = empty). Do not edit: a released encoding's fixture never changes.\n");
    for l in &exp.logs {
        out.push_str(&format!("log {}\n", hx(&l.key)));
        for (f, v) in &l.info {
            out.push_str(&format!("info {f} {v}\n"));
        }
        for e in &l.entries {
            out.push_str(&format!("entry {} {} {} {}\n", e.0, hx(&e.1), e.2, hx(&e.3)));
        }
        for (c, v) in &l.cursors {
            out.push_str(&format!("cursor {} {v}\n", hx(c)));
        }
        for (id, seq) in &l.dedup {
            out.push_str(&format!("dedup {} {seq}\n", hx(id)));
        }
    }
    for (k, v) in &exp.strings {
        out.push_str(&format!("string {} {}\n", hx(k), hx(v)));
    }
    out
}

#[test]
fn loads_the_encoding_v1_fixture() {
    let rdb = fixtures_dir().join("seq-v1.rdb");
    let expected = fixtures_dir().join("seq-v1.expected.txt");
    assert!(
        rdb.exists() && expected.exists(),
        "missing {} or {}: generate them once with `cargo test --release --test fixtures_load -- --ignored make_fixture_v1`",
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
            assert_eq!(alloc(&mut con, &l.key, id, Some(b"retry")), *seq, "{}: retry of {}", show_bytes(&l.key), show_bytes(id));
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

/// Not a test: writes the fixture files from a fixed workload (see the module docs).
#[test]
#[ignore]
fn make_fixture_v1() {
    let rdb_out = fixtures_dir().join("seq-v1.rdb");
    let exp_out = fixtures_dir().join("seq-v1.expected.txt");
    let overwrite = std::env::var("SEQ_FIXTURE_OVERWRITE").as_deref() == Ok("1");
    assert!(
        overwrite || (!rdb_out.exists() && !exp_out.exists()),
        "the v1 fixture exists; a released encoding's fixture never changes (SEQ_FIXTURE_OVERWRITE=1 to force)"
    );
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
    assert_eq!(payload[0], 7, "a log's DUMP is a module value");
    let mut pos = 1;
    assert_eq!(payload[pos], 0x81, "module id as a 64-bit RDB length");
    pos += 1;
    let id = u64::from_be_bytes(payload[pos..pos + 8].try_into().unwrap());
    let encver = id & 1023;
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
    let _: () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    std::fs::create_dir_all(fixtures_dir()).unwrap();
    std::fs::copy(dir.0.join("dump.rdb"), &rdb_out).expect("copy dump.rdb");
    let text = render(&exp, encver);
    assert_eq!(parse_expected(&text), exp, "the expected file does not parse back to what was written");
    std::fs::write(&exp_out, text).unwrap();
    eprintln!("wrote {} and {}", rdb_out.display(), exp_out.display());
}
