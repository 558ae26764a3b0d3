//! Lines in the Redis server log. Logging alone reads its function pointer each time
//! instead of through `api!`: the guard logs with it, and a guard must work even where
//! Redis set no pointers (before the load check, and in unit tests).

use std::ffi::{CStr, CString};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleIO};

fn c_text(message: &str) -> Option<CString> {
    CString::new(message.replace('\0', " ")).ok()
}

fn log_with(ctx: *mut RedisModuleCtx, level: &CStr, message: &str) {
    let Some(text) = c_text(message) else { return };
    // SAFETY: Log accepts a NULL context; the format is a literal "%s".
    unsafe {
        if let Some(log) = raw::RedisModule_Log {
            log(ctx, level.as_ptr(), c"%s".as_ptr(), text.as_ptr());
        }
    }
}

pub fn warning(message: &str) {
    log_with(std::ptr::null_mut(), c"warning", message);
}

pub fn notice(message: &str) {
    log_with(std::ptr::null_mut(), c"notice", message);
}

pub fn notice_ctx(ctx: *mut RedisModuleCtx, message: &str) {
    log_with(ctx, c"notice", message);
}

/// Logs why an RDB payload was refused, against the IO context Redis reports it with.
pub fn io_error(io: *mut RedisModuleIO, message: &str) {
    let Some(text) = c_text(message) else { return };
    // SAFETY: LogIOError takes the IO context of the running load.
    unsafe {
        if let Some(log) = raw::RedisModule_LogIOError {
            log(io, c"warning".as_ptr(), c"%s".as_ptr(), text.as_ptr());
        }
    }
}
