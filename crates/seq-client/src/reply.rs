//! Typed replies of the `SEQ.*` commands, parsed from [`redis::Value`] under RESP2 and
//! RESP3 alike.
//!
//! The two protocols differ only where the contract says so: `SEQ.INFO` is a map under
//! RESP3 and a flat `field, value, ...` array under RESP2. Every other reply is an array
//! (or an integer, or nil) in both. A RESP3 attribute wrapped around a reply is ignored.

use redis::{ErrorKind, FromRedisValue, RedisError, RedisResult, Value};

/// One entry: `[seq, client-msg-id, ts-ms, payload]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its seq in the log.
    pub seq: u64,
    /// The client-msg-id it was appended with.
    pub id: Vec<u8>,
    /// Server milliseconds at append.
    pub ts: u64,
    /// The payload (empty when none; after `SEQ.EDIT`, the current one).
    pub payload: Vec<u8>,
}

/// The `SEQ.INFO` fields the contract names. Fields a server does not report yet (the
/// fence's `epoch`/`skipped-seqs`, the lifecycle's `rev`/`deleted`) are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// The highest seq ever issued.
    pub last: u64,
    /// The lowest retained seq (`last + 1` when nothing is retained).
    pub first: u64,
    /// Entries retained (never counting a deleted one).
    pub length: u64,
    /// client-msg-ids inside the de-duplication window.
    pub dedup_entries: u64,
    /// Consumer cursors.
    pub consumers: u64,
    /// ts of the lowest retained entry (0 when none).
    pub first_ts: u64,
    /// ts of the highest retained entry (0 when none).
    pub last_ts: u64,
    /// The epoch in which the log was last written (the failover fence).
    pub epoch: Option<u64>,
    /// Seqs skipped by the fence or by imports.
    pub skipped_seqs: Option<u64>,
    /// Changes (edits, deletions) ever made.
    pub rev: Option<u64>,
    /// Entries deleted and not yet trimmed.
    pub deleted: Option<u64>,
}

/// `SEQ.SYNC`: `[last, [entries]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReply {
    /// The log's `last` when the reply was made.
    pub last: u64,
    /// Entries after the consumer's position, ascending.
    pub entries: Vec<Entry>,
}

/// One element of a `SEQ.CHANGES` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The rev of this seq's latest change.
    pub rev: u64,
    /// The seq that changed.
    pub seq: u64,
    /// Its current entry after an edit; `None` after a deletion.
    pub entry: Option<Entry>,
}

/// `SEQ.CHANGES`: `[rev, [[change-rev, seq, entry or nil], ...]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangesReply {
    /// The log's current rev.
    pub rev: u64,
    /// Changes with a rev above the one asked for, ascending by rev.
    pub changes: Vec<Change>,
}

/// One log in a `SEQ.READ` reply: `[key, last, [entries]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRead {
    /// The key, as given.
    pub key: Vec<u8>,
    /// The log's `last`.
    pub last: u64,
    /// Entries after the position given for this key, ascending.
    pub entries: Vec<Entry>,
}

/// `SEQ.READ`: the logs with news, in the order the keys were given; empty for a nil
/// reply (nothing new, or a `BLOCK` that timed out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadReply(pub Vec<LogRead>);

fn invalid(what: &str, got: &Value) -> RedisError {
    RedisError::from((ErrorKind::TypeError, "unexpected reply shape", format!("{what}: got {got:?}")))
}

/// The value inside a RESP3 attribute, or the value itself.
fn plain(v: &Value) -> &Value {
    match v {
        Value::Attribute { data, .. } => plain(data),
        other => other,
    }
}

fn uint(v: &Value, what: &str) -> RedisResult<u64> {
    match plain(v) {
        Value::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(invalid(what, other)),
    }
}

fn bytes(v: &Value, what: &str) -> RedisResult<Vec<u8>> {
    match plain(v) {
        Value::BulkString(b) => Ok(b.clone()),
        Value::SimpleString(s) => Ok(s.as_bytes().to_vec()),
        Value::VerbatimString { text, .. } => Ok(text.as_bytes().to_vec()),
        other => Err(invalid(what, other)),
    }
}

fn array<'a>(v: &'a Value, what: &str) -> RedisResult<&'a [Value]> {
    match plain(v) {
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(invalid(what, other)),
    }
}

/// An array of exactly `N` elements.
fn tuple<'a, const N: usize>(v: &'a Value, what: &str) -> RedisResult<&'a [Value; N]> {
    array(v, what)?.try_into().map_err(|_| invalid(what, v))
}

impl FromRedisValue for Entry {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let [seq, id, ts, payload] = tuple::<4>(v, "entry")?;
        Ok(Entry {
            seq: uint(seq, "entry seq")?,
            id: bytes(id, "entry client-msg-id")?,
            ts: uint(ts, "entry ts")?,
            payload: bytes(payload, "entry payload")?,
        })
    }
}

/// A list of entries (`SEQ.RANGE`, `SEQ.REVRANGE`).
pub fn entries(v: &Value) -> RedisResult<Vec<Entry>> {
    array(v, "entries")?.iter().map(Entry::from_redis_value).collect()
}

impl FromRedisValue for Info {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let pairs: Vec<(&Value, &Value)> = match plain(v) {
            Value::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
            Value::Array(flat) if flat.len() % 2 == 0 => flat.chunks_exact(2).map(|p| (&p[0], &p[1])).collect(),
            other => return Err(invalid("SEQ.INFO (nil is a missing key: parse Option<Info>)", other)),
        };
        let mut info = Info::default();
        for (name, value) in pairs {
            let name = bytes(name, "SEQ.INFO field name")?;
            let slot = match name.as_slice() {
                b"last" => &mut info.last,
                b"first" => &mut info.first,
                b"length" => &mut info.length,
                b"dedup-entries" => &mut info.dedup_entries,
                b"consumers" => &mut info.consumers,
                b"first-ts" => &mut info.first_ts,
                b"last-ts" => &mut info.last_ts,
                b"epoch" => info.epoch.insert(0),
                b"skipped-seqs" => info.skipped_seqs.insert(0),
                b"rev" => info.rev.insert(0),
                b"deleted" => info.deleted.insert(0),
                // Fields added after this client was written are not an error.
                _ => continue,
            };
            *slot = uint(value, "SEQ.INFO value")?;
        }
        Ok(info)
    }
}

impl FromRedisValue for SyncReply {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let [last, list] = tuple::<2>(v, "SEQ.SYNC")?;
        Ok(SyncReply { last: uint(last, "SEQ.SYNC last")?, entries: entries(list)? })
    }
}

impl FromRedisValue for Change {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let [rev, seq, entry] = tuple::<3>(v, "change")?;
        let entry = match plain(entry) {
            Value::Nil => None,
            other => Some(Entry::from_redis_value(other)?),
        };
        Ok(Change { rev: uint(rev, "change rev")?, seq: uint(seq, "change seq")?, entry })
    }
}

impl FromRedisValue for ChangesReply {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let [rev, list] = tuple::<2>(v, "SEQ.CHANGES")?;
        let changes =
            array(list, "SEQ.CHANGES list")?.iter().map(Change::from_redis_value).collect::<Result<_, _>>()?;
        Ok(ChangesReply { rev: uint(rev, "SEQ.CHANGES rev")?, changes })
    }
}

impl FromRedisValue for LogRead {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let [key, last, list] = tuple::<3>(v, "SEQ.READ element")?;
        Ok(LogRead { key: bytes(key, "SEQ.READ key")?, last: uint(last, "SEQ.READ last")?, entries: entries(list)? })
    }
}

impl FromRedisValue for ReadReply {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        match plain(v) {
            Value::Nil => Ok(ReadReply::default()),
            other => Ok(ReadReply(
                array(other, "SEQ.READ")?.iter().map(LogRead::from_redis_value).collect::<Result<_, _>>()?,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn entry_value(seq: i64, id: &str) -> Value {
        Value::Array(vec![Value::Int(seq), bulk(id), Value::Int(1000 + seq), bulk("p")])
    }

    #[test]
    fn info_as_resp2_array_and_resp3_map() {
        let fields = [("last", 9), ("first", 3), ("length", 7), ("dedup-entries", 9), ("epoch", 2), ("future", 5)];
        let flat = Value::Array(fields.iter().flat_map(|(k, v)| [bulk(k), Value::Int(*v)]).collect());
        let map =
            Value::Map(fields.iter().map(|(k, v)| (Value::SimpleString(k.to_string()), Value::Int(*v))).collect());
        let a = Info::from_redis_value(&flat).unwrap();
        let b = Info::from_redis_value(&map).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.last, a.first, a.length, a.epoch, a.rev), (9, 3, 7, Some(2), None));
        assert_eq!(Option::<Info>::from_redis_value(&Value::Nil).unwrap(), None);
    }

    #[test]
    fn entries_changes_and_read() {
        let e = Entry::from_redis_value(&entry_value(4, "m4")).unwrap();
        assert_eq!((e.seq, e.id.as_slice(), e.ts, e.payload.as_slice()), (4, &b"m4"[..], 1004, &b"p"[..]));
        assert!(Entry::from_redis_value(&Value::Array(vec![Value::Int(1)])).is_err(), "a short entry is refused");
        assert!(
            Entry::from_redis_value(&Value::Array(vec![Value::Int(-1), bulk("x"), Value::Int(0), bulk("")])).is_err()
        );
        let changes = Value::Array(vec![
            Value::Int(5),
            Value::Array(vec![
                Value::Array(vec![Value::Int(4), Value::Int(2), entry_value(2, "m2")]),
                Value::Array(vec![Value::Int(5), Value::Int(3), Value::Nil]),
            ]),
        ]);
        let c = ChangesReply::from_redis_value(&changes).unwrap();
        assert_eq!(c.rev, 5);
        assert_eq!(c.changes[0].entry.as_ref().map(|e| e.seq), Some(2));
        assert_eq!(c.changes[1].entry, None);
        let read = Value::Array(vec![Value::Array(vec![
            bulk("inbox:{u1}"),
            Value::Int(4),
            Value::Array(vec![entry_value(4, "m4")]),
        ])]);
        let r = ReadReply::from_redis_value(&read).unwrap();
        assert_eq!(r.0[0].key, b"inbox:{u1}");
        assert_eq!(r.0[0].entries[0], e);
        assert_eq!(ReadReply::from_redis_value(&Value::Nil).unwrap(), ReadReply::default());
        let sync = SyncReply::from_redis_value(&Value::Array(vec![Value::Int(4), Value::Array(vec![])])).unwrap();
        assert_eq!(sync, SyncReply { last: 4, entries: vec![] });
    }
}
