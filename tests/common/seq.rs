//! The module's commands as typed calls: append, read, SEQ.INFO, cursors. Keys, ids and
//! consumers are bytes (`&str`, `b"..."` and `Vec<u8>` all do), since the contract is
//! binary-safe.

use std::collections::BTreeMap;

use redis::{Connection, Value};

use super::client::{call, error_text, show_bytes, show_cmd};
use super::replies::{field_pairs, parse_entries, sync_reply, Entry};

/// The `SEQ.INFO` fields in the order the contract fixes.
pub const INFO_FIELDS: [&str; 11] = [
    "last",
    "first",
    "length",
    "dedup-entries",
    "consumers",
    "first-ts",
    "last-ts",
    "epoch",
    "skipped-seqs",
    "rev",
    "deleted",
];

/// `SEQ.ALLOC key id [payload]`, which must succeed; returns the seq.
pub fn alloc(con: &mut Connection, key: impl AsRef<[u8]>, id: impl AsRef<[u8]>, payload: Option<&[u8]>) -> i64 {
    let mut cmd = redis::cmd("SEQ.ALLOC");
    cmd.arg(key.as_ref()).arg(id.as_ref());
    if let Some(p) = payload {
        cmd.arg(p);
    }
    match cmd.query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("{} replied {other:?}, expected an integer", show_cmd(&cmd)),
    }
}

/// Appends `n` entries with ids `{prefix}{i}` (i from 1) and payloads `payload-{prefix}{i}`
/// in one pipeline; returns the seqs.
pub fn alloc_many(con: &mut Connection, key: &str, prefix: &str, n: usize) -> Vec<i64> {
    let mut pipe = redis::pipe();
    for i in 1..=n {
        pipe.cmd("SEQ.ALLOC").arg(key).arg(format!("{prefix}{i}")).arg(format!("payload-{prefix}{i}"));
    }
    pipe.query::<Vec<i64>>(con).unwrap_or_else(|e| panic!("pipelined SEQ.ALLOC: {}", error_text(&e)))
}

/// `SEQ.LAST key`, which must reply an integer.
pub fn last(con: &mut Connection, key: impl AsRef<[u8]>) -> i64 {
    let key = key.as_ref();
    match redis::cmd("SEQ.LAST").arg(key).query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("SEQ.LAST {} replied {other:?}, expected an integer", show_bytes(key)),
    }
}

/// Sends a range-like command and parses the entries it returns.
pub fn query_entries(con: &mut impl redis::ConnectionLike, cmd: &redis::Cmd) -> Vec<Entry> {
    match cmd.query::<Value>(con) {
        Ok(v) => parse_entries(&v),
        Err(e) => panic!("{} failed: {}", show_cmd(cmd), error_text(&e)),
    }
}

/// `SEQ.RANGE key - +`: every retained entry, ascending.
pub fn entries(con: &mut impl redis::ConnectionLike, key: impl AsRef<[u8]>) -> Vec<Entry> {
    query_entries(con, redis::cmd("SEQ.RANGE").arg(key.as_ref()).arg("-").arg("+"))
}

/// `SEQ.RANGE key start end [COUNT n]` with textual bounds.
pub fn range(con: &mut Connection, key: impl AsRef<[u8]>, start: &str, end: &str, count: Option<i64>) -> Vec<Entry> {
    let mut cmd = redis::cmd("SEQ.RANGE");
    cmd.arg(key.as_ref()).arg(start).arg(end);
    if let Some(n) = count {
        cmd.arg("COUNT").arg(n);
    }
    query_entries(con, &cmd)
}

/// `SEQ.REVRANGE key end start [COUNT n]` with textual bounds.
pub fn revrange(con: &mut Connection, key: impl AsRef<[u8]>, end: &str, start: &str, count: Option<i64>) -> Vec<Entry> {
    let mut cmd = redis::cmd("SEQ.REVRANGE");
    cmd.arg(key.as_ref()).arg(end).arg(start);
    if let Some(n) = count {
        cmd.arg("COUNT").arg(n);
    }
    query_entries(con, &cmd)
}

/// Runs `SEQ.SYNC` with the given arguments and parses the reply.
pub fn sync(con: &mut Connection, args: &[&str]) -> (i64, Vec<Entry>) {
    let mut full = vec!["SEQ.SYNC"];
    full.extend_from_slice(args);
    sync_reply(&call(con, &full))
}

/// `SEQ.INFO key` as ordered (field, value) pairs; `None` for the nil reply. Accepts the
/// RESP2 flat array and the RESP3 map.
pub fn seq_info_pairs(con: &mut Connection, key: impl AsRef<[u8]>) -> Option<Vec<(String, Value)>> {
    let key = key.as_ref();
    let reply: Value = redis::cmd("SEQ.INFO")
        .arg(key)
        .query(con)
        .unwrap_or_else(|e| panic!("SEQ.INFO {} failed: {}", show_bytes(key), error_text(&e)));
    field_pairs(&reply)
}

/// `SEQ.INFO key` as field -> integer (every contract field is an integer); `None` for nil.
pub fn seq_info(con: &mut Connection, key: impl AsRef<[u8]>) -> Option<BTreeMap<String, i64>> {
    seq_info_pairs(con, key).map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| match v {
                Value::Int(n) => (k, n),
                other => panic!("SEQ.INFO field {k} is not an integer: {other:?}"),
            })
            .collect()
    })
}

/// `SEQ.INFO key` that must exist, with every contract field present.
pub fn info_of(con: &mut Connection, key: impl AsRef<[u8]>) -> BTreeMap<String, i64> {
    let key = key.as_ref();
    let info = seq_info(con, key).unwrap_or_else(|| panic!("SEQ.INFO {} is nil", show_bytes(key)));
    for f in INFO_FIELDS {
        assert!(info.contains_key(f), "SEQ.INFO {} lacks field {f}: {info:?}", show_bytes(key));
    }
    info
}

/// A field of a SEQ.INFO map.
pub fn field(map: &BTreeMap<String, i64>, name: &str) -> i64 {
    *map.get(name).unwrap_or_else(|| panic!("SEQ.INFO has no field {name:?}: {map:?}"))
}

/// `SEQ.CURSORS key` as (consumer, cursor) pairs sorted by consumer, asserting the flat
/// `[bulk, integer, ...]` shape.
pub fn cursors(con: &mut Connection, key: impl AsRef<[u8]>) -> Vec<(Vec<u8>, i64)> {
    let v: Value = redis::cmd("SEQ.CURSORS")
        .arg(key.as_ref())
        .query(con)
        .unwrap_or_else(|e| panic!("SEQ.CURSORS failed: {}", error_text(&e)));
    match v {
        Value::Array(items) => {
            assert!(items.len().is_multiple_of(2), "SEQ.CURSORS odd-length reply {items:?}");
            let mut out: Vec<(Vec<u8>, i64)> = items
                .chunks(2)
                .map(|p| match (&p[0], &p[1]) {
                    (Value::BulkString(name), Value::Int(c)) => (name.clone(), *c),
                    other => panic!("SEQ.CURSORS pair is not [bulk, integer]: {other:?}"),
                })
                .collect();
            out.sort();
            out
        }
        other => panic!("SEQ.CURSORS replied {other:?}"),
    }
}

/// (consumer, count) pairs as `cursors` returns them, sorted, for comparisons.
pub fn pairs(list: &[(&str, i64)]) -> Vec<(Vec<u8>, i64)> {
    let mut v: Vec<(Vec<u8>, i64)> = list.iter().map(|(c, n)| (c.as_bytes().to_vec(), *n)).collect();
    v.sort();
    v
}

/// Whether a key exists.
pub fn exists(con: &mut Connection, key: impl AsRef<[u8]>) -> bool {
    redis::cmd("EXISTS").arg(key.as_ref()).query::<i64>(con).expect("EXISTS") == 1
}
