//! The failover fence's node epoch. A node that is promoted from replica to master moves
//! to `max(epoch seen) + 1`; logs last written in an older epoch then skip
//! `seq.failover-gap` seqs on their next ALLOC (see `SeqLog::plan_alloc`).
//!
//! The epoch only grows: it is raised by every log loaded or appended to with a higher
//! epoch (so replicas learn it from the effects they apply) and saved in the RDB's aux
//! field, so a restarted node never goes back to an older epoch.

use std::os::raw::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleEvent, RedisModuleIO};

static NODE_EPOCH: AtomicU64 = AtomicU64::new(0);

pub fn node_epoch() -> u64 {
    NODE_EPOCH.load(Ordering::Relaxed)
}

/// Raises the node epoch to at least `epoch` (never lowers it). Every append calls this,
/// almost always with the current epoch: a plain load first spares the locked
/// read-modify-write then.
pub fn observe_epoch(epoch: u64) {
    if epoch > NODE_EPOCH.load(Ordering::Relaxed) {
        NODE_EPOCH.fetch_max(epoch, Ordering::Relaxed);
    }
}

fn promote() -> u64 {
    NODE_EPOCH.fetch_add(1, Ordering::Relaxed) + 1
}

unsafe extern "C" fn on_role_changed(
    ctx: *mut RedisModuleCtx,
    _event: RedisModuleEvent,
    subevent: u64,
    _data: *mut c_void,
) {
    super::guard::guard(c"role-change event", (), || {
        super::propagation::forget();
        if subevent == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_MASTER {
            let epoch = promote();
            super::log::notice_ctx(ctx, &format!("redis-seq: promoted to master, now in epoch {epoch}"));
        }
    });
}

pub fn subscribe(ctx: *mut RedisModuleCtx) -> bool {
    let event = RedisModuleEvent { id: raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED, dataver: 1 };
    // SAFETY: called from OnLoad with its context.
    unsafe { api!(RedisModule_SubscribeToServerEvent)(ctx, event, Some(on_role_changed)) == raw::REDISMODULE_OK as i32 }
}

/// RDB aux field (before the keyspace): the node epoch.
pub unsafe extern "C" fn aux_save(rdb: *mut RedisModuleIO, _when: i32) {
    super::guard::guard(c"aux_save", (), || raw::save_unsigned(rdb, node_epoch()));
}

pub unsafe extern "C" fn aux_load(rdb: *mut RedisModuleIO, encver: i32, _when: i32) -> i32 {
    super::guard::guard(c"aux_load", raw::REDISMODULE_ERR as i32, || {
        if encver > seq_core::encoding::LATEST_ENCODING {
            return raw::REDISMODULE_ERR as i32;
        }
        match raw::load_unsigned(rdb) {
            Ok(epoch) => {
                observe_epoch(epoch);
                raw::REDISMODULE_OK as i32
            }
            Err(_) => raw::REDISMODULE_ERR as i32,
        }
    })
}
