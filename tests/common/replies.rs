//! Reply parsers: scalars, the entry shape `[seq, client-msg-id, ts-ms, payload]`,
//! field/value replies (SEQ.INFO, COMMAND DOCS) and the `name:value` text of `INFO`.
//!
//! Every parser is strict and panics with the raw reply when it does not have the shape
//! the contract (`COMMANDS.md`) promises, so a shape bug reads as a test failure that
//! shows the reply, not as a confusing type error.

use std::collections::BTreeMap;

use redis::Value;

/// An integer reply (panics otherwise).
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected an integer reply, got {other:?}"),
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

/// One log entry: `[seq, client-msg-id, ts-ms, payload]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// Parses one entry, asserting the exact `[integer, bulk, integer, bulk]` shape.
pub fn parse_entry(v: &Value) -> Entry {
    match v {
        Value::Array(items) if items.len() == 4 => match (&items[0], &items[1], &items[2], &items[3]) {
            (Value::Int(seq), Value::BulkString(id), Value::Int(ts), Value::BulkString(payload)) => {
                Entry { seq: *seq, id: id.clone(), ts: *ts, payload: payload.clone() }
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

/// Seqs of a list of entries.
pub fn seqs(es: &[Entry]) -> Vec<i64> {
    es.iter().map(|e| e.seq).collect()
}

/// A `SEQ.SYNC` reply: `[last, [entries]]`.
pub fn sync_reply(v: &Value) -> (i64, Vec<Entry>) {
    let items = array(v);
    assert_eq!(items.len(), 2, "SEQ.SYNC replies [last, [entries]], got {v:?}");
    (int(&items[0]), parse_entries(&items[1]))
}

/// A field/value reply (flat RESP2 array or RESP3 map) as an ordered map; `None` for nil.
pub fn field_map(v: &Value) -> Option<BTreeMap<String, Value>> {
    field_pairs(v).map(|pairs| pairs.into_iter().collect())
}

/// A field/value reply as (field, value) pairs in reply order; `None` for nil. Field names
/// must be strings.
pub fn field_pairs(reply: &Value) -> Option<Vec<(String, Value)>> {
    let name = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).expect("field name is UTF-8"),
        Value::SimpleString(s) => s.clone(),
        other => panic!("field name is not a string: {other:?}"),
    };
    match reply {
        Value::Nil => None,
        Value::Array(items) => {
            assert!(items.len().is_multiple_of(2), "field/value array of odd length: {reply:?}");
            Some(items.chunks(2).map(|p| (name(&p[0]), p[1].clone())).collect())
        }
        Value::Map(pairs) => Some(pairs.iter().map(|(k, v)| (name(k), v.clone())).collect()),
        other => panic!("expected a field/value array, a map or nil, got {other:?}"),
    }
}

/// The `name:value` lines of an `INFO` (or `CLUSTER INFO`) text as a map; `#` lines are
/// section headers.
pub fn info_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
