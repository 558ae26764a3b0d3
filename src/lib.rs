//! redis-seq: a Redis module issuing per-conversation message seqs atomically with the
//! message, idempotent by client-msg-id. `core` is plain Rust; `module` is the Redis side.

pub mod core;
