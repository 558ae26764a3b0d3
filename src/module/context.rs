//! The safe face of a command's Redis context: replying, opening keys, replicating,
//! notifying, signalling, the context flags and the clock. Commands see only this.
//!
//! It wraps the raw module API rather than redis-module's `Context` on purpose: the hot
//! path (SEQ.ALLOC) allocates nothing per reply or per key (no `RedisString` wrappers, no
//! `RedisValue` trees, no `String` for an integer reply) and hands the client's own argument
//! strings on to replication. Keep it that way.

use std::ffi::CStr;

use redis_module::raw::{self, RedisModuleCtx};

use super::args::KeyName;
use super::errors::CmdError;
use super::keys::LogKey;
use super::reply::Reply;

pub struct Ctx {
    raw: *mut RedisModuleCtx,
}

impl Ctx {
    /// # Safety
    /// `raw` must be the context Redis passed to the running callback; the `Ctx` must not
    /// outlive that callback.
    pub(super) unsafe fn from_raw(raw: *mut RedisModuleCtx) -> Ctx {
        Ctx { raw }
    }

    pub(super) fn raw(&self) -> *mut RedisModuleCtx {
        self.raw
    }

    pub fn reply(&self) -> Reply {
        Reply::new(self.raw)
    }

    pub fn read_key<'a>(&self, name: KeyName<'a>) -> LogKey<'a> {
        LogKey::open(self.raw, name, raw::REDISMODULE_READ)
    }

    pub fn write_key<'a>(&self, name: KeyName<'a>) -> LogKey<'a> {
        LogKey::open(self.raw, name, raw::REDISMODULE_READ | raw::REDISMODULE_WRITE)
    }

    /// Sends the running command to replicas and the AOF exactly as it came.
    pub fn replicate_verbatim(&self) {
        // SAFETY: the running command's context.
        unsafe { api!(RedisModule_ReplicateVerbatim)(self.raw) };
    }

    /// A keyspace event of the module class (`notify-keyspace-events` with `d`).
    pub(super) fn notify(&self, event: &CStr, key: KeyName<'_>) {
        // SAFETY: the running command's context and one of its arguments.
        unsafe {
            api!(RedisModule_NotifyKeyspaceEvent)(self.raw, raw::REDISMODULE_NOTIFY_MODULE, event.as_ptr(), key.raw())
        };
    }

    /// Wakes the clients blocked on `key` (they re-check after this command).
    pub(super) fn signal_ready(&self, key: KeyName<'_>) {
        // SAFETY: the running command's context and one of its arguments.
        unsafe { api!(RedisModule_SignalKeyAsReady)(self.raw, key.raw()) };
    }

    fn flags(&self) -> u32 {
        // SAFETY: a plain query on a live context.
        unsafe { api!(RedisModule_GetContextFlags)(self.raw) as u32 }
    }

    /// Whether the call comes from the master link or the AOF being loaded.
    pub fn is_replicated_or_loading(&self) -> bool {
        self.flags() & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING) != 0
    }

    /// Whether the client may block (not inside MULTI, a script or a blocked callback).
    pub fn may_block(&self) -> bool {
        self.flags() & raw::REDISMODULE_CTX_FLAGS_DENY_BLOCKING == 0
    }

    /// Refuses with Redis' OOM error while the server is over `maxmemory`, as Redis
    /// refuses its own `deny-oom` commands. For the writes that create state inside
    /// commands that cannot be `deny-oom` as a whole (SEQ.ACK of an existing cursor must
    /// still work when memory is full). A replicated or loaded effect is never refused:
    /// the master already decided it.
    pub fn deny_if_over_maxmemory(&self) -> Result<(), CmdError> {
        if self.is_replicated_or_loading() {
            return Ok(());
        }
        // SAFETY: a plain query (0 without a maxmemory, above 1 when over it).
        let ratio = unsafe { api!(RedisModule_GetUsedMemoryRatio)() };
        if ratio > 1.0 {
            return Err(CmdError::OutOfMemory);
        }
        Ok(())
    }

    /// The current wall clock in ms: Redis' time cached for the running command where the
    /// server offers it (7.2+), else a clock read.
    pub fn now_ms(&self) -> u64 {
        // SAFETY: plain clock queries.
        let ms = unsafe {
            match optional_api!(RedisModule_CachedMicroseconds) {
                Some(cached) => cached() / 1000,
                None => api!(RedisModule_Milliseconds)(),
            }
        };
        u64::try_from(ms).unwrap_or(0)
    }
}
