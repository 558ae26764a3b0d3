//! Writing replies straight into Redis' reply buffer: entries are sent from the log's
//! own bytes, with no intermediate values or copies.

use std::os::raw::{c_char, c_long};

use redis_module::raw::{self, RedisModuleCtx};

use super::errors::{CmdError, INTERNAL_ERROR};
use seq_core::Entry;

#[derive(Clone, Copy)]
pub struct Reply {
    ctx: *mut RedisModuleCtx,
}

impl Reply {
    /// `ctx` must be the live context of the running call (see `Ctx::reply`).
    pub(super) fn new(ctx: *mut RedisModuleCtx) -> Reply {
        Reply { ctx }
    }

    pub fn int(self, value: u64) {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        // SAFETY (here and below): `ctx` is the live context of the current call.
        unsafe { api!(RedisModule_ReplyWithLongLong)(self.ctx, value) };
    }

    pub fn bulk(self, bytes: &[u8]) {
        unsafe { api!(RedisModule_ReplyWithStringBuffer)(self.ctx, bytes.as_ptr().cast::<c_char>(), bytes.len()) };
    }

    pub fn array(self, len: usize) {
        let len = c_long::try_from(len).unwrap_or(c_long::MAX);
        unsafe { api!(RedisModule_ReplyWithArray)(self.ctx, len) };
    }

    /// A map of `pairs` field/value pairs (RESP3), an array of `2 * pairs` in RESP2.
    pub fn map(self, pairs: usize) {
        let pairs = c_long::try_from(pairs).unwrap_or(c_long::MAX);
        unsafe { api!(RedisModule_ReplyWithMap)(self.ctx, pairs) };
    }

    pub fn null(self) {
        unsafe { api!(RedisModule_ReplyWithNull)(self.ctx) };
    }

    fn error(self, message: &str) {
        // Error replies are a single line; a NUL would cut the C string short.
        let text: String = message.chars().map(|c| if c == '\r' || c == '\n' || c == '\0' { ' ' } else { c }).collect();
        let Ok(text) = std::ffi::CString::new(text) else { return };
        unsafe { api!(RedisModule_ReplyWithError)(self.ctx, text.as_ptr()) };
    }

    /// The reply to a refused call; an internal failure is logged, not explained.
    pub fn refusal(self, error: &CmdError) {
        match error {
            CmdError::WrongArity => {
                unsafe { api!(RedisModule_WrongArity)(self.ctx) };
            }
            CmdError::Internal(detail) => {
                super::log::warning(&format!("redis-seq: internal error: {detail}"));
                self.error(INTERNAL_ERROR);
            }
            refusal => self.error(&refusal.to_string()),
        }
    }

    /// The reply to a call that hit a bug (a caught panic, logged by the guard).
    pub fn internal_error(self) {
        self.error(INTERNAL_ERROR);
    }

    /// `[seq, client-msg-id, ts-ms, payload]`.
    pub fn entry(self, entry: &Entry<'_>) {
        self.array(4);
        self.int(entry.seq);
        self.bulk(&entry.id.text());
        self.int(entry.ts);
        self.bulk(entry.payload);
    }

    /// An array of entries whose count is known only once they are written.
    pub fn entries<'a>(self, entries: impl Iterator<Item = Entry<'a>>) {
        self.postponed_array(entries, |entry| self.entry(&entry));
    }

    /// An array with one element per item, each written by `write`, counted as it goes.
    pub fn postponed_array<T>(self, items: impl Iterator<Item = T>, mut write: impl FnMut(T)) {
        unsafe { api!(RedisModule_ReplyWithArray)(self.ctx, raw::REDISMODULE_POSTPONED_ARRAY_LEN as c_long) };
        let mut written: c_long = 0;
        for item in items {
            write(item);
            written += 1;
        }
        unsafe { api!(RedisModule_ReplySetArrayLength)(self.ctx, written) };
    }
}
