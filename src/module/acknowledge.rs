//! Acknowledging a seq for a consumer: SEQ.ACK's write, which SEQ.SYNC's AFTER also makes.

use super::context::Ctx;
use super::effect::Effect;
use super::errors::CmdError;
use super::keys::LogKey;
use seq_core::SeqError;

/// Checks `seq` against `last` (a missing key accepts only 0 and stays missing), moves the
/// cursor to max(cursor, seq), replicates a change, and returns the cursor. A new cursor
/// is memory: refused with OOM while the server is over `maxmemory`.
pub fn acknowledge(ctx: &Ctx, key: &mut LogKey<'_>, consumer: &[u8], seq: u64) -> Result<u64, CmdError> {
    let Some(log) = key.log()? else {
        return if seq == 0 { Ok(0) } else { Err(SeqError::SeqOutOfRange { seq, last: 0 }.into()) };
    };
    if log.cursor(consumer).is_none() {
        ctx.deny_if_over_maxmemory()?;
    }
    Effect::Ack { consumer, cursor: seq }.commit(ctx, key)
}
