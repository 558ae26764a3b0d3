//! What wakes a gateway up when a log grows.
//!
//! - **Notify, then pull** (any deployment): subscribe to the keyspace event `seq.alloc`
//!   on every master (`notify-keyspace-events` must include `E` and `d`: keyevents of the
//!   module class), and on an event pull that log with its [`crate::Receiver`]. Events
//!   are fire-and-forget: after a (re)connect, catch up with `SEQ.MLAST` for the watched
//!   logs ([`catch_up`]) and hand each `last` to [`crate::Receiver::told_last`].
//! - **`SEQ.READ BLOCK`** (standalone): one connection blocks on many logs at once
//!   ([`ReadLoop`]). The connection's read timeout must exceed `BLOCK`, or the client
//!   gives up on a read that the server would still answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use redis::{Connection, ConnectionLike, RedisResult};

use crate::reply::ReadReply;

/// The channel pattern of `seq.alloc` keyevents, in every database.
pub const ALLOC_EVENTS: &str = "__keyevent@*__:seq.alloc";

/// What a master's watcher reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// `SEQ.ALLOC` appended to this key.
    Appended(Vec<u8>),
    /// The subscription is (again) in place on the master with this index: events may
    /// have been missed before it; catch up.
    Subscribed(usize),
}

/// Watches `seq.alloc` events on each master (one thread each) and sends them to `tx`,
/// resubscribing after a connection loss, until `stop` is set (seen within `poll`) or
/// the receiving end of the channel is dropped.
pub fn watch_masters(
    masters: Vec<redis::Client>,
    tx: mpsc::Sender<Notice>,
    stop: Arc<AtomicBool>,
    poll: Duration,
) -> Vec<JoinHandle<()>> {
    masters
        .into_iter()
        .enumerate()
        .map(|(index, client)| {
            let (tx, stop) = (tx.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match watch_one(&client, index, &tx, &stop, poll) {
                        Ok(Watch::Stopped) => return,
                        Ok(Watch::Lost) => {}
                        // A failed subscription is retried after a pause; the next
                        // `Subscribed` tells the gateway to catch up.
                        Err(_) => std::thread::sleep(poll),
                    }
                }
            })
        })
        .collect()
}

/// How one subscription ended without an error.
enum Watch {
    /// `stop` was set or nobody listens on the channel any more.
    Stopped,
    /// The connection ended: subscribe again.
    Lost,
}

fn watch_one(
    client: &redis::Client,
    index: usize,
    tx: &mpsc::Sender<Notice>,
    stop: &AtomicBool,
    poll: Duration,
) -> RedisResult<Watch> {
    let mut con = client.get_connection_with_timeout(poll.max(Duration::from_millis(100)))?;
    let mut pubsub = con.as_pubsub();
    pubsub.psubscribe(ALLOC_EVENTS)?;
    pubsub.set_read_timeout(Some(poll))?;
    if tx.send(Notice::Subscribed(index)).is_err() {
        return Ok(Watch::Stopped);
    }
    while !stop.load(Ordering::Relaxed) {
        match pubsub.get_message() {
            Ok(msg) => {
                let key: Vec<u8> = msg.get_payload()?;
                if tx.send(Notice::Appended(key)).is_err() {
                    return Ok(Watch::Stopped);
                }
            }
            Err(e) if e.is_timeout() => continue,
            Err(e) if e.is_connection_dropped() => return Ok(Watch::Lost),
            Err(e) => return Err(e),
        }
    }
    Ok(Watch::Stopped)
}

/// `SEQ.MLAST` for `keys`: each log's `last`, to hand to [`crate::Receiver::told_last`]
/// after a (re)subscription.
pub fn catch_up(con: &mut impl ConnectionLike, keys: &[&[u8]]) -> RedisResult<Vec<u64>> {
    redis::cmd("SEQ.MLAST").arg(keys).query(con)
}

/// A `SEQ.READ BLOCK` loop over many logs on one connection: keeps each log's position
/// and reads what comes after it.
pub struct ReadLoop {
    logs: Vec<(Vec<u8>, u64)>,
    count: usize,
    block: Duration,
}

/// How much longer than `BLOCK` the connection waits for the reply.
const READ_TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

impl ReadLoop {
    /// Watches `logs` (key, position), reading up to `count` entries per log and blocking
    /// up to `block` per call.
    pub fn new(logs: Vec<(Vec<u8>, u64)>, count: usize, block: Duration) -> Self {
        ReadLoop { logs, count, block }
    }

    /// One `SEQ.READ COUNT n BLOCK ms LOGS k... pos...`; moves the positions past what it
    /// returns. Sets `con`'s read timeout to `BLOCK` plus a margin first.
    pub fn read(&mut self, con: &mut Connection) -> RedisResult<ReadReply> {
        con.set_read_timeout(Some(self.block + READ_TIMEOUT_MARGIN))?;
        let mut cmd = redis::cmd("SEQ.READ");
        cmd.arg("COUNT").arg(self.count).arg("BLOCK").arg(self.block.as_millis() as u64).arg("LOGS");
        for (key, _) in &self.logs {
            cmd.arg(key);
        }
        for (_, position) in &self.logs {
            cmd.arg(*position);
        }
        let reply: ReadReply = cmd.query(con)?;
        for log in &reply.0 {
            // One command, so the reader's rule holds for it: short of a full page,
            // everything up to `last` has been returned or will never exist.
            let reached = match log.entries.last() {
                Some(top) if log.entries.len() >= self.count => top.seq,
                _ => log.last,
            };
            if let Some(slot) = self.logs.iter_mut().find(|(key, _)| *key == log.key) {
                slot.1 = slot.1.max(reached);
            }
        }
        Ok(reply)
    }

    /// The logs and their positions.
    pub fn positions(&self) -> &[(Vec<u8>, u64)] {
        &self.logs
    }
}
