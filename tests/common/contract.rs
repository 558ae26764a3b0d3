//! Strict reply parsers and whole-database snapshots for the sequenced-log commands
//! (byte-level: binary keys, ids and payloads), shared by the core-contract tests. Sibling of
//! `seq.rs` (string-keyed conveniences); both are declared from `mod.rs`.
//! Every parser is strict: a reply of the wrong shape fails the test with the reply in the
//! message.
#![allow(dead_code)]

use redis::{Connection, RedisError, Value};
use std::collections::BTreeMap;

use super::Server;

/// `redis-server` arguments that open `DEBUG` (RELOAD, DIGEST, DIGEST-VALUE) to the tests:
/// Redis 7 refuses DEBUG by default.
pub const DEBUG_ON: [&str; 2] = ["--enable-debug-command", "yes"];

/// The `SEQ.INFO` fields in the order `docs/contract-notes.md` fixes.
pub const INFO_FIELDS: [&str; 9] =
    ["last", "first", "length", "dedup-entries", "consumers", "first-ts", "last-ts", "epoch", "skipped-seqs"];

/// One entry as the contract shapes it: `[seq, client-msg-id, ts-ms, payload]`.
pub type Entry = (i64, Vec<u8>, i64, Vec<u8>);

/// Starts a server with DEBUG enabled plus `extra` arguments.
pub fn start_seq(extra: &[&str]) -> (Server, super::ScratchDir) {
    let mut args: Vec<&str> = DEBUG_ON.to_vec();
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The error reply of a failed call as the server sent it: `CODE detail`.
pub fn err_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// Runs `cmd` and returns its error reply text; fails the test if the call succeeded.
pub fn expect_err(con: &mut Connection, cmd: &redis::Cmd) -> String {
    match cmd.query::<Value>(con) {
        Ok(v) => panic!("expected an error reply to {}, got {v:?}", show_cmd(cmd)),
        Err(e) => {
            assert!(
                e.code().is_some(),
                "expected a server error reply to {}, got a client-side error: {e}",
                show_cmd(cmd)
            );
            err_text(&e)
        }
    }
}

/// A readable rendering of a command's arguments for failure messages.
pub fn show_cmd(cmd: &redis::Cmd) -> String {
    cmd.args_iter()
        .map(|a| match a {
            redis::Arg::Simple(bytes) => show_bytes(bytes),
            redis::Arg::Cursor => "<cursor>".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes as text where printable, `\xNN` otherwise (truncated when long).
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(64) {
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > 64 {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s:?}")))
        .collect()
}

/// `SEQ.ALLOC key id [payload]`, which must succeed; returns the seq.
pub fn alloc(con: &mut Connection, key: &[u8], id: &[u8], payload: Option<&[u8]>) -> i64 {
    let mut cmd = redis::cmd("SEQ.ALLOC");
    cmd.arg(key).arg(id);
    if let Some(p) = payload {
        cmd.arg(p);
    }
    match cmd.query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("{} replied {other:?}, expected an integer", show_cmd(&cmd)),
    }
}

pub fn last(con: &mut Connection, key: &[u8]) -> i64 {
    match redis::cmd("SEQ.LAST").arg(key).query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("SEQ.LAST {} replied {other:?}, expected an integer", show_bytes(key)),
    }
}

/// Parses one entry, asserting the exact `[int, bulk, int, bulk]` shape.
pub fn parse_entry(v: &Value) -> Entry {
    match v {
        Value::Array(items) if items.len() == 4 => match (&items[0], &items[1], &items[2], &items[3]) {
            (Value::Int(seq), Value::BulkString(id), Value::Int(ts), Value::BulkString(payload)) => {
                (*seq, id.clone(), *ts, payload.clone())
            }
            _ => panic!("entry is not [integer, bulk, integer, bulk]: {v:?}"),
        },
        _ => panic!("entry is not a 4-element array: {v:?}"),
    }
}

/// Parses an array of entries.
pub fn parse_entries(v: &Value) -> Vec<Entry> {
    match v {
        Value::Array(items) => items.iter().map(parse_entry).collect(),
        _ => panic!("expected an array of entries, got {v:?}"),
    }
}

/// Sends a range-like command and parses the entries it returns.
pub fn query_entries(con: &mut Connection, cmd: &redis::Cmd) -> Vec<Entry> {
    match cmd.query::<Value>(con) {
        Ok(v) => parse_entries(&v),
        Err(e) => panic!("{} failed: {}", show_cmd(cmd), err_text(&e)),
    }
}

/// `SEQ.RANGE key - +`: every retained entry, ascending.
pub fn entries(con: &mut Connection, key: &[u8]) -> Vec<Entry> {
    query_entries(con, redis::cmd("SEQ.RANGE").arg(key).arg("-").arg("+"))
}

/// `SEQ.RANGE key start end [COUNT n]` with textual bounds.
pub fn range(con: &mut Connection, key: &[u8], start: &str, end: &str, count: Option<i64>) -> Vec<Entry> {
    let mut cmd = redis::cmd("SEQ.RANGE");
    cmd.arg(key).arg(start).arg(end);
    if let Some(n) = count {
        cmd.arg("COUNT").arg(n);
    }
    query_entries(con, &cmd)
}

/// `SEQ.REVRANGE key end start [COUNT n]` with textual bounds.
pub fn revrange(con: &mut Connection, key: &[u8], end: &str, start: &str, count: Option<i64>) -> Vec<Entry> {
    let mut cmd = redis::cmd("SEQ.REVRANGE");
    cmd.arg(key).arg(end).arg(start);
    if let Some(n) = count {
        cmd.arg("COUNT").arg(n);
    }
    query_entries(con, &cmd)
}

/// `SEQ.INFO key` as ordered (field, value) pairs; `None` for the nil reply. Accepts the
/// RESP2 flat array and the RESP3 map.
pub fn seq_info_pairs(con: &mut Connection, key: &[u8]) -> Option<Vec<(String, Value)>> {
    let reply: Value = redis::cmd("SEQ.INFO")
        .arg(key)
        .query(con)
        .unwrap_or_else(|e| panic!("SEQ.INFO {} failed: {}", show_bytes(key), err_text(&e)));
    info_pairs_of(&reply)
}

/// Turns a SEQ.INFO reply into ordered pairs (nil → None).
pub fn info_pairs_of(reply: &Value) -> Option<Vec<(String, Value)>> {
    let name = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).expect("field name is UTF-8"),
        Value::SimpleString(s) => s.clone(),
        other => panic!("SEQ.INFO field name is not a string: {other:?}"),
    };
    match reply {
        Value::Nil => None,
        Value::Array(items) => {
            assert!(items.len() % 2 == 0, "SEQ.INFO flat array has an odd length: {reply:?}");
            Some(items.chunks(2).map(|p| (name(&p[0]), p[1].clone())).collect())
        }
        Value::Map(pairs) => Some(pairs.iter().map(|(k, v)| (name(k), v.clone())).collect()),
        other => panic!("SEQ.INFO replied {other:?}, expected a field/value array, a map or nil"),
    }
}

/// `SEQ.INFO key` as field → integer (every contract field is an integer); `None` for nil.
pub fn seq_info(con: &mut Connection, key: &[u8]) -> Option<BTreeMap<String, i64>> {
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
pub fn info_of(con: &mut Connection, key: &[u8]) -> BTreeMap<String, i64> {
    let info = seq_info(con, key).unwrap_or_else(|| panic!("SEQ.INFO {} is nil", show_bytes(key)));
    for f in INFO_FIELDS {
        assert!(info.contains_key(f), "SEQ.INFO {} lacks field {f}: {info:?}", show_bytes(key));
    }
    info
}

/// `DEBUG DIGEST-VALUE key` (needs `DEBUG_ON`).
pub fn digest_value(con: &mut Connection, key: &[u8]) -> Vec<u8> {
    let v: Value = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg(key)
        .query(con)
        .unwrap_or_else(|e| panic!("DEBUG DIGEST-VALUE failed: {}", err_text(&e)));
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
        .unwrap_or_else(|e| panic!("DEBUG DIGEST failed: {}", err_text(&e)));
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::SimpleString(s) => s,
        other => panic!("DEBUG DIGEST replied {other:?}"),
    }
}

/// `SEQ.CURSORS key` as consumer → cursor, asserting the flat-array shape.
pub fn cursors(con: &mut Connection, key: &[u8]) -> Vec<(Vec<u8>, i64)> {
    let v: Value = redis::cmd("SEQ.CURSORS")
        .arg(key)
        .query(con)
        .unwrap_or_else(|e| panic!("SEQ.CURSORS failed: {}", err_text(&e)));
    match v {
        Value::Array(items) => {
            assert!(items.len() % 2 == 0, "SEQ.CURSORS odd-length reply {items:?}");
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

/// The server's clock in milliseconds (`TIME`).
pub fn server_time_ms(con: &mut Connection) -> i64 {
    let (s, us): (i64, i64) = redis::cmd("TIME").query(con).expect("TIME");
    s * 1000 + us / 1000
}

/// Whether the server answers PING on a new connection.
pub fn answers_ping(server: &Server) -> bool {
    let Ok(client) = redis::Client::open(server.url()) else { return false };
    let Ok(mut con) = client.get_connection_with_timeout(std::time::Duration::from_secs(5)) else {
        return false;
    };
    matches!(redis::cmd("PING").query::<String>(&mut con), Ok(ref s) if s == "PONG")
}

/// A field of `INFO <section>` as text.
pub fn info_field(con: &mut Connection, section: &str, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
}

/// A command from byte-string arguments (the first is the command name).
pub fn cmd_bytes(args: &[&[u8]]) -> redis::Cmd {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name is UTF-8"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd
}

/// Asserts an error reply text starts with `ERR ` and names the problem: it contains at
/// least one of `any_of` (case-insensitive; an empty list accepts any `ERR` reply).
pub fn assert_err_names(text: &str, any_of: &[&str], context: &str) {
    assert!(text.starts_with("ERR "), "{context}: error {text:?} does not start with `ERR `");
    let lower = text.to_lowercase();
    assert!(
        any_of.is_empty() || any_of.iter().any(|k| lower.contains(&k.to_lowercase())),
        "{context}: error {text:?} names none of {any_of:?}"
    );
}

/// A small deterministic PRNG (xorshift64*), so workloads are reproducible without a crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// Between 0 and `max - 1` random bytes.
    pub fn bytes_below(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max) as usize;
        self.bytes(len)
    }
}
