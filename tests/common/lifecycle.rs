//! The message lifecycle as typed calls: SEQ.EDIT, SEQ.DEL, SEQ.CHANGES (parsed strictly:
//! `[rev, [[change-rev, seq, entry or nil], ...]]`) and SEQ.LOOKUP.

use redis::{Connection, Value};

use super::client::{error_text, show_cmd};
use super::replies::{array, int, parse_entry, Entry};

/// One element of a SEQ.CHANGES reply; `entry` None is a deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub rev: i64,
    pub seq: i64,
    pub entry: Option<Entry>,
}

/// Parses `[rev, [[change-rev, seq, entry or nil], ...]]`.
pub fn parse_changes(v: &Value) -> (i64, Vec<Change>) {
    let items = array(v);
    assert_eq!(items.len(), 2, "SEQ.CHANGES replies [rev, changes], got {v:?}");
    let changes = array(&items[1])
        .iter()
        .map(|c| {
            let parts = array(c);
            assert_eq!(parts.len(), 3, "a change is [change-rev, seq, entry or nil], got {c:?}");
            let entry = match &parts[2] {
                Value::Nil => None,
                e => Some(parse_entry(e)),
            };
            Change { rev: int(&parts[0]), seq: int(&parts[1]), entry }
        })
        .collect();
    (int(&items[0]), changes)
}

/// `SEQ.CHANGES key since [COUNT n]`: the parsed reply, or the error reply's text
/// (`RESYNC ...`).
pub fn changes(
    con: &mut Connection,
    key: impl AsRef<[u8]>,
    since: i64,
    count: Option<i64>,
) -> Result<(i64, Vec<Change>), String> {
    let mut cmd = redis::cmd("SEQ.CHANGES");
    cmd.arg(key.as_ref()).arg(since);
    if let Some(n) = count {
        cmd.arg("COUNT").arg(n);
    }
    match cmd.query::<Value>(con) {
        Ok(v) => Ok(parse_changes(&v)),
        Err(e) if e.code().is_some() => Err(error_text(&e)),
        Err(e) => panic!("{}: {e}", show_cmd(&cmd)),
    }
}

/// `SEQ.EDIT key seq payload`, which must succeed; returns the rev.
pub fn edit(con: &mut Connection, key: impl AsRef<[u8]>, seq: i64, payload: &[u8]) -> i64 {
    let mut cmd = redis::cmd("SEQ.EDIT");
    cmd.arg(key.as_ref()).arg(seq).arg(payload);
    match cmd.query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("{} replied {other:?}, expected an integer", show_cmd(&cmd)),
    }
}

/// `SEQ.DEL key seq...`, which must succeed; returns how many were deleted.
pub fn del(con: &mut Connection, key: impl AsRef<[u8]>, seqs: &[i64]) -> i64 {
    let mut cmd = redis::cmd("SEQ.DEL");
    cmd.arg(key.as_ref()).arg(seqs);
    match cmd.query::<Value>(con) {
        Ok(Value::Int(n)) => n,
        other => panic!("{} replied {other:?}, expected an integer", show_cmd(&cmd)),
    }
}

/// `SEQ.LOOKUP key id`: the seq, or None for nil.
pub fn lookup(con: &mut Connection, key: impl AsRef<[u8]>, id: impl AsRef<[u8]>) -> Option<i64> {
    let mut cmd = redis::cmd("SEQ.LOOKUP");
    cmd.arg(key.as_ref()).arg(id.as_ref());
    match cmd.query::<Value>(con) {
        Ok(Value::Int(n)) => Some(n),
        Ok(Value::Nil) => None,
        other => panic!("{} replied {other:?}, expected an integer or nil", show_cmd(&cmd)),
    }
}

/// The `<r>` of `RESYNC changes up to rev <r> are no longer kept`.
pub fn resync_rev(error: &str) -> i64 {
    let rev = error.strip_prefix("RESYNC changes up to rev ").and_then(|rest| rest.split(' ').next());
    rev.and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("not a RESYNC error: {error:?}"))
}
