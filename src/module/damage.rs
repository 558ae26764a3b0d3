//! Damaged logs: a replicated or loaded effect that does not fit its log (a lost or
//! corrupt SEQ.EFFECT in the AOF or the replication stream) must never read as a
//! legitimate hole. The log is marked damaged (persisted, shown by SEQ.INFO and counted by
//! `INFO seq`), the server log names the key and why, and `Effect::commit` refuses every
//! write to it until an operator repairs it (docs/deployment.md#repairing-a-damaged-log).

use super::context::Ctx;
use super::effect::EFFECT_COMMAND;
use super::errors::{shown, CmdError};
use super::keys::LogKey;
use super::{log, stats};

/// Marks the key's log damaged, creating it empty if the key is missing (its first effects
/// went missing, so the log must not start clean); counts a newly damaged log.
pub fn mark(key: &mut LogKey<'_>) -> Result<bool, CmdError> {
    let newly = key.log_or_create()?.mark_damaged();
    if newly {
        stats::log_damaged();
    }
    Ok(newly)
}

/// A received SEQ.EFFECT `op` failed with `error` on `key`: marks the log damaged, logs
/// it (once per log: later effects on a damaged log are counted, not logged again), and
/// passes the effect on as it came, so this node's replicas and AOF see what it saw.
pub fn record(ctx: &Ctx, key: &mut LogKey<'_>, op: &[u8], error: &CmdError) {
    stats::effect_error();
    let name = shown(key.name().bytes());
    let what = format!("{} {}", EFFECT_COMMAND.to_string_lossy(), String::from_utf8_lossy(op));
    match mark(key) {
        Ok(true) => log::warning(&format!(
            "redis-seq: log {name} is damaged: a replicated or AOF {what} did not fit it ({error}); writes to it \
             are refused until it is repaired (docs/deployment.md#repairing-a-damaged-log)"
        )),
        Ok(false) => {}
        Err(other) => {
            log::warning(&format!("redis-seq: a replicated or AOF {what} for key {name} failed ({error}): {other}"))
        }
    }
    ctx.replicate_verbatim();
}
