//! redis-seq: a Redis module issuing per-conversation message seqs atomically with the
//! message, idempotent by client-msg-id.
//!
//! The pure core (the log, de-duplication, cursors, encoding) is the `seq-core` crate;
//! `module` is the Redis adapter (the safe context, the replication protocol, the native
//! type, configs, INFO) and `commands` holds one file per command. This file loads it all.

// Unit tests build without `redis_module!` (its allocator aborts outside Redis), which
// leaves the adapter unreferenced there.
#![cfg_attr(test, allow(dead_code, unused_imports, unused_macros))]

mod commands;
mod module;

use redis_module::raw::RedisModuleCtx;
use redis_module::{Context, RedisString, Status};

use module::command::register;
use module::load;
use module::log_type::SEQ_LOG_TYPE;

/// Every command the module registers.
fn register_commands(ctx: *mut RedisModuleCtx) -> bool {
    use commands::*;
    register::<alloc::Alloc>(ctx)
        && register::<range::Range>(ctx)
        && register::<range::RevRange>(ctx)
        && register::<last::Last>(ctx)
        && register::<last::MLast>(ctx)
        && register::<info::Info>(ctx)
        && register::<trim::Trim>(ctx)
        && register::<ack::Ack>(ctx)
        && register::<sync::Sync>(ctx)
        && register::<unread::Unread>(ctx)
        && register::<cursors::Cursors>(ctx)
        && register::<forget::Forget>(ctx)
        && register::<effect::Effect>(ctx)
        && register::<edit::Edit>(ctx)
        && register::<del::Del>(ctx)
        && register::<changes::Changes>(ctx)
        && register::<lookup::Lookup>(ctx)
        && register::<readers::Readers>(ctx)
        && register::<read::Read>(ctx)
        && register::<import::Import>(ctx)
}

fn init(ctx: &Context, _args: &[RedisString]) -> Status {
    let loaded =
        load::prepare(ctx.ctx) && load::configs(ctx) && register_commands(ctx.ctx) && load::info_and_events(ctx.ctx);
    if loaded {
        Status::Ok
    } else {
        Status::Err
    }
}

#[cfg(not(test))]
redis_module::redis_module! {
    name: "seq",
    version: 1,
    allocator: (redis_module::alloc::RedisAlloc, redis_module::alloc::RedisAlloc),
    data_types: [SEQ_LOG_TYPE],
    init: init,
}
