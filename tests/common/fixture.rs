//! The RDB fixtures' expected-values format, shared by `tests/it/fixtures_load.rs` (which
//! loads the committed fixture) and `examples/make_fixture_v1.rs` (which wrote it).
//!
//! One record per line, bytes hex-encoded, `#` starts a comment: `log <key>` opens a log;
//! then `info <field> <int>` (SEQ.INFO, in order), `entry <seq> <id> <ts> <payload>`,
//! `cursor <consumer> <cursor>`, `dedup <id> <seq>` (a retry of `id` answers `seq`);
//! from encoding v2, SEQ.CHANGES answers: `changes <since-rev> <rev>` opens a reply, each
//! `change <change-rev> <seq> <id> <ts> <payload>` (an edit) or `change <change-rev> <seq>
//! nil` (a deletion) adds to it, and `resync <since-rev> <r>` is the RESYNC error;
//! `string <key> <value>` is a plain string key.

use std::path::{Path, PathBuf};

use redis::Connection;

use super::client::{hex, show_bytes, unhex};
use super::lifecycle::{changes, resync_rev, Change};
use super::replies::Entry;
use super::seq::{alloc, cursors, entries, seq_info, seq_info_pairs};

/// `tests/fixtures`, or `$SEQ_FIXTURES_DIR` (to try the generator without touching the
/// committed fixture).
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("SEQ_FIXTURES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
    }
}

/// A SEQ.CHANGES answer: `[rev, changes]`, or the RESYNC error's rev.
pub type ChangesAnswer = Result<(i64, Vec<Change>), i64>;

#[derive(Debug, Default, PartialEq)]
pub struct LogExpect {
    pub key: Vec<u8>,
    pub info: Vec<(String, i64)>,
    pub entries: Vec<Entry>,
    pub cursors: Vec<(Vec<u8>, i64)>,
    pub dedup: Vec<(Vec<u8>, i64)>,
    /// SEQ.CHANGES since-rev -> its answer.
    pub changes: Vec<(i64, ChangesAnswer)>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Expect {
    pub logs: Vec<LogExpect>,
    pub strings: Vec<(Vec<u8>, Vec<u8>)>,
}

fn parse_int(s: &str, line: &str) -> i64 {
    s.parse().unwrap_or_else(|_| panic!("bad integer {s:?} in line {line:?}"))
}

pub fn parse_expected(text: &str) -> Expect {
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
            ["info", field, v] => exp
                .logs
                .last_mut()
                .unwrap_or_else(|| panic!("{}", cur()))
                .info
                .push((field.to_string(), parse_int(v, line))),
            ["entry", seq, id, ts, payload] => {
                exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur())).entries.push(Entry {
                    seq: parse_int(seq, line),
                    id: bytes_of(id),
                    ts: parse_int(ts, line),
                    payload: bytes_of(payload),
                })
            }
            ["cursor", name, c] => exp
                .logs
                .last_mut()
                .unwrap_or_else(|| panic!("{}", cur()))
                .cursors
                .push((bytes_of(name), parse_int(c, line))),
            ["dedup", id, seq] => exp
                .logs
                .last_mut()
                .unwrap_or_else(|| panic!("{}", cur()))
                .dedup
                .push((bytes_of(id), parse_int(seq, line))),
            ["changes", since, rev] => exp
                .logs
                .last_mut()
                .unwrap_or_else(|| panic!("{}", cur()))
                .changes
                .push((parse_int(since, line), Ok((parse_int(rev, line), Vec::new())))),
            ["resync", since, rev] => exp
                .logs
                .last_mut()
                .unwrap_or_else(|| panic!("{}", cur()))
                .changes
                .push((parse_int(since, line), Err(parse_int(rev, line)))),
            ["change", rev, seq, rest @ ..] => {
                let entry = match rest {
                    ["nil"] => None,
                    [id, ts, payload] => Some(Entry {
                        seq: parse_int(seq, line),
                        id: bytes_of(id),
                        ts: parse_int(ts, line),
                        payload: bytes_of(payload),
                    }),
                    _ => panic!("bad change line {line:?}"),
                };
                let log = exp.logs.last_mut().unwrap_or_else(|| panic!("{}", cur()));
                let Some((_, Ok((_, list)))) = log.changes.last_mut() else {
                    panic!("a change line outside a `changes` reply: {line:?}")
                };
                list.push(Change { rev: parse_int(rev, line), seq: parse_int(seq, line), entry });
            }
            _ => panic!("unknown line in the expected file: {line:?}"),
        }
    }
    exp
}

/// An empty hex field must still be a token: `-` stands for zero bytes.
pub fn hx(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_string()
    } else {
        hex(bytes)
    }
}

/// The inverse of `hx`.
pub fn bytes_of(s: &str) -> Vec<u8> {
    if s == "-" {
        Vec::new()
    } else {
        unhex(s)
    }
}

/// What the expected file records about one log, read from a live server.
pub fn describe_log(con: &mut Connection, key: &[u8], dedup_ids: &[Vec<u8>]) -> LogExpect {
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
    LogExpect {
        key: key.to_vec(),
        info: info_ordered,
        entries: entries(con, key),
        cursors: cursors(con, key),
        dedup,
        changes: Vec::new(),
    }
}

/// `describe_log` plus every SEQ.CHANGES answer, since-rev 0 to the log's rev.
pub fn describe_changed_log(con: &mut Connection, key: &[u8], dedup_ids: &[Vec<u8>]) -> LogExpect {
    let mut log = describe_log(con, key, dedup_ids);
    let rev = log.info.iter().find(|(f, _)| f == "rev").map_or(0, |(_, v)| *v);
    log.changes = (0..=rev)
        .map(|since| {
            let answer = changes(con, key, since, Some(1000)).map_err(|e| resync_rev(&e));
            (since, answer)
        })
        .collect();
    log
}

pub fn render(exp: &Expect, encver: u64) -> String {
    let mut out = String::new();
    out.push_str("# redis-seq RDB fixture, encoding version ");
    out.push_str(&encver.to_string());
    out.push_str(&format!(": written by `cargo run --release --example {}`.\n", fixture_generator(encver)));
    out.push_str("# Bytes are hex (`-` = empty). Do not edit: a released encoding's fixture never changes.\n");
    for l in &exp.logs {
        out.push_str(&format!("log {}\n", hx(&l.key)));
        for (f, v) in &l.info {
            out.push_str(&format!("info {f} {v}\n"));
        }
        for e in &l.entries {
            out.push_str(&format!("entry {} {} {} {}\n", e.seq, hx(&e.id), e.ts, hx(&e.payload)));
        }
        for (c, v) in &l.cursors {
            out.push_str(&format!("cursor {} {v}\n", hx(c)));
        }
        for (id, seq) in &l.dedup {
            out.push_str(&format!("dedup {} {seq}\n", hx(id)));
        }
        for (since, answer) in &l.changes {
            match answer {
                Err(rev) => out.push_str(&format!("resync {since} {rev}\n")),
                Ok((rev, list)) => {
                    out.push_str(&format!("changes {since} {rev}\n"));
                    for c in list {
                        match &c.entry {
                            None => out.push_str(&format!("change {} {} nil\n", c.rev, c.seq)),
                            Some(e) => out.push_str(&format!(
                                "change {} {} {} {} {}\n",
                                c.rev,
                                c.seq,
                                hx(&e.id),
                                e.ts,
                                hx(&e.payload)
                            )),
                        }
                    }
                }
            }
        }
    }
    for (k, v) in &exp.strings {
        out.push_str(&format!("string {} {}\n", hx(k), hx(v)));
    }
    out
}

/// The encoding version in a log's DUMP payload (a module value: type 7, then the 64-bit
/// module id, whose low 10 bits are the version).
pub fn dump_encver(payload: &[u8]) -> u64 {
    assert_eq!(payload.first(), Some(&7), "a log's DUMP is a module value");
    assert_eq!(payload.get(1), Some(&0x81), "module id as a 64-bit RDB length");
    let id = u64::from_be_bytes(payload[2..10].try_into().expect("a module id"));
    id & 1023
}

/// The example in `examples/` that writes the fixture of encoding `encver`.
pub fn fixture_generator(encver: u64) -> &'static str {
    if encver == 1 {
        "make_fixture_v1"
    } else {
        "make_fixture_lifecycle"
    }
}

/// Saves the server's data set as the fixture of encoding `encver` (`seq-v<encver>.rdb`)
/// with its expected values, refusing to overwrite a released one unless
/// `SEQ_FIXTURE_OVERWRITE=1`: what the fixture generators in `examples/` end with.
pub fn write_fixture(con: &mut Connection, dir: &super::ScratchDir, exp: &Expect, encver: u64) {
    let rdb_out = fixtures_dir().join(format!("seq-v{encver}.rdb"));
    let exp_out = fixtures_dir().join(format!("seq-v{encver}.expected.txt"));
    let overwrite = std::env::var("SEQ_FIXTURE_OVERWRITE").as_deref() == Ok("1");
    assert!(
        overwrite || (!rdb_out.exists() && !exp_out.exists()),
        "the v{encver} fixture exists; a released encoding's fixture never changes (SEQ_FIXTURE_OVERWRITE=1 to force)"
    );
    let _: () = redis::cmd("SAVE").query(con).expect("SAVE");
    std::fs::create_dir_all(fixtures_dir()).expect("create the fixtures directory");
    std::fs::copy(dir.0.join("dump.rdb"), &rdb_out).expect("copy dump.rdb");
    let text = render(exp, encver);
    assert_eq!(parse_expected(&text), *exp, "the expected file does not parse back to what was written");
    std::fs::write(&exp_out, text).expect("write the expected values");
    eprintln!("wrote {} and {}", rdb_out.display(), exp_out.display());
}
