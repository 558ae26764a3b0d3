//! Module configs (`CONFIG GET/SET seq.*`, and `seq.*` lines after `loadmodule` in
//! redis.conf). Redis prefixes each name with the module name, `seq.`.

use std::sync::atomic::{AtomicI64, Ordering};

use redis_module::configuration::{register_i64_configuration, ConfigurationFlags};
use redis_module::Context;

use seq_core::AllocPolicy;

pub static MAX_PAYLOAD_BYTES: AtomicI64 = AtomicI64::new(1_048_576);
pub static MAX_CLIENT_MSG_ID_BYTES: AtomicI64 = AtomicI64::new(256);
pub static DEDUP_WINDOW_MS: AtomicI64 = AtomicI64::new(86_400_000);
pub static MAX_LEN: AtomicI64 = AtomicI64::new(0);
pub static MAX_AGE_MS: AtomicI64 = AtomicI64::new(0);
pub static FAILOVER_GAP: AtomicI64 = AtomicI64::new(0);

/// (name without the `seq.` prefix, value, default, min, max)
const CONFIGS: [(&str, &AtomicI64, i64, i64, i64); 6] = [
    ("max-payload-bytes", &MAX_PAYLOAD_BYTES, 1_048_576, 0, 512 * 1024 * 1024),
    ("max-client-msg-id-bytes", &MAX_CLIENT_MSG_ID_BYTES, 256, 1, 64 * 1024),
    ("dedup-window-ms", &DEDUP_WINDOW_MS, 86_400_000, 0, i64::MAX),
    ("max-len", &MAX_LEN, 0, 0, i64::MAX),
    ("max-age-ms", &MAX_AGE_MS, 0, 0, i64::MAX),
    ("failover-gap", &FAILOVER_GAP, 0, 0, 1_000_000_000_000),
];

pub fn register(ctx: &Context) {
    for (name, value, default, min, max) in CONFIGS {
        register_i64_configuration(ctx, name, value, default, min, max, ConfigurationFlags::DEFAULT, None);
    }
}

fn get(value: &AtomicI64) -> u64 {
    u64::try_from(value.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn max_payload_bytes() -> usize {
    usize::try_from(get(&MAX_PAYLOAD_BYTES)).unwrap_or(usize::MAX)
}

pub fn max_client_msg_id_bytes() -> usize {
    usize::try_from(get(&MAX_CLIENT_MSG_ID_BYTES)).unwrap_or(usize::MAX)
}

/// What an ALLOC on this node is planned with right now.
pub fn alloc_policy() -> AllocPolicy {
    AllocPolicy {
        dedup_window_ms: get(&DEDUP_WINDOW_MS),
        max_len: get(&MAX_LEN),
        max_age_ms: get(&MAX_AGE_MS),
        failover_gap: get(&FAILOVER_GAP),
        node_epoch: super::fence::node_epoch(),
    }
}
