//! What both modes read from their source: the keys to migrate and, per key, the
//! conversation with its messages, its `last` and its cursors.

use redis::Value;

use super::conversation::Conversation;

pub trait Source {
    /// The source keys to migrate (one per conversation), found with SCAN.
    fn list(&mut self) -> Result<Vec<Vec<u8>>, String>;

    /// The conversations of `keys`, read with pipelines: one result per key (a key whose
    /// data is bad is an `Err` naming the problem). `with_ids` also reads the (id, seq)
    /// pairs the source's de-duplication answers with, for `--verify`.
    fn read(&mut self, keys: &[Vec<u8>], with_ids: bool) -> Result<Vec<Result<Read, String>>, String>;
}

pub struct Read {
    pub conversation: Conversation,
    /// (client-msg-id, seq) that a retry gets from the source; empty unless asked for.
    pub ids: Vec<(Vec<u8>, u64)>,
}

pub fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

pub fn uint(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => std::str::from_utf8(bytes(other)?).ok()?.parse().ok(),
    }
}

/// An error reply (`Value::ServerError`) as the server sent it: `ERR ...`.
pub fn server_error(reply: &Value) -> String {
    match reply.clone().extract_error() {
        Err(err) => format!("{} {}", err.code().unwrap_or("ERR"), err.detail().unwrap_or_default()),
        Ok(other) => format!("{other:?}"),
    }
}

pub fn items(value: &Value) -> Result<&[Value], String> {
    match value {
        Value::Array(items) => Ok(items),
        Value::ServerError(_) => Err(server_error(value)),
        other => Err(format!("expected an array, got {other:?}")),
    }
}

/// A reply that must not be an error.
pub fn ok(value: &Value) -> Result<&Value, String> {
    match value {
        Value::ServerError(_) => Err(server_error(value)),
        other => Ok(other),
    }
}

pub fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}
