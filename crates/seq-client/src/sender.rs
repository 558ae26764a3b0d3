//! The sender: an outbox that appends with `SEQ.ALLOC` and retries with the **same**
//! client-msg-id until it has a seq, so a retry whose first attempt did land gets that
//! first seq back instead of a second entry.
//!
//! What is retried: timeouts, dropped or refused connections, `READONLY` (a replica
//! answered: the master moved), `LOADING`, `TRYAGAIN`, `MOVED`/`ASK` (the cluster client
//! follows them; when it gives up, so does one attempt here), `CLUSTERDOWN`,
//! `MASTERDOWN`. What is never retried: an `ERR` refusal (too long an id or payload,
//! `WRONGTYPE`...), which would refuse again.
//!
//! How long: at most half of `seq.dedup-window-ms` after the first attempt. The window
//! is measured by the log's own ts, from the moment the first attempt was applied; a
//! retry must reach the server while that id is still inside the window, or a first
//! attempt that did land would be appended a second time. The first attempt is applied
//! no earlier than it was sent, so a retry sent within window/2 of it arrives inside the
//! window even when it then waits a while in a socket, and when the server's clock runs
//! ahead of the client's; the other half is that margin. After that the message is
//! given back ([`SendError::GaveUp`]): the caller decides (ask `SEQ.LOOKUP`, or send it
//! under a new id knowing it may appear twice).

use std::time::{Duration, Instant};

use redis::{ConnectionLike, ErrorKind, RedisError, RedisResult};

/// Opens connections for a [`Sender`] (again after a connection error).
pub trait Connector {
    /// The connection type.
    type Conn: ConnectionLike;
    /// Opens a connection.
    fn connect(&mut self) -> RedisResult<Self::Conn>;
    /// `WAIT replicas timeout` for what `con` wrote to `key` (on a standalone server: on
    /// the same connection).
    fn wait(con: &mut Self::Conn, _key: &[u8], replicas: u32, timeout: Duration) -> RedisResult<u32> {
        redis::cmd("WAIT").arg(replicas).arg(timeout.as_millis() as u64).query(con)
    }
}

impl Connector for redis::Client {
    type Conn = redis::Connection;
    fn connect(&mut self) -> RedisResult<redis::Connection> {
        self.get_connection()
    }
}

impl Connector for redis::cluster::ClusterClient {
    type Conn = redis::cluster::ClusterConnection;
    fn connect(&mut self) -> RedisResult<redis::cluster::ClusterConnection> {
        self.get_connection()
    }

    /// `WAIT` on the master of `key`'s slot: the cluster client would otherwise send it
    /// to every master and take the minimum.
    fn wait(con: &mut Self::Conn, key: &[u8], replicas: u32, timeout: Duration) -> RedisResult<u32> {
        use redis::cluster_routing::{get_slot, Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
        let route = Route::new(get_slot(key), SlotAddr::Master);
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(replicas).arg(timeout.as_millis() as u64);
        let reply = con.route_command(&cmd, RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)))?;
        redis::from_redis_value(&reply)
    }
}

/// A [`Connector`] from a closure (a connection to whatever is the master now, with
/// timeouts set, say).
pub struct ConnectWith<F>(pub F);

impl<C: ConnectionLike, F: FnMut() -> RedisResult<C>> Connector for ConnectWith<F> {
    type Conn = C;
    fn connect(&mut self) -> RedisResult<C> {
        (self.0)()
    }
}

/// Whether an error is worth a retry with the same client-msg-id (module docs).
pub fn is_retryable(e: &RedisError) -> bool {
    e.is_timeout()
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::ReadOnly
                | ErrorKind::BusyLoadingError
                | ErrorKind::TryAgain
                | ErrorKind::Moved
                | ErrorKind::Ask
                | ErrorKind::ClusterDown
                | ErrorKind::MasterDown
                | ErrorKind::ClusterConnectionNotFound
        )
}

/// `WAIT n ms` after each append.
#[derive(Clone, Copy, Debug)]
pub struct WaitFor {
    /// Replicas that must acknowledge.
    pub replicas: u32,
    /// How long `WAIT` may block.
    pub timeout: Duration,
}

/// How a [`Sender`] retries.
#[derive(Clone, Copy, Debug)]
pub struct SendPolicy {
    /// The server's `seq.dedup-window-ms`; retries stop at half of it (module docs).
    pub dedup_window: Duration,
    /// The first pause between attempts; it doubles up to `max_backoff`.
    pub backoff: Duration,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
    /// Acknowledgement by replicas, if wanted.
    pub wait: Option<WaitFor>,
}

impl SendPolicy {
    /// Retries for up to half of `dedup_window`, pausing 10 ms doubling to 1 s.
    pub fn new(dedup_window: Duration) -> Self {
        SendPolicy { dedup_window, backoff: Duration::from_millis(10), max_backoff: Duration::from_secs(1), wait: None }
    }

    /// How long after the first attempt retries stop.
    pub fn retry_for(&self) -> Duration {
        self.dedup_window / 2
    }
}

/// A message appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its seq (the first seq its client-msg-id got).
    pub seq: u64,
    /// Attempts it took (1: no retry).
    pub attempts: u32,
    /// Replicas that acknowledged it, when the policy asks for `WAIT`. Fewer than asked
    /// for means it may be lost in a failover (it is not retried for that: the append
    /// itself succeeded).
    pub replicas: Option<u32>,
}

/// Why a message was not appended.
#[derive(Debug)]
pub enum SendError {
    /// The server refused it (`ERR ...`): a retry would be refused too.
    Refused(RedisError),
    /// Retryable errors until the retry bound; the last one. The message may or may not
    /// have been appended.
    GaveUp {
        /// The last error.
        error: RedisError,
        /// Attempts made.
        attempts: u32,
    },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Refused(e) => write!(f, "refused: {e}"),
            SendError::GaveUp { error, attempts } => write!(f, "gave up after {attempts} attempts: {error}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Counters of what a sender did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Messages appended.
    pub sent: u64,
    /// Attempts after a first one.
    pub retried: u64,
    /// Messages given up or refused.
    pub failed: u64,
}

/// The retrying outbox (module docs).
pub struct Sender<K: Connector> {
    connector: K,
    con: Option<K::Conn>,
    policy: SendPolicy,
    stats: SenderStats,
}

impl<K: Connector> Sender<K> {
    /// A sender that connects with `connector` when it first sends.
    pub fn new(connector: K, policy: SendPolicy) -> Self {
        Sender { connector, con: None, policy, stats: SenderStats::default() }
    }

    /// What it did so far.
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// `SEQ.ALLOC key id payload`, retried as the module docs say.
    pub fn send(&mut self, key: &[u8], id: &[u8], payload: &[u8]) -> Result<Sent, SendError> {
        let mut cmd = redis::cmd("SEQ.ALLOC");
        cmd.arg(key).arg(id).arg(payload);
        self.send_cmd(key, &cmd)
    }

    /// `SEQ.ALLOC key id payload ACK consumer`: the sender's own cursor moves with it.
    pub fn send_acked(&mut self, key: &[u8], id: &[u8], payload: &[u8], consumer: &[u8]) -> Result<Sent, SendError> {
        let mut cmd = redis::cmd("SEQ.ALLOC");
        cmd.arg(key).arg(id).arg(payload).arg("ACK").arg(consumer);
        self.send_cmd(key, &cmd)
    }

    fn send_cmd(&mut self, key: &[u8], cmd: &redis::Cmd) -> Result<Sent, SendError> {
        let started = Instant::now();
        let mut pause = self.policy.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(key, cmd) {
                Ok((seq, replicas)) => {
                    self.stats.sent += 1;
                    return Ok(Sent { seq, attempts, replicas });
                }
                Err(e) if !is_retryable(&e) => {
                    self.stats.failed += 1;
                    return Err(SendError::Refused(e));
                }
                Err(e) => {
                    // The connection may hold a late reply to this attempt: never reuse it.
                    self.con = None;
                    if started.elapsed() + pause >= self.policy.retry_for() {
                        self.stats.failed += 1;
                        return Err(SendError::GaveUp { error: e, attempts });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(self.policy.max_backoff);
                    self.stats.retried += 1;
                }
            }
        }
    }

    fn attempt(&mut self, key: &[u8], cmd: &redis::Cmd) -> RedisResult<(u64, Option<u32>)> {
        let con = match self.con.as_mut() {
            Some(con) => con,
            None => self.con.insert(self.connector.connect()?),
        };
        let seq: u64 = cmd.query(con)?;
        let replicas = match self.policy.wait {
            Some(wait) => Some(K::wait(con, key, wait.replicas, wait.timeout)?),
            None => None,
        };
        Ok((seq, replicas))
    }
}
