//! Whether Redis propagates writes at all. It does not on a master with the AOF off, no
//! replica and no replication backlog (`shouldPropagate` in Redis' server.c): what
//! RedisModule_Replicate would queue is dropped there unread, after a command lookup and
//! an argument vector built for it (about an eighth of SEQ.ALLOC's server time). So an
//! effect is sent only where something can receive it; where nothing can, the write is
//! still counted in `server.dirty` (RedisModule_ReplicateVerbatim, which queues nothing
//! there either), so save points see it as before.
//!
//! "Nothing receives" is read from the server (INFO replication and the context flags)
//! and believed until an event that could change it: a fork (every full synchronisation
//! of a replica starts with one, and a partial one needs the backlog a fork created; the
//! AOF turned on starts a rewrite), a replica's change, a role change, a load, a config
//! change. The argument, with what Redis does at each step, is in docs/design.md ("When
//! an effect is not sent"). While something receives, the answer is read again every
//! `RECHECK_EVERY` effects, to notice a backlog Redis has freed (after
//! `repl-backlog-ttl`), which no event announces.

use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleEvent};

use super::guard::guard;

const UNKNOWN: u8 = 0;
const NOTHING_RECEIVES: u8 = 1;
const SOMETHING_RECEIVES: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
/// Effects sent since the answer was last read (while something receives). Only the
/// main thread sends effects, so it is counted with a plain load and store, not a locked
/// read-modify-write on every effect.
static SENT_SINCE_CHECK: AtomicU32 = AtomicU32::new(0);

/// Reading INFO replication costs tens of microseconds: once per this many effects is
/// well under a nanosecond each.
const RECHECK_EVERY: u32 = 100_000;

/// Whether an effect from the running command would reach an AOF, a replica or a
/// replication backlog.
pub fn something_receives(ctx: *mut RedisModuleCtx) -> bool {
    match STATE.load(Ordering::Relaxed) {
        NOTHING_RECEIVES => false,
        SOMETHING_RECEIVES if SENT_SINCE_CHECK.load(Ordering::Relaxed) < RECHECK_EVERY => {
            SENT_SINCE_CHECK.store(SENT_SINCE_CHECK.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            true
        }
        _ => check(ctx),
    }
}

/// Forgets the answer: the next effect reads it from the server again.
pub fn forget() {
    STATE.store(UNKNOWN, Ordering::Relaxed);
}

fn check(ctx: *mut RedisModuleCtx) -> bool {
    let receives = !nothing_receives(ctx);
    STATE.store(if receives { SOMETHING_RECEIVES } else { NOTHING_RECEIVES }, Ordering::Relaxed);
    SENT_SINCE_CHECK.store(0, Ordering::Relaxed);
    receives
}

/// A master, not loading, AOF off, no replica, no backlog. Anything unreadable counts
/// as something receiving.
fn nothing_receives(ctx: *mut RedisModuleCtx) -> bool {
    // SAFETY: the running command's context; the server info is freed once read.
    unsafe {
        let flags = api!(RedisModule_GetContextFlags)(ctx) as u32;
        let master_at_rest = flags & raw::REDISMODULE_CTX_FLAGS_MASTER != 0
            && flags & (raw::REDISMODULE_CTX_FLAGS_AOF | raw::REDISMODULE_CTX_FLAGS_LOADING) == 0;
        if !master_at_rest {
            return false;
        }
        let info = api!(RedisModule_GetServerInfo)(ctx, c"replication".as_ptr());
        if info.is_null() {
            return false;
        }
        let zero = |field: &CStr| {
            let mut error: c_int = 0;
            let value = api!(RedisModule_ServerInfoGetFieldUnsigned)(info, field.as_ptr(), &mut error);
            error == 0 && value == 0
        };
        let idle = zero(c"connected_slaves") && zero(c"repl_backlog_active");
        api!(RedisModule_FreeServerInfo)(ctx, info);
        idle
    }
}

unsafe extern "C" fn on_event(_ctx: *mut RedisModuleCtx, event: RedisModuleEvent, sub: u64, _data: *mut c_void) {
    // A fork can start something receiving (a replica's sync); a child's end cannot (its
    // replicas and backlog were there since the fork), and Redis reports it only when
    // it reaps the child, at any later moment.
    if event.id == raw::REDISMODULE_EVENT_FORK_CHILD && sub == raw::REDISMODULE_SUBEVENT_FORK_CHILD_DIED {
        return;
    }
    guard(c"a replication-state event", (), forget);
}

/// At load: the events after which the answer is read again (the role change and the
/// config change reach `forget` through their own modules' callbacks, fence.rs and
/// resets.rs: a module has one callback per event).
pub fn subscribe(ctx: *mut RedisModuleCtx) -> bool {
    let events =
        [raw::REDISMODULE_EVENT_FORK_CHILD, raw::REDISMODULE_EVENT_REPLICA_CHANGE, raw::REDISMODULE_EVENT_LOADING];
    events.into_iter().all(|id| {
        let event = RedisModuleEvent { id, dataver: 1 };
        // SAFETY: called from OnLoad with its context.
        unsafe { api!(RedisModule_SubscribeToServerEvent)(ctx, event, Some(on_event)) == raw::REDISMODULE_OK as c_int }
    })
}
