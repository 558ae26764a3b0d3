//! Process-wide counters for `INFO seq`. Atomics: logs are freed on a background thread
//! when UNLINK or lazyfree hands them off.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use redis_module::raw::{self, RedisModuleInfoCtx};

static LOGS: AtomicI64 = AtomicI64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static DEDUP_HITS: AtomicU64 = AtomicU64::new(0);
static ENTRIES_TRIMMED: AtomicU64 = AtomicU64::new(0);
static BLOCKED_CLIENTS: AtomicI64 = AtomicI64::new(0);
static IMPORTS: AtomicU64 = AtomicU64::new(0);
static DAMAGED_LOGS: AtomicI64 = AtomicI64::new(0);
static EFFECT_ERRORS: AtomicU64 = AtomicU64::new(0);
static EFFECTS_UNSENT: AtomicU64 = AtomicU64::new(0);

pub fn log_created() {
    LOGS.fetch_add(1, Ordering::Relaxed);
}

pub fn log_freed() {
    LOGS.fetch_sub(1, Ordering::Relaxed);
}

pub fn allocated() {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

pub fn imported() {
    IMPORTS.fetch_add(1, Ordering::Relaxed);
}

pub fn dedup_hit() {
    DEDUP_HITS.fetch_add(1, Ordering::Relaxed);
}

pub fn trimmed(entries: u64) {
    if entries > 0 {
        ENTRIES_TRIMMED.fetch_add(entries, Ordering::Relaxed);
    }
}

pub fn client_blocked() {
    BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
}

pub fn client_unblocked() {
    BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
}

/// A log became damaged, or a damaged one was loaded or copied.
pub fn log_damaged() {
    DAMAGED_LOGS.fetch_add(1, Ordering::Relaxed);
}

pub fn damaged_log_freed() {
    DAMAGED_LOGS.fetch_sub(1, Ordering::Relaxed);
}

/// A replicated or loaded effect that did not fit its log.
pub fn effect_error() {
    EFFECT_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// An effect not sent: nothing (AOF, replica, backlog) would have received it.
pub fn effect_unsent() {
    EFFECTS_UNSENT.fetch_add(1, Ordering::Relaxed);
}

/// The `INFO seq` section; Redis prefixes each field with `seq_`.
pub extern "C" fn info(ctx: *mut RedisModuleInfoCtx, _for_crash_report: i32) {
    super::guard::guard(c"INFO", (), || {
        let _ = raw::add_info_section(ctx, None);
        let fields: [(&str, i64); 11] = [
            ("logs", LOGS.load(Ordering::Relaxed)),
            ("allocations", ALLOCATIONS.load(Ordering::Relaxed) as i64),
            ("dedup_hits", DEDUP_HITS.load(Ordering::Relaxed) as i64),
            ("entries_trimmed", ENTRIES_TRIMMED.load(Ordering::Relaxed) as i64),
            ("blocked_clients", BLOCKED_CLIENTS.load(Ordering::Relaxed)),
            ("epoch", super::fence::node_epoch() as i64),
            ("imports", IMPORTS.load(Ordering::Relaxed) as i64),
            ("damaged_logs", DAMAGED_LOGS.load(Ordering::Relaxed)),
            ("effect_errors", EFFECT_ERRORS.load(Ordering::Relaxed) as i64),
            ("eviction_can_reset_logs", i64::from(super::resets::eviction_can_reset_logs())),
            ("effects_unsent", EFFECTS_UNSENT.load(Ordering::Relaxed) as i64),
        ];
        for (name, value) in fields {
            let _ = raw::add_info_field_long_long(ctx, name, value);
        }
    });
}
