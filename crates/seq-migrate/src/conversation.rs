//! One conversation as read from the source, in the shape both modes share, and the checks
//! it must pass before anything of it is written: a conversation is imported whole or
//! not at all when its source data is bad.

use std::collections::HashMap;

use redis::Value;

/// The highest seq or ts redis-seq holds (a signed 64-bit integer).
const MAX: u64 = i64::MAX as u64;

pub struct Msg {
    pub seq: u64,
    pub ts: u64,
    pub id: Vec<u8>,
    pub payload: Vec<u8>,
}

pub struct Conversation {
    /// How reports name it: the source key it was found by.
    pub name: String,
    pub target_key: Vec<u8>,
    pub msgs: Vec<Msg>,
    /// The source's `last` (the legacy counter, redis-seq's `last`): above the last
    /// message, the seqs in between are trailing skipped seqs, which an import cannot create.
    pub source_last: u64,
    pub cursors: Vec<(Vec<u8>, u64)>,
}

/// What the target accepts (its configs), checked up front so that no import of a
/// conversation is refused halfway.
#[derive(Clone, Copy)]
pub struct Limits {
    pub max_id: usize,
    pub max_payload: usize,
    pub dedup_window_ms: u64,
}

/// The target log as the import finds it.
#[derive(Clone, Copy, Default)]
pub struct TargetLog {
    pub last: u64,
    pub last_ts: u64,
}

impl TargetLog {
    /// From a SEQ.INFO reply (nil for a missing log).
    pub fn from_info(reply: &Value) -> Result<TargetLog, String> {
        let fields = match reply {
            Value::Nil => return Ok(TargetLog::default()),
            Value::Array(items) => items.chunks(2).collect::<Vec<_>>(),
            Value::ServerError(_) => {
                return Err(format!("SEQ.INFO on the target: {}", super::source::server_error(reply)))
            }
            other => return Err(format!("SEQ.INFO on the target replied {other:?}")),
        };
        let field = |name: &[u8]| {
            fields.iter().find_map(|pair| match pair {
                [Value::BulkString(k), Value::Int(v)] if k == name => u64::try_from(*v).ok(),
                [Value::SimpleString(k), Value::Int(v)] if k.as_bytes() == name => u64::try_from(*v).ok(),
                _ => None,
            })
        };
        let last = field(b"last").ok_or("SEQ.INFO on the target has no last")?;
        Ok(TargetLog { last, last_ts: field(b"last-ts").unwrap_or(0) })
    }
}

impl Conversation {
    /// Checks the whole conversation: ids and payloads within the target's limits, seqs
    /// rising, ts never going back, no id twice inside the de-duplication window (the
    /// target would refuse the second), and a source `last` not below its messages.
    pub fn validate(&self, limits: &Limits) -> Result<(), String> {
        let mut seen: HashMap<&[u8], (u64, u64)> = HashMap::new();
        let mut prev: Option<&Msg> = None;
        for msg in &self.msgs {
            let at = |what: &str| format!("seq {}: {what}", msg.seq);
            if msg.seq == 0 || msg.seq > MAX {
                return Err(at("seq out of range (1..=2^63-1)"));
            }
            if msg.ts > MAX {
                return Err(at("ts out of range (0..=2^63-1)"));
            }
            if msg.id.is_empty() {
                return Err(at("empty client-msg-id"));
            }
            if msg.id.len() > limits.max_id {
                return Err(at(&format!(
                    "client-msg-id is {} bytes, above the target's {}",
                    msg.id.len(),
                    limits.max_id
                )));
            }
            if msg.payload.len() > limits.max_payload {
                let len = msg.payload.len();
                return Err(at(&format!("payload is {len} bytes, above the target's {}", limits.max_payload)));
            }
            if let Some(prev) = prev {
                if msg.seq <= prev.seq {
                    return Err(at(&format!("seqs out of order (after seq {})", prev.seq)));
                }
                if msg.ts < prev.ts {
                    return Err(at(&format!("ts goes back ({} after {} at seq {})", msg.ts, prev.ts, prev.seq)));
                }
                // The target's window is measured by its newest ts, the previous entry's.
                let window_start = prev.ts.saturating_sub(limits.dedup_window_ms);
                if let Some(&(first, first_ts)) = seen.get(msg.id.as_slice()) {
                    if first_ts >= window_start {
                        return Err(at(&format!(
                            "client-msg-id {} already has seq {first} inside the de-duplication window",
                            String::from_utf8_lossy(&msg.id)
                        )));
                    }
                }
            }
            seen.insert(&msg.id, (msg.seq, msg.ts));
            prev = Some(msg);
        }
        match prev {
            Some(last) if self.source_last < last.seq => {
                Err(format!("the source's last seq {} is below its message seq {}", self.source_last, last.seq))
            }
            _ => Ok(()),
        }
    }

    /// The messages a run still has to import into `target` (those above its `last`),
    /// refused if the target's newest ts is later than the first of them.
    pub fn remaining(&self, target: &TargetLog) -> Result<&[Msg], String> {
        let from = self.msgs.partition_point(|m| m.seq <= target.last);
        let rest = self.msgs.get(from..).unwrap_or_default();
        match rest.first() {
            Some(next) if next.ts < target.last_ts => Err(format!(
                "the target's newest ts {} is later than the ts {} of seq {}, the next to import \
                 (was the target log written by something else?)",
                target.last_ts, next.ts, next.seq
            )),
            _ => Ok(rest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(msgs: &[(u64, u64, &str)], source_last: u64) -> Conversation {
        Conversation {
            name: "c".into(),
            target_key: b"c".to_vec(),
            msgs: msgs.iter().map(|&(seq, ts, id)| Msg { seq, ts, id: id.into(), payload: Vec::new() }).collect(),
            source_last,
            cursors: Vec::new(),
        }
    }

    const LIMITS: Limits = Limits { max_id: 8, max_payload: 8, dedup_window_ms: 100 };

    #[test]
    fn bad_source_data_is_named() {
        assert_eq!(conv(&[(1, 5, "a"), (4, 5, "b")], 6).validate(&LIMITS), Ok(()));
        let err = |c: Conversation| c.validate(&LIMITS).unwrap_err();
        assert!(err(conv(&[(2, 5, "a"), (2, 6, "b")], 2)).contains("out of order"));
        assert!(err(conv(&[(1, 5, "a"), (2, 4, "b")], 2)).contains("ts goes back"));
        assert!(err(conv(&[(1, 5, "a"), (2, 6, "a")], 2)).contains("already has seq 1"));
        assert!(err(conv(&[(1, 5, "a"), (2, 6, "")], 2)).contains("empty"));
        assert!(err(conv(&[(1, 5, "toolongid")], 2)).contains("above the target's 8"));
        assert!(err(conv(&[(3, 5, "a")], 2)).contains("below its message seq 3"));
        // An id repeated after the window is a new message, as it was for the source.
        assert_eq!(conv(&[(1, 5, "a"), (2, 500, "b"), (3, 500, "a")], 3).validate(&LIMITS), Ok(()));
    }

    #[test]
    fn a_rerun_continues_after_the_target_last() {
        let c = conv(&[(1, 5, "a"), (4, 6, "b"), (9, 7, "c")], 9);
        let seqs = |t: TargetLog| c.remaining(&t).map(|r| r.iter().map(|m| m.seq).collect::<Vec<_>>());
        assert_eq!(seqs(TargetLog::default()), Ok(vec![1, 4, 9]));
        assert_eq!(seqs(TargetLog { last: 4, last_ts: 6 }), Ok(vec![9]));
        assert_eq!(seqs(TargetLog { last: 9, last_ts: 7 }), Ok(vec![]));
        assert!(seqs(TargetLog { last: 4, last_ts: 8 }).is_err());
    }
}
