//! What replicas and the AOF receive: the resolved effect of each write, as one internal
//! command, `SEQ.EFFECT key <op> ...` (see `commands/effect.rs` for the receiving side).
//! Arguments go out as integers and raw buffers: no strings are built for them.

use std::os::raw::{c_char, c_longlong};

use redis_module::raw::{self, RedisModuleCtx, RedisModuleIO, RedisModuleString};

use seq_core::encoding;
use seq_core::{Append, LogHeader};

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

/// `APPEND <packed numbers> id payload`: the id and payload go out as the client's own
/// argument strings (shared, not copied).
pub fn append(
    target: Target,
    key: *mut RedisModuleString,
    a: &Append,
    id: *mut RedisModuleString,
    payload: Option<*mut RedisModuleString>,
) {
    let mut packed = [0u8; encoding::PACKED_APPEND_MAX];
    let packed_len = encoding::pack_append(a, &mut packed);
    let (ptr, len) = buf(&packed[..packed_len]);
    match payload {
        Some(payload) => emit!(target, c"scbss", key, c"APPEND".as_ptr(), ptr, len, id, payload),
        None => emit!(target, c"scbsc", key, c"APPEND".as_ptr(), ptr, len, id, c"".as_ptr()),
    }
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
    emit!(
        target,
        c"scllllll",
        key,
        c"RESTORE-HEADER".as_ptr(),
        ll(h.last),
        ll(h.skipped),
        ll(h.epoch),
        ll(h.last_ts),
        ll(h.dedup_floor),
        ll(super::fence::node_epoch())
    );
}

pub fn restore_retired(target: Target, key: *mut RedisModuleString, seq: u64, ts: u64, id: &[u8]) {
    let (ptr, len) = buf(id);
    emit!(target, c"scllb", key, c"RESTORE-RETIRED".as_ptr(), ll(seq), ll(ts), ptr, len);
}

pub fn restore_chunk(
    target: Target,
    key: *mut RedisModuleString,
    first_seq: u64,
    skipped_before: u64,
    first_ts: u64,
    len: u32,
    bytes: &[u8],
) {
    let (ptr, blen) = buf(bytes);
    emit!(
        target,
        c"scllllb",
        key,
        c"RESTORE-CHUNK".as_ptr(),
        ll(first_seq),
        ll(skipped_before),
        ll(first_ts),
        ll(u64::from(len)),
        ptr,
        blen
    );
}
