//! The steps of loading the module around registering the commands (`init` in lib.rs).

use std::os::raw::c_int;

use redis_module::raw::{self, RedisModuleCtx};
use redis_module::Context;

use super::{acl, api, config, fence, guard, log, stats};

/// First: refuses a server without the API the module needs, installs the panic hook,
/// turns on HANDLE_IO_ERRORS (a short RDB read sets an error flag that the loader checks,
/// instead of aborting the server) and adds the `@seq` ACL category where the server can
/// (before the commands that go in it are created).
pub fn prepare(ctx: *mut RedisModuleCtx) -> bool {
    if api::check().is_err() {
        return false;
    }
    guard::install_panic_hook();
    // SAFETY: the OnLoad context.
    unsafe { api!(RedisModule_SetModuleOptions)(ctx, raw::REDISMODULE_OPTIONS_HANDLE_IO_ERRORS as c_int) };
    acl::add_module_category(ctx);
    true
}

/// Registers the `seq.*` configs and applies their values from redis.conf and the
/// command line.
pub fn configs(ctx: &Context) -> bool {
    config::register(ctx);
    // SAFETY: the OnLoad context.
    if unsafe { api!(RedisModule_LoadConfigs)(ctx.ctx) } != raw::REDISMODULE_OK as c_int {
        log::warning("redis-seq: invalid seq.* config value (see the lines above)");
        return false;
    }
    true
}

/// Last: the `INFO seq` section, the role-change event of the failover fence, the events
/// that say whether anything receives effects, and those that make resets visible.
pub fn info_and_events(ctx: *mut RedisModuleCtx) -> bool {
    // SAFETY: the OnLoad context.
    unsafe { api!(RedisModule_RegisterInfoFunc)(ctx, Some(stats::info)) };
    if !fence::subscribe(ctx) {
        log::warning("redis-seq: could not subscribe to role changes (failover fence)");
        return false;
    }
    if !super::propagation::subscribe(ctx) {
        log::warning("redis-seq: could not subscribe to fork, replica and loading events (replication state)");
        return false;
    }
    if !super::resets::subscribe(ctx) {
        log::warning("redis-seq: could not subscribe to keyspace and flush events (waking waiters on resets)");
        return false;
    }
    true
}
