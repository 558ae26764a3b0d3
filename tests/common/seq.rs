//! String-keyed reply parsers and command helpers for the retention, cursor, blocking and
//! operator-view tests (`contract.rs` is the byte-level sibling used by the core-contract
//! tests; both are declared from `mod.rs`).
//!
//! Everything here panics with the command and the raw reply when a reply does not have
//! the shape the contract (`COMMANDS.md`) promises, so a shape bug reads as a test
//! failure that names the command, not as a confusing type error.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use redis::{Connection, RedisError, Value};

/// Builds a command from string arguments.
pub fn cmd_of(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command and returns its raw reply; panics (naming the command) on an error reply.
pub fn call(con: &mut Connection, args: &[&str]) -> Value {
    match cmd_of(args).query::<Value>(con) {
        Ok(Value::ServerError(e)) => panic!("{args:?} replied with an error: {} {:?}", e.code(), e.details()),
        Ok(v) => v,
        Err(e) => panic!("{args:?} failed: {}", error_text(&e)),
    }
}

/// Runs a command and returns the reply or the error reply's text (`ERR ...`, `WRONGTYPE ...`).
pub fn try_call(con: &mut Connection, args: &[&str]) -> Result<Value, String> {
    match cmd_of(args).query::<Value>(con) {
        Ok(Value::ServerError(e)) => Err(format!("{} {}", e.code(), e.details().unwrap_or(""))),
        Ok(v) => Ok(v),
        Err(e) => Err(error_text(&e)),
    }
}

/// Runs a command that must be refused and returns the error text, e.g. `ERR wrong number ...`.
pub fn call_err(con: &mut Connection, args: &[&str]) -> String {
    match try_call(con, args) {
        Ok(v) => panic!("{args:?} should have been refused, got {v:?}"),
        Err(e) => e,
    }
}

/// Asserts that a command is refused with an `ERR ` reply whose text contains every one of
/// `needles` (case-insensitive); returns the text.
pub fn assert_err(con: &mut Connection, args: &[&str], needles: &[&str]) -> String {
    let e = call_err(con, args);
    assert!(e.starts_with("ERR "), "{args:?}: expected an `ERR ...` reply, got {e:?}");
    let lower = e.to_lowercase();
    for n in needles {
        assert!(lower.contains(&n.to_lowercase()), "{args:?}: error {e:?} does not mention {n:?}");
    }
    e
}

/// `CODE detail` for an error reply, or the client-side error text otherwise.
pub fn error_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// An integer reply (panics otherwise).
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected an integer reply, got {other:?}"),
    }
}

/// A command whose reply must be an integer.
pub fn call_int(con: &mut Connection, args: &[&str]) -> i64 {
    let v = call(con, args);
    match v {
        Value::Int(i) => i,
        other => panic!("{args:?}: expected an integer reply, got {other:?}"),
    }
}

/// A bulk/simple string or verbatim reply as UTF-8 text (lossy).
pub fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Int(i) => i.to_string(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

/// An array reply's items (RESP3 sets are accepted too).
pub fn array(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        other => panic!("expected an array reply, got {other:?}"),
    }
}

/// A connection whose reads give up after `secs`, so a server that never answers fails
/// the test instead of hanging it.
pub fn connect_with_timeout(server: &super::Server, secs: u64) -> Connection {
    let con = server.connect();
    con.set_read_timeout(Some(Duration::from_secs(secs))).expect("set_read_timeout");
    con.set_write_timeout(Some(Duration::from_secs(secs))).expect("set_write_timeout");
    con
}

/// One log entry: `[seq, client-msg-id, ts-ms, payload]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub id: Vec<u8>,
    pub ts: i64,
    pub payload: Vec<u8>,
}

impl Entry {
    pub fn id_str(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }
}

fn bytes(v: &Value, what: &str) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.as_bytes().to_vec(),
        other => panic!("entry {what}: expected a bulk string, got {other:?}"),
    }
}

/// Parses one entry, insisting on the 4-element shape.
pub fn entry(v: &Value) -> Entry {
    let items = array(v);
    assert_eq!(items.len(), 4, "an entry is [seq, client-msg-id, ts, payload], got {v:?}");
    Entry {
        seq: int(&items[0]),
        id: bytes(&items[1], "client-msg-id"),
        ts: int(&items[2]),
        payload: bytes(&items[3], "payload"),
    }
}

/// Parses an array of entries.
pub fn entries(v: &Value) -> Vec<Entry> {
    array(v).iter().map(entry).collect()
}

/// Seqs of a list of entries.
pub fn seqs(es: &[Entry]) -> Vec<i64> {
    es.iter().map(|e| e.seq).collect()
}

/// `SEQ.RANGE key - +` parsed.
pub fn range_all(con: &mut Connection, key: &str) -> Vec<Entry> {
    entries(&call(con, &["SEQ.RANGE", key, "-", "+"]))
}

/// `SEQ.ALLOC key id [payload]` → the seq.
pub fn alloc(con: &mut Connection, key: &str, id: &str, payload: Option<&str>) -> i64 {
    match payload {
        Some(p) => call_int(con, &["SEQ.ALLOC", key, id, p]),
        None => call_int(con, &["SEQ.ALLOC", key, id]),
    }
}

/// Appends `n` entries with ids `{prefix}{i}` (i from 1) in one pipeline; returns the seqs.
pub fn alloc_many(con: &mut Connection, key: &str, prefix: &str, n: usize) -> Vec<i64> {
    let mut pipe = redis::pipe();
    for i in 1..=n {
        pipe.cmd("SEQ.ALLOC").arg(key).arg(format!("{prefix}{i}")).arg(format!("payload-{prefix}{i}"));
    }
    pipe.query::<Vec<i64>>(con).unwrap_or_else(|e| panic!("pipelined SEQ.ALLOC: {}", error_text(&e)))
}

/// A `SEQ.SYNC` reply: `[last, [entries]]`.
pub fn sync_reply(v: &Value) -> (i64, Vec<Entry>) {
    let items = array(v);
    assert_eq!(items.len(), 2, "SEQ.SYNC replies [last, [entries]], got {v:?}");
    (int(&items[0]), entries(&items[1]))
}

/// Runs `SEQ.SYNC` with the given arguments and parses the reply.
pub fn sync(con: &mut Connection, args: &[&str]) -> (i64, Vec<Entry>) {
    let mut full = vec!["SEQ.SYNC"];
    full.extend_from_slice(args);
    sync_reply(&call(con, &full))
}

/// A field/value reply (flat RESP2 array or RESP3 map) as an ordered map; `None` for nil.
pub fn field_map(v: &Value) -> Option<BTreeMap<String, Value>> {
    match v {
        Value::Nil => None,
        Value::Map(pairs) => Some(pairs.iter().map(|(k, v)| (text(k), v.clone())).collect()),
        Value::Array(items) => {
            assert!(items.len() % 2 == 0, "field/value array of odd length: {v:?}");
            Some(items.chunks(2).map(|kv| (text(&kv[0]), kv[1].clone())).collect())
        }
        other => panic!("expected a field/value reply, got {other:?}"),
    }
}

/// `SEQ.INFO key`, parsed; `None` when the key is missing (nil reply).
pub fn info(con: &mut Connection, key: &str) -> Option<BTreeMap<String, Value>> {
    field_map(&call(con, &["SEQ.INFO", key]))
}

/// `SEQ.INFO key` for a key that must exist.
pub fn info_of(con: &mut Connection, key: &str) -> BTreeMap<String, Value> {
    info(con, key).unwrap_or_else(|| panic!("SEQ.INFO {key} replied nil for a key that should exist"))
}

/// An integer field of a SEQ.INFO map.
pub fn field(map: &BTreeMap<String, Value>, name: &str) -> i64 {
    match map.get(name) {
        Some(v) => int(v),
        None => panic!("SEQ.INFO has no field {name:?}: {map:?}"),
    }
}

/// `SEQ.CURSORS key` parsed into (consumer, cursor) pairs, sorted by consumer.
pub fn cursors(con: &mut Connection, key: &str) -> Vec<(String, i64)> {
    let v = call(con, &["SEQ.CURSORS", key]);
    let items = array(&v);
    assert!(items.len().is_multiple_of(2), "SEQ.CURSORS is a flat consumer, cursor, ... array; got {v:?}");
    let mut pairs: Vec<(String, i64)> = items.chunks(2).map(|kv| (text(&kv[0]), int(&kv[1]))).collect();
    pairs.sort();
    pairs
}

/// The `INFO <section>` text's `name:value` lines as a map.
pub fn info_section(con: &mut Connection, section: &str) -> BTreeMap<String, String> {
    let raw: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    raw.lines()
        .filter(|l| !l.starts_with('#') && l.contains(':'))
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// The integer fields of `INFO seq`.
pub fn seq_stats(con: &mut Connection) -> BTreeMap<String, i64> {
    info_section(con, "seq")
        .into_iter()
        .map(|(k, v)| {
            let n = v.parse::<i64>().unwrap_or_else(|_| panic!("INFO seq field {k} is not an integer: {v:?}"));
            (k, n)
        })
        .collect()
}

/// One field of `INFO seq`.
pub fn seq_stat(con: &mut Connection, name: &str) -> i64 {
    let stats = seq_stats(con);
    *stats.get(name).unwrap_or_else(|| panic!("INFO seq has no {name}: {stats:?}"))
}

/// `blocked_clients` from `INFO clients` (Redis's own count of blocked clients).
pub fn blocked_clients(con: &mut Connection) -> i64 {
    info_section(con, "clients")
        .get("blocked_clients")
        .and_then(|v| v.parse().ok())
        .expect("INFO clients has blocked_clients")
}

/// Everything a client can observe of one log, for before/after comparisons.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub info: Option<BTreeMap<String, Value>>,
    pub entries: Vec<Entry>,
    pub cursors: Vec<(String, i64)>,
    pub unread: Vec<(String, i64)>,
}

/// Observes a log: SEQ.INFO, all entries, cursors and each cursor's unread count.
pub fn snapshot(con: &mut Connection, key: &str) -> Snapshot {
    let info = info(con, key);
    let entries = range_all(con, key);
    let cursors = cursors(con, key);
    let unread = cursors.iter().map(|(c, _)| (c.clone(), call_int(con, &["SEQ.UNREAD", key, c]))).collect();
    Snapshot { info, entries, cursors, unread }
}

/// Whether a key exists.
pub fn exists(con: &mut Connection, key: &str) -> bool {
    call_int(con, &["EXISTS", key]) == 1
}

/// Waits (up to 20 s) until the replica has applied everything the master has written so
/// far: the replica's `master_repl_offset` reaches the master's. (A `WAIT` sent on a fresh
/// connection returns at once, since that connection wrote nothing; and right after a
/// diskless full sync the master only starts streaming at the replica's first ACK.)
pub fn wait_replica_caught_up(master: &mut Connection, replica: &mut Connection) {
    let target: i64 = info_section(master, "replication")
        .get("master_repl_offset")
        .and_then(|v| v.parse().ok())
        .expect("master_repl_offset on the master");
    let mut seen = -1;
    let ok = super::wait_until(Duration::from_secs(20), || {
        seen =
            info_section(replica, "replication").get("master_repl_offset").and_then(|v| v.parse().ok()).unwrap_or(-1);
        seen >= target
    });
    assert!(ok, "replica stuck at offset {seen}, master at {target}");
}
