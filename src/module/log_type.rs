//! The native type `seqlog-rs` (Redis needs exactly 9 characters) and its callbacks:
//! RDB save/load (also DUMP/RESTORE, MIGRATE), AOF rewrite, digest, memory usage, copy,
//! free and free effort. Every callback runs under the panic guard.

use std::os::raw::{c_char, c_int, c_void};

use redis_module::native_types::RedisType;
use redis_module::raw::{self, RedisModuleDigest, RedisModuleIO, RedisModuleString};

use super::effect::Effect;
use super::guard::guard;
use super::stats;
use seq_core::encoding::{self, Sink, Source, LATEST_ENCODING};
use seq_core::{EntryFormat, SeqError, SeqLog};

pub static SEQ_LOG_TYPE: RedisType = RedisType::new(
    "seqlog-rs",
    LATEST_ENCODING,
    raw::RedisModuleTypeMethods {
        // Redis 7.0 knows type-method versions up to 4; later fields stay unset.
        version: 4,
        rdb_load: Some(rdb_load),
        rdb_save: Some(rdb_save),
        aof_rewrite: Some(aof_rewrite),
        mem_usage: Some(mem_usage),
        digest: Some(digest),
        free: Some(free),
        aux_load: Some(super::fence::aux_load),
        aux_save: Some(super::fence::aux_save),
        aux_save_triggers: raw::REDISMODULE_AUX_BEFORE_RDB as c_int,
        free_effort: Some(free_effort),
        unlink: None,
        copy: Some(copy),
        defrag: None,
        mem_usage2: None,
        free_effort2: None,
        unlink2: None,
        copy2: None,
        aux_save2: None,
    },
);

/// Writes the encoding with Redis' RDB primitives.
struct RdbSink(*mut RedisModuleIO);

impl Sink for RdbSink {
    fn put_u64(&mut self, value: u64) {
        raw::save_unsigned(self.0, value);
    }
    fn put_bytes(&mut self, bytes: &[u8]) {
        raw::save_slice(self.0, bytes);
    }
}

/// Reads it back, checking Redis' IO error flag after every read (HANDLE_IO_ERRORS is
/// on, so a short read sets the flag instead of aborting the server).
struct RdbSource(*mut RedisModuleIO);

impl Source for RdbSource {
    fn get_u64(&mut self) -> Result<u64, SeqError> {
        raw::load_unsigned(self.0).map_err(|_| SeqError::InvalidState("short or corrupt RDB payload"))
    }
    fn get_bytes(&mut self) -> Result<Vec<u8>, SeqError> {
        raw::load_string_buffer(self.0)
            .map(|buffer| buffer.as_ref().to_vec())
            .map_err(|_| SeqError::InvalidState("short or corrupt RDB payload"))
    }
}

unsafe extern "C" fn rdb_load(rdb: *mut RedisModuleIO, encver: c_int) -> *mut c_void {
    guard(c"rdb_load", std::ptr::null_mut(), || match encoding::load(&mut RdbSource(rdb), encver) {
        Ok(log) => {
            super::fence::observe_epoch(log.epoch());
            stats::log_created();
            if log.is_damaged() {
                stats::log_damaged();
            }
            Box::into_raw(Box::new(log)).cast::<c_void>()
        }
        Err(error) => {
            super::log::io_error(rdb, &format!("redis-seq: refusing to load a log: {error}"));
            std::ptr::null_mut()
        }
    })
}

unsafe extern "C" fn rdb_save(rdb: *mut RedisModuleIO, value: *mut c_void) {
    guard(c"rdb_save", (), || {
        if let Some(log) = value.cast::<SeqLog>().as_ref() {
            encoding::save(log, &mut RdbSink(rdb));
        }
    });
}

/// Rebuilds the key with RESTORE-* effects: header (with rev and resync floor), retired
/// ids, chunks (as stored, each with its change records), cursors. One command per chunk keeps every command small however long the log.
unsafe extern "C" fn aof_rewrite(aof: *mut RedisModuleIO, key: *mut RedisModuleString, value: *mut c_void) {
    guard(c"aof_rewrite", (), || {
        let Some(log) = value.cast::<SeqLog>().as_ref() else { return };
        let header = log.header();
        Effect::RestoreHeader {
            header,
            node_epoch: super::fence::node_epoch(),
            rev: log.rev(),
            resync_floor: log.resync_floor(),
        }
        .rewrite(aof, key);
        for retired in log.retired().iter() {
            Effect::RestoreRetired { seq: retired.seq, ts: retired.ts, id: &retired.id.text() }.rewrite(aof, key);
        }
        for chunk in log.chunks() {
            Effect::RestoreChunk {
                first_seq: chunk.first_seq,
                skipped_before: chunk.skipped_before,
                first_ts: chunk.first_ts,
                len: chunk.len,
                bytes: chunk.live_bytes(),
                changes: &log.packed_changes(chunk),
                format: EntryFormat::StoredIds,
            }
            .rewrite(aof, key);
        }
        for (consumer, cursor) in log.cursors().iter() {
            Effect::Ack { consumer, cursor }.rewrite(aof, key);
        }
        if log.is_damaged() {
            Effect::RestoreDamaged.rewrite(aof, key);
        }
    });
}

unsafe extern "C" fn mem_usage(value: *const c_void) -> usize {
    guard(c"mem_usage", 0, || {
        value.cast::<SeqLog>().as_ref().map_or(0, |log| std::mem::size_of::<SeqLog>() + log.heap_bytes())
    })
}

/// The digest covers what a client can observe (not how it is laid out in memory), so
/// master and replica agree whenever their logs answer alike.
unsafe extern "C" fn digest(md: *mut RedisModuleDigest, value: *mut c_void) {
    guard(c"digest", (), || {
        let Some(log) = value.cast::<SeqLog>().as_ref() else { return };
        let add_int = |v: u64| api!(RedisModule_DigestAddLongLong)(md, v as i64);
        let add_bytes = |b: &[u8]| api!(RedisModule_DigestAddStringBuffer)(md, b.as_ptr().cast::<c_char>(), b.len());
        let end = || api!(RedisModule_DigestEndSequence)(md);
        let h = log.header();
        for v in [h.last, h.skipped, h.epoch, h.last_ts, h.dedup_floor] {
            add_int(v);
        }
        // SEQ.INFO shows it (an undamaged log digests as it did before the flag existed).
        if log.is_damaged() {
            add_int(1);
        }
        end();
        for r in log.retired().iter() {
            add_int(r.seq);
            add_int(r.ts);
            add_bytes(&r.id.text());
            end();
        }
        for e in log.range(0, u64::MAX) {
            add_int(e.seq);
            add_bytes(&e.id.text());
            add_int(e.ts);
            add_bytes(e.payload);
            end();
        }
        for (consumer, cursor) in log.cursors().iter() {
            add_bytes(consumer);
            add_int(cursor);
            end();
        }
        // The lifecycle, as SEQ.CHANGES and SEQ.INFO show it (a change at or below the
        // resync floor is listed to no device, so it is not observable).
        for v in [log.rev(), log.resync_floor(), log.deleted()] {
            add_int(v);
        }
        end();
        if let Ok(changes) = log.changes_since(log.resync_floor()) {
            for change in changes {
                add_int(change.rev);
                add_int(change.seq);
                add_int(u64::from(change.entry.is_some()));
                end();
            }
        }
    });
}

unsafe extern "C" fn free(value: *mut c_void) {
    guard(c"free", (), || {
        if !value.is_null() {
            let log = Box::from_raw(value.cast::<SeqLog>());
            if log.is_damaged() {
                stats::damaged_log_freed();
            }
            drop(log);
            stats::log_freed();
        }
    });
}

/// Chunks to free: above `lazyfree-lazy-user-del`'s threshold (64), UNLINK and lazy
/// frees hand a long log to a background thread instead of blocking the server.
unsafe extern "C" fn free_effort(_key: *mut RedisModuleString, value: *const c_void) -> usize {
    guard(c"free_effort", 1, || {
        value.cast::<SeqLog>().as_ref().map_or(1, |log| log.chunks().len() + log.retired().chunk_count() + 1)
    })
}

unsafe extern "C" fn copy(
    _from: *mut RedisModuleString,
    _to: *mut RedisModuleString,
    value: *const c_void,
) -> *mut c_void {
    guard(c"copy", std::ptr::null_mut(), || match value.cast::<SeqLog>().as_ref() {
        Some(log) => {
            stats::log_created();
            if log.is_damaged() {
                stats::log_damaged();
            }
            Box::into_raw(Box::new(log.clone())).cast::<c_void>()
        }
        None => std::ptr::null_mut(),
    })
}
