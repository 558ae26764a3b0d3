//! Everything a client can observe of one log or of a whole database, for before/after
//! comparisons across reloads, restarts, replication and failovers.

use std::collections::BTreeMap;

use redis::{Connection, Value};

use super::client::{error_text, show_bytes};
use super::replies::Entry;
use super::seq::{cursors, entries, seq_info, seq_info_pairs};

/// One log as its reads show it: SEQ.INFO, all entries, cursors and each cursor's unread count.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub info: Option<BTreeMap<String, i64>>,
    pub entries: Vec<Entry>,
    pub cursors: Vec<(Vec<u8>, i64)>,
    pub unread: Vec<(Vec<u8>, i64)>,
}

/// Observes a log: SEQ.INFO, all entries, cursors and each cursor's unread count.
pub fn snapshot(con: &mut Connection, key: &str) -> Snapshot {
    let info = seq_info(con, key);
    let entries = entries(con, key);
    let cursors = cursors(con, key);
    let unread = cursors
        .iter()
        .map(|(c, _)| {
            let n: i64 = redis::cmd("SEQ.UNREAD")
                .arg(key)
                .arg(c)
                .query(con)
                .unwrap_or_else(|e| panic!("SEQ.UNREAD {key} {}: {}", show_bytes(c), error_text(&e)));
            (c.clone(), n)
        })
        .collect();
    Snapshot { info, entries, cursors, unread }
}

/// `DEBUG DIGEST-VALUE key` (needs `DEBUG_ON`).
pub fn digest_value(con: &mut Connection, key: &[u8]) -> Vec<u8> {
    let v: Value = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg(key)
        .query(con)
        .unwrap_or_else(|e| panic!("DEBUG DIGEST-VALUE failed: {}", error_text(&e)));
    match v {
        Value::Array(mut items) if items.len() == 1 => match items.remove(0) {
            Value::BulkString(b) => b,
            Value::SimpleString(s) => s.into_bytes(),
            other => panic!("DEBUG DIGEST-VALUE item {other:?}"),
        },
        other => panic!("DEBUG DIGEST-VALUE replied {other:?}"),
    }
}

/// `DEBUG DIGEST` of the whole dataset (needs `DEBUG_ON`).
pub fn digest(con: &mut Connection) -> String {
    let v: Value = redis::cmd("DEBUG")
        .arg("DIGEST")
        .query(con)
        .unwrap_or_else(|e| panic!("DEBUG DIGEST failed: {}", error_text(&e)));
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::SimpleString(s) => s,
        other => panic!("DEBUG DIGEST replied {other:?}"),
    }
}

/// All keys of the current database (binary-safe), sorted.
pub fn all_keys(con: &mut Connection) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
    keys.sort();
    keys
}

/// The observable state of one log: SEQ.INFO (ordered), every entry, DIGEST-VALUE.
#[derive(Debug, Clone, PartialEq)]
pub struct LogState {
    pub info: Vec<(String, Value)>,
    pub entries: Vec<Entry>,
    pub digest: Vec<u8>,
}

pub fn log_state(con: &mut Connection, key: &[u8]) -> LogState {
    LogState {
        info: seq_info_pairs(con, key).unwrap_or_else(|| panic!("SEQ.INFO {} is nil", show_bytes(key))),
        entries: entries(con, key),
        digest: digest_value(con, key),
    }
}

/// The observable state of every key in the database: each log's `LogState`, each key of a
/// built-in type as its `DUMP`, plus `DEBUG DIGEST`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbState {
    pub logs: BTreeMap<Vec<u8>, LogState>,
    pub others: BTreeMap<Vec<u8>, Vec<u8>>,
    pub digest: String,
}

/// Built-in types, as `TYPE` names them; anything else is taken for the module's log type.
pub const BUILTIN_TYPES: [&str; 6] = ["string", "list", "set", "zset", "hash", "stream"];

pub fn key_type(con: &mut Connection, key: &[u8]) -> String {
    redis::cmd("TYPE").arg(key).query(con).expect("TYPE")
}

pub fn db_state(con: &mut Connection) -> DbState {
    let mut logs = BTreeMap::new();
    let mut others = BTreeMap::new();
    for k in all_keys(con) {
        let t = key_type(con, &k);
        if BUILTIN_TYPES.contains(&t.as_str()) {
            let dump: Vec<u8> = redis::cmd("DUMP").arg(&k).query(con).expect("DUMP");
            others.insert(k, dump);
        } else {
            let s = log_state(con, &k);
            logs.insert(k, s);
        }
    }
    DbState { logs, others, digest: digest(con) }
}

/// Asserts two database states are equal, naming the first key that differs.
pub fn assert_same_db(before: &DbState, after: &DbState, what: &str) {
    let kb: Vec<_> = before.logs.keys().map(|k| show_bytes(k)).collect();
    let ka: Vec<_> = after.logs.keys().map(|k| show_bytes(k)).collect();
    assert_eq!(kb, ka, "{what}: the set of log keys differs");
    for (k, b) in &before.logs {
        let a = &after.logs[k];
        assert_eq!(b.info, a.info, "{what}: SEQ.INFO of {} differs", show_bytes(k));
        assert_eq!(b.entries.len(), a.entries.len(), "{what}: entry count of {} differs", show_bytes(k));
        for (eb, ea) in b.entries.iter().zip(&a.entries) {
            assert_eq!(eb, ea, "{what}: an entry of {} differs", show_bytes(k));
        }
        assert_eq!(b.digest, a.digest, "{what}: DEBUG DIGEST-VALUE of {} differs", show_bytes(k));
    }
    assert_eq!(before.others, after.others, "{what}: keys of built-in types differ");
    assert_eq!(before.digest, after.digest, "{what}: DEBUG DIGEST differs");
}
