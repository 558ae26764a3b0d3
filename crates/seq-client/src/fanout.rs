//! Fan-out: one conversation entry written into each member's inbox (a log of its own),
//! with the client-msg-id `<conversation key>:<seq>`. Replaying a fan-out (after a crash,
//! a retry) is idempotent: each inbox de-duplicates that id and answers its first seq.

use redis::cluster::{cluster_pipe, ClusterConnection};
use redis::{ConnectionLike, RedisResult};

use crate::reply::Entry;

/// The client-msg-id of a conversation entry in an inbox: `<conversation key>:<seq>`.
pub fn inbox_id(conversation: &[u8], seq: u64) -> Vec<u8> {
    let mut id = conversation.to_vec();
    id.push(b':');
    id.extend_from_slice(seq.to_string().as_bytes());
    id
}

/// Appends `entry` of `conversation` to every inbox in `inboxes` (payload as is) in one
/// pipeline, and returns each inbox's seq, in the order of `inboxes`. For a standalone
/// server (or a connection to one node); on a cluster use [`fanout_cluster`].
pub fn fanout(
    con: &mut impl ConnectionLike,
    conversation: &[u8],
    entry: &Entry,
    inboxes: &[&[u8]],
) -> RedisResult<Vec<u64>> {
    let id = inbox_id(conversation, entry.seq);
    let mut pipe = redis::pipe();
    for inbox in inboxes {
        pipe.cmd("SEQ.ALLOC").arg(*inbox).arg(&id).arg(&entry.payload);
    }
    pipe.query(con)
}

/// [`fanout`] on a cluster: the cluster pipeline groups the appends by the node that owns
/// each inbox's slot and sends one pipeline per node (following `MOVED`/`ASK`); the
/// seqs come back in the order of `inboxes`.
pub fn fanout_cluster(
    con: &mut ClusterConnection,
    conversation: &[u8],
    entry: &Entry,
    inboxes: &[&[u8]],
) -> RedisResult<Vec<u64>> {
    let id = inbox_id(conversation, entry.seq);
    let mut pipe = cluster_pipe();
    for inbox in inboxes {
        pipe.cmd("SEQ.ALLOC").arg(*inbox).arg(&id).arg(&entry.payload);
    }
    pipe.query(con)
}
