//! The Redis side of redis-seq: loading the module, registering the type, the commands
//! (each in `commands/`, named after it), configs, INFO and the role-change event.

pub mod args;
pub mod command_docs;
pub mod config;
pub mod effects;
pub mod errors;
pub mod fence;
pub mod guard;
pub mod keys;
pub mod log_type;
pub mod reply;
pub mod stats;

use std::ffi::{CStr, CString};
use std::os::raw::c_int;

use redis_module::raw::{self, RedisModuleCtx, RedisModuleIO, RedisModuleString};
use redis_module::{Context, RedisString, Status};

use args::Args;
use command_docs::{Docs, KeyUse};
use errors::CmdError;
use log_type::SEQ_LOG_TYPE;
use reply::Reply;

/// One command: its registration facts, its docs and its body. Every command runs through
/// `entry` below, the single place where panics are caught and errors become replies.
pub trait Command {
    const NAME: &'static CStr;
    /// CreateCommand flags, e.g. `c"write deny-oom"`.
    const FLAGS: &'static CStr;
    /// Key positions and how the keys are used; `None` for a command without keys.
    const KEYS: Option<KeyUse>;
    const DOCS: Docs;

    /// Checks everything, then changes state and writes the whole reply; an `Err` must
    /// leave state unchanged and nothing written.
    fn run(ctx: *mut RedisModuleCtx, args: &Args) -> Result<(), CmdError>;
}

extern "C" fn entry<C: Command>(ctx: *mut RedisModuleCtx, argv: *mut *mut RedisModuleString, argc: c_int) -> c_int {
    let reply = Reply::new(ctx);
    let completed = guard::guard(C::NAME, false, || {
        // SAFETY: Redis passes the command's argv, alive for the whole call.
        let args = unsafe { Args::from_raw(argv, argc) };
        match C::run(ctx, &args) {
            Ok(()) => {}
            Err(CmdError::WrongArity) => reply.wrong_arity(),
            Err(error) => reply.error(&error.to_string()),
        }
        true
    });
    if !completed {
        // The client still gets an answer; the details are in the server log.
        reply.error(INTERNAL_ERROR);
    }
    raw::REDISMODULE_OK as c_int
}

/// The reply to a call that hit a bug (a caught panic), logged in full by the guard.
pub const INTERNAL_ERROR: &str = "ERR internal error in redis-seq (details in the server log)";

fn register<C: Command>(ctx: *mut RedisModuleCtx) -> bool {
    let (first, last, step) = C::KEYS.map_or((0, 0, 0), |k| (k.first, k.last, k.step));
    // SAFETY: called from OnLoad with its context.
    let created = unsafe {
        raw::RedisModule_CreateCommand.is_some_and(|create| {
            create(ctx, C::NAME.as_ptr(), Some(entry::<C>), C::FLAGS.as_ptr(), first, last, step)
                == raw::REDISMODULE_OK as c_int
        })
    };
    if !created {
        log_warning(&format!("redis-seq: could not register {:?}", C::NAME));
        return false;
    }
    if !command_docs::set_command_info(ctx, C::NAME, &C::DOCS, C::KEYS) {
        log_warning(&format!("redis-seq: could not set the docs of {:?}", C::NAME));
        return false;
    }
    true
}

fn register_commands(ctx: *mut RedisModuleCtx) -> bool {
    use crate::commands::*;
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
}

fn init(ctx: &Context, _args: &[RedisString]) -> Status {
    guard::install_panic_hook();
    let raw_ctx = ctx.ctx;
    // SAFETY: OnLoad context. HANDLE_IO_ERRORS: a short RDB read sets an error flag that
    // the loader checks, instead of aborting the server.
    unsafe {
        if let Some(set_options) = raw::RedisModule_SetModuleOptions {
            set_options(raw_ctx, raw::REDISMODULE_OPTIONS_HANDLE_IO_ERRORS as c_int);
        }
    }
    config::register(ctx);
    // SAFETY: OnLoad context; applies `seq.*` values from redis.conf and the command line.
    let configs_loaded =
        unsafe { raw::RedisModule_LoadConfigs.is_some_and(|load| load(raw_ctx) == raw::REDISMODULE_OK as c_int) };
    if !configs_loaded {
        ctx.log_warning("redis-seq: invalid seq.* config value (see the lines above)");
        return Status::Err;
    }
    if !register_commands(raw_ctx) {
        return Status::Err;
    }
    // SAFETY: OnLoad context.
    unsafe {
        if let Some(register_info) = raw::RedisModule_RegisterInfoFunc {
            register_info(raw_ctx, Some(stats::info));
        }
    }
    if !fence::subscribe(raw_ctx) {
        ctx.log_warning("redis-seq: could not subscribe to role changes (failover fence)");
        return Status::Err;
    }
    Status::Ok
}

/// The current wall clock in ms: Redis' time cached for the running command where the
/// server offers it (7.2+), else a clock read.
pub fn now_ms() -> u64 {
    // SAFETY: plain queries.
    let ms = unsafe {
        match raw::RedisModule_CachedMicroseconds {
            Some(cached) => cached() / 1000,
            None => raw::RedisModule_Milliseconds.map_or(0, |f| f()),
        }
    };
    u64::try_from(ms).unwrap_or(0)
}

pub fn context_flags(ctx: *mut RedisModuleCtx) -> u32 {
    // SAFETY: a plain query on a live context.
    let flags = unsafe { raw::RedisModule_GetContextFlags.map_or(0, |f| f(ctx)) };
    flags as u32
}

fn log_with(ctx: *mut RedisModuleCtx, level: &CStr, message: &str) {
    let Ok(text) = CString::new(message.replace('\0', " ")) else { return };
    // SAFETY: Log accepts a NULL context; the format is a literal "%s".
    unsafe {
        if let Some(log) = raw::RedisModule_Log {
            log(ctx, level.as_ptr(), c"%s".as_ptr(), text.as_ptr());
        }
    }
}

pub fn log_warning(message: &str) {
    log_with(std::ptr::null_mut(), c"warning", message);
}

pub fn log_notice_ctx(ctx: *mut RedisModuleCtx, message: &str) {
    log_with(ctx, c"notice", message);
}

/// Logs why an RDB payload was refused, against the IO context Redis reports it with.
pub fn log_io_error(io: *mut RedisModuleIO, message: &str) {
    let Ok(text) = CString::new(message.replace('\0', " ")) else { return };
    // SAFETY: LogIOError takes the IO context of the running load.
    unsafe {
        if let Some(log) = raw::RedisModule_LogIOError {
            log(io, c"warning".as_ptr(), c"%s".as_ptr(), text.as_ptr());
        }
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
