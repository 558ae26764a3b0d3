//! A reference client for redis-seq: the half of "every device shows the server's order,
//! nothing lost, nothing twice" that lives outside the module.
//!
//! - [`Receiver`]: per log, a state machine without I/O: feed it pushed entries in any
//!   order, lost or duplicated; it delivers each entry once, in seq order, and asks for
//!   the pulls (`SEQ.LAST` + `SEQ.RANGE` in one MULTI), `SEQ.CHANGES` calls and reloads
//!   that make it converge to the log. [`drive`] runs those on a connection.
//! - [`Sender`]: appends with `SEQ.ALLOC`, retrying with the same client-msg-id on
//!   errors that may have hidden a success, for at most half the de-duplication window.
//! - [`fanout()`] / [`fanout_cluster`]: one conversation entry into many inboxes,
//!   idempotently, pipelined (per node on a cluster).
//! - [`notifier`]: what wakes a gateway up (keyevents, `SEQ.MLAST` catch-up,
//!   `SEQ.READ BLOCK`).
//! - [`reply`]: typed replies for every command, under RESP2 and RESP3.
//!
//! `docs/clients.md` in the repository states the client contract this follows.
//!
//! # Example
//!
//! Send one message and receive a log, delivering in order whatever the push channel
//! does:
//!
//! ```no_run
//! use std::time::Duration;
//! use seq_client::{drive, Action, Receiver, ReceiverConfig, SendPolicy, Sender};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//! let mut sender = Sender::new(client.clone(), SendPolicy::new(Duration::from_secs(86_400)));
//! let sent = sender.send(b"conv:{g42}", b"msg-7f3a", b"hello")?;
//! println!("appended at seq {}", sent.seq);
//!
//! let mut con = client.get_connection()?;
//! let mut receiver = Receiver::new(ReceiverConfig::default());
//! // A timer tick pulls the tail; pushed entries go to `receiver.push(entry)`.
//! let actions = receiver.tick();
//! drive(&mut con, b"conv:{g42}", &mut receiver, actions, &mut |action| {
//!     if let Action::Deliver(entries) = action {
//!         for e in entries {
//!             println!("{}: {}", e.seq, String::from_utf8_lossy(&e.payload));
//!         }
//!     }
//! })?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod drive;
pub mod fanout;
pub mod notifier;
mod receiver;
pub mod reply;
mod sender;

pub use drive::{changes, drive, is_resync, pull, reload};
pub use fanout::{fanout, fanout_cluster, inbox_id};
pub use receiver::{Action, ChangesResult, Pull, PullResult, Receiver, ReceiverConfig, ReceiverStats, Reloaded};
pub use reply::{Change, ChangesReply, Entry, Info, LogRead, ReadReply, SyncReply};
pub use sender::{is_retryable, ConnectWith, Connector, SendError, SendPolicy, Sender, SenderStats, Sent, WaitFor};
