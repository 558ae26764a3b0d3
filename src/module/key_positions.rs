//! Keys that follow a keyword (SEQ.READ's `LOGS key... seq...`), reported through the
//! getkeys API as well as the key spec: Redis 7.0's Cluster routing (CROSSSLOT, MOVED)
//! finds a module command's keys with that callback or the legacy first/last/step triple,
//! never with its key specs, which ACLs and COMMAND GETKEYS read. Both come from one
//! `KeyUse`, so they agree.

use std::ops::Range;
use std::os::raw::c_int;

use redis_module::raw;

use super::args::Args;
use super::command_docs::KeyUse;
use super::context::Ctx;

/// The argument indexes of the keys after `keyword`: the first half of the arguments
/// that follow its first occurrence (as the key spec's keyword search with limit 2 finds
/// them); none without it.
pub fn keys_after(keyword: &[u8], args: &Args) -> Range<usize> {
    let Some(at) = (1..args.len()).find(|&i| args.bytes(i).eq_ignore_ascii_case(keyword)) else {
        return 0..0;
    };
    let first = at + 1;
    first..first + (args.len() - first) / 2
}

impl Ctx {
    /// Whether Redis called the command only to learn its keys (`getkeys-api`).
    pub(super) fn is_keys_position_request(&self) -> bool {
        // SAFETY: a plain query on the running command's context.
        unsafe { api!(RedisModule_IsKeysPositionRequest)(self.raw()) != 0 }
    }

    /// Answers a keys position request with the keys `keys` finds in `args`.
    pub(super) fn report_keys(&self, keys: &KeyUse, keyword: &[u8], args: &Args) {
        let flags = c_int::try_from(keys.flags).unwrap_or(raw::REDISMODULE_CMD_KEY_RO as c_int);
        for index in keys_after(keyword, args) {
            let Ok(pos) = c_int::try_from(index) else { return };
            // SAFETY: the running command's context, in a keys position request.
            unsafe { api!(RedisModule_KeyAtPosWithFlags)(self.raw(), pos, flags) };
        }
    }
}
