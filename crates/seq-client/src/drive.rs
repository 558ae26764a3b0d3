//! Running a [`Receiver`]'s transport actions on a connection: the pull (`SEQ.LAST` and
//! `SEQ.RANGE` in one MULTI), `SEQ.CHANGES` (its `RESYNC` error becomes
//! [`ChangesResult::Resync`]) and the reload.

use redis::{ConnectionLike, RedisError, RedisResult};

use crate::receiver::{Action, ChangesResult, Pull, PullResult, Receiver, Reloaded};
use crate::reply::{ChangesReply, Entry};

/// The highest since-rev: `SEQ.CHANGES key <this>` replies `[rev, []]`, the current rev.
const CURRENT_REV: i64 = i64::MAX;

/// Runs the pull: `SEQ.LAST` and `SEQ.RANGE` in one MULTI, so a seq issued between the two
/// reads is never taken for an absent one. A connection that cannot pipeline (the sync
/// cluster connection) reads `SEQ.LAST` first and the range after it, which the contract
/// allows as well (entries the range returns above that `last` are newer, and settle up
/// to the highest of them).
pub fn pull(con: &mut impl ConnectionLike, key: &[u8], request: Pull) -> RedisResult<PullResult> {
    let mut range = redis::cmd("SEQ.RANGE");
    range.arg(key).arg(request.from).arg("+").arg("COUNT").arg(request.count);
    if !con.supports_pipelining() {
        let last: u64 = redis::cmd("SEQ.LAST").arg(key).query(con)?;
        let entries: Vec<Entry> = range.query(con)?;
        return Ok(PullResult { last, entries });
    }
    let (last, entries): (u64, Vec<Entry>) =
        redis::pipe().atomic().cmd("SEQ.LAST").arg(key).add_command(range).query(con)?;
    Ok(PullResult { last, entries })
}

/// `SEQ.CHANGES key since COUNT count`.
pub fn changes(con: &mut impl ConnectionLike, key: &[u8], since: u64, count: usize) -> RedisResult<ChangesResult> {
    let reply: RedisResult<ChangesReply> =
        redis::cmd("SEQ.CHANGES").arg(key).arg(since).arg("COUNT").arg(count).query(con);
    match reply {
        Ok(reply) => Ok(ChangesResult::Changes(reply)),
        Err(e) if is_resync(&e) => Ok(ChangesResult::Resync),
        Err(e) => Err(e),
    }
}

/// Whether `e` is the `RESYNC` error of `SEQ.CHANGES`.
pub fn is_resync(e: &RedisError) -> bool {
    e.code() == Some("RESYNC")
}

/// Reads `last`, every entry and (with `with_rev`) the current rev, in one MULTI (on a
/// connection that cannot pipeline: the rev, then `last`, then the range, each read
/// after the one it must not be newer than).
pub fn reload(con: &mut impl ConnectionLike, key: &[u8], with_rev: bool) -> RedisResult<Reloaded> {
    let mut last = redis::cmd("SEQ.LAST");
    last.arg(key);
    let mut range = redis::cmd("SEQ.RANGE");
    range.arg(key).arg("-").arg("+");
    let mut current = redis::cmd("SEQ.CHANGES");
    current.arg(key).arg(CURRENT_REV);
    if !con.supports_pipelining() {
        let rev = if with_rev { Some(current.query::<ChangesReply>(con)?.rev) } else { None };
        let last: u64 = last.query(con)?;
        return Ok(Reloaded { last, rev, entries: range.query(con)? });
    }
    let mut pipe = redis::pipe();
    pipe.atomic().add_command(last).add_command(range);
    if with_rev {
        let (last, entries, current): (u64, Vec<Entry>, ChangesReply) = pipe.add_command(current).query(con)?;
        return Ok(Reloaded { last, rev: Some(current.rev), entries });
    }
    let (last, entries): (u64, Vec<Entry>) = pipe.query(con)?;
    Ok(Reloaded { last, rev: None, entries })
}

/// Executes `actions` for the log `key`: transport actions run on `con` and feed their
/// results back into `receiver` (whose follow-up actions run too); application actions
/// (`Deliver`, `Update`, `Remove`, `Replace`) go to `apply` in the order the receiver
/// emitted them (a FIFO queue: a result's follow-ups come after everything before them).
///
/// On an error the failed request is marked failed on the receiver (the next push,
/// notification or tick asks again) and the error is returned; what was applied stays
/// applied.
pub fn drive(
    con: &mut impl ConnectionLike,
    key: &[u8],
    receiver: &mut Receiver,
    actions: Vec<Action>,
    apply: &mut impl FnMut(Action),
) -> RedisResult<()> {
    let mut queue = std::collections::VecDeque::from(actions);
    while let Some(action) = queue.pop_front() {
        let next = match action {
            Action::Pull(request) => match pull(con, key, request) {
                Ok(result) => receiver.pulled(result),
                Err(e) => {
                    receiver.pull_failed();
                    return Err(e);
                }
            },
            Action::Changes { since, count } => match changes(con, key, since, count) {
                Ok(result) => receiver.changed(result),
                Err(e) => {
                    receiver.changes_failed();
                    return Err(e);
                }
            },
            Action::Reload { .. } => match reload(con, key, receiver.follows_changes()) {
                Ok(result) => receiver.reloaded(result),
                Err(e) => {
                    receiver.reload_failed();
                    return Err(e);
                }
            },
            app => {
                apply(app);
                continue;
            }
        };
        queue.extend(next);
    }
    Ok(())
}
