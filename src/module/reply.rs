//! Writing replies straight into Redis' reply buffer: entries are sent from the log's
//! own bytes, with no intermediate values or copies.

use std::os::raw::{c_char, c_long};

use redis_module::raw::{self, RedisModuleCtx};

use seq_core::Entry;

#[derive(Clone, Copy)]
pub struct Reply {
    ctx: *mut RedisModuleCtx,
}

impl Reply {
    pub fn new(ctx: *mut RedisModuleCtx) -> Reply {
        Reply { ctx }
    }

    pub fn int(self, value: u64) {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        // SAFETY (here and below): `ctx` is the live context of the current call.
        unsafe { call(raw::RedisModule_ReplyWithLongLong, |f| f(self.ctx, value)) };
    }

    pub fn bulk(self, bytes: &[u8]) {
        unsafe {
            call(raw::RedisModule_ReplyWithStringBuffer, |f| f(self.ctx, bytes.as_ptr().cast::<c_char>(), bytes.len()))
        };
    }

    pub fn array(self, len: usize) {
        let len = c_long::try_from(len).unwrap_or(c_long::MAX);
        unsafe { call(raw::RedisModule_ReplyWithArray, |f| f(self.ctx, len)) };
    }

    /// A map of `pairs` field/value pairs (RESP3), an array of `2 * pairs` in RESP2.
    pub fn map(self, pairs: usize) {
        let pairs = c_long::try_from(pairs).unwrap_or(c_long::MAX);
        unsafe { call(raw::RedisModule_ReplyWithMap, |f| f(self.ctx, pairs)) };
    }

    pub fn null(self) {
        unsafe { call(raw::RedisModule_ReplyWithNull, |f| f(self.ctx)) };
    }

    pub fn error(self, message: &str) {
        // Error replies are a single line; a NUL would cut the C string short.
        let text: String = message.chars().map(|c| if c == '\r' || c == '\n' || c == '\0' { ' ' } else { c }).collect();
        let Ok(text) = std::ffi::CString::new(text) else { return };
        unsafe { call(raw::RedisModule_ReplyWithError, |f| f(self.ctx, text.as_ptr())) };
    }

    pub fn wrong_arity(self) {
        unsafe { call(raw::RedisModule_WrongArity, |f| f(self.ctx)) };
    }

    /// `[seq, client-msg-id, ts-ms, payload]`.
    pub fn entry(self, entry: &Entry<'_>) {
        self.array(4);
        self.int(entry.seq);
        self.bulk(entry.id);
        self.int(entry.ts);
        self.bulk(entry.payload);
    }

    /// An array of entries whose count is known only once they are written.
    pub fn entries<'a>(self, entries: impl Iterator<Item = Entry<'a>>) {
        unsafe {
            call(raw::RedisModule_ReplyWithArray, |f| f(self.ctx, raw::REDISMODULE_POSTPONED_ARRAY_LEN as c_long))
        };
        let mut written: c_long = 0;
        for entry in entries {
            self.entry(&entry);
            written += 1;
        }
        unsafe { call(raw::RedisModule_ReplySetArrayLength, |f| f(self.ctx, written)) };
    }
}

/// Calls a Redis API function pointer if Redis provided it (all of these exist since 6.0).
unsafe fn call<F, R>(function: Option<F>, body: impl FnOnce(F) -> R) {
    if let Some(function) = function {
        body(function);
    }
}
