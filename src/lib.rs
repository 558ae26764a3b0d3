//! redis-seq: a Redis module issuing per-conversation message seqs atomically with the
//! message, idempotent by client-msg-id.
//!
//! `core` is plain Rust (the log, de-duplication, cursors, encoding) with its own tests;
//! `module` is the Redis adapter (type callbacks, replication, configs, INFO) and
//! `commands` holds one file per command.

// Unit tests build without `redis_module!` (its allocator aborts outside Redis), which
// leaves the adapter unreferenced there.
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod commands;
pub mod core;
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod module;
