//! What replicas and the AOF receive: the resolved effect of each write, as one internal
//! command, `SEQ.EFFECT key <op> ...` (see `commands/effect.rs` for the receiving side).
//! Arguments go out as integers and raw buffers: no strings are built for them.

use std::os::raw::{c_char, c_longlong};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleIO, RedisModuleString};

use crate::core::{Append, LogHeader};

pub const EFFECT_COMMAND: &std::ffi::CStr = c"SEQ.EFFECT";

fn ll(value: u64) -> c_longlong {
    c_longlong::try_from(value).unwrap_or(c_longlong::MAX)
}

fn buf(bytes: &[u8]) -> (*const c_char, usize) {
    (bytes.as_ptr().cast::<c_char>(), bytes.len())
}

/// Where an effect goes: replicas + AOF (from a command), or the AOF being rewritten.
#[derive(Clone, Copy)]
pub enum Target {
    Replicas(*mut RedisModuleCtx),
    Rewrite(*mut RedisModuleIO),
}

/// Sends `SEQ.EFFECT <fmt args>`; `$fmt` is RedisModule_Replicate's format string.
macro_rules! emit {
    ($target:expr, $fmt:expr, $($arg:expr),+) => {{
        // SAFETY: the format string matches the arguments' C types one for one.
        unsafe {
            match $target {
                Target::Replicas(ctx) => {
                    if let Some(replicate) = raw::RedisModule_Replicate {
                        replicate(ctx, EFFECT_COMMAND.as_ptr(), $fmt.as_ptr(), $($arg),+);
                    }
                }
                Target::Rewrite(io) => {
                    if let Some(emit_aof) = raw::RedisModule_EmitAOF {
                        emit_aof(io, EFFECT_COMMAND.as_ptr(), $fmt.as_ptr(), $($arg),+);
                    }
                }
            }
        }
    }};
}

pub fn append(target: Target, key: *mut RedisModuleString, a: &Append, id: &[u8], payload: &[u8]) {
    let (id_ptr, id_len) = buf(id);
    let (payload_ptr, payload_len) = buf(payload);
    emit!(target, c"sclllllbb", key, c"APPEND".as_ptr(),
        ll(a.seq), ll(a.ts), ll(a.epoch), ll(a.dedup_floor), ll(a.keep_from),
        id_ptr, id_len, payload_ptr, payload_len);
}

pub fn trim(target: Target, key: *mut RedisModuleString, keep_from: u64) {
    emit!(target, c"scl", key, c"TRIM".as_ptr(), ll(keep_from));
}

pub fn ack(target: Target, key: *mut RedisModuleString, consumer: &[u8], cursor: u64) {
    let (ptr, len) = buf(consumer);
    emit!(target, c"scbl", key, c"ACK".as_ptr(), ptr, len, ll(cursor));
}

pub fn forget(target: Target, key: *mut RedisModuleString, consumer: &[u8]) {
    let (ptr, len) = buf(consumer);
    emit!(target, c"scb", key, c"FORGET".as_ptr(), ptr, len);
}

pub fn restore_header(target: Target, key: *mut RedisModuleString, h: &LogHeader) {
    emit!(target, c"scllllll", key, c"RESTORE-HEADER".as_ptr(),
        ll(h.last), ll(h.skipped), ll(h.epoch), ll(h.last_ts), ll(h.dedup_floor),
        ll(super::fence::node_epoch()));
}

pub fn restore_retired(target: Target, key: *mut RedisModuleString, seq: u64, ts: u64, id: &[u8]) {
    let (ptr, len) = buf(id);
    emit!(target, c"scllb", key, c"RESTORE-RETIRED".as_ptr(), ll(seq), ll(ts), ptr, len);
}

pub fn restore_chunk(target: Target, key: *mut RedisModuleString, first_seq: u64, skipped_before: u64, first_ts: u64, len: u32, bytes: &[u8]) {
    let (ptr, blen) = buf(bytes);
    emit!(target, c"scllllb", key, c"RESTORE-CHUNK".as_ptr(),
        ll(first_seq), ll(skipped_before), ll(first_ts), ll(u64::from(len)), ptr, blen);
}
