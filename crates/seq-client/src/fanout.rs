//! Fan-out: one conversation entry written into each member's inbox (a log of its own),
//! with the client-msg-id `<conversation key>:<seq>`. Replaying a fan-out (after a crash,
//! a retry) is idempotent: each inbox de-duplicates that id and answers its first seq.

use std::collections::BTreeMap;

use redis::cluster_routing::get_slot;
use redis::{ConnectionLike, RedisResult};

use crate::reply::Entry;

/// The client-msg-id of a conversation entry in an inbox: `<conversation key>:<seq>`.
pub fn inbox_id(conversation: &[u8], seq: u64) -> Vec<u8> {
    let mut id = conversation.to_vec();
    id.push(b':');
    id.extend_from_slice(seq.to_string().as_bytes());
    id
}

/// How a fan-out batches its appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One pipeline for every inbox (a standalone server).
    OnePipeline,
    /// One pipeline per hash slot (a cluster: the cluster client routes a pipeline by its
    /// first key, so every key in it must live on that node).
    BySlot,
}

/// Appends `entry` of `conversation` to every inbox in `inboxes` (payload as is) and
/// returns each inbox's seq, in the order of `inboxes`.
pub fn fanout(
    con: &mut impl ConnectionLike,
    conversation: &[u8],
    entry: &Entry,
    inboxes: &[&[u8]],
    grouping: Grouping,
) -> RedisResult<Vec<u64>> {
    let id = inbox_id(conversation, entry.seq);
    let mut groups: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, inbox) in inboxes.iter().enumerate() {
        let group = match grouping {
            Grouping::OnePipeline => 0,
            Grouping::BySlot => get_slot(inbox),
        };
        groups.entry(group).or_default().push(i);
    }
    let mut seqs = vec![0; inboxes.len()];
    for members in groups.values() {
        let mut pipe = redis::pipe();
        for &i in members {
            pipe.cmd("SEQ.ALLOC").arg(inboxes[i]).arg(&id).arg(&entry.payload);
        }
        let got: Vec<u64> = pipe.query(con)?;
        for (&i, seq) in members.iter().zip(got) {
            seqs[i] = seq;
        }
    }
    Ok(seqs)
}
