//! redis-seq: a Redis module issuing per-conversation message seqs atomically with the
//! message, idempotent by client-msg-id.
//!
//! `core` is plain Rust (the log, de-duplication, cursors, encoding) with its own tests;
//! `module` is the Redis adapter (type callbacks, replication, configs, INFO) and
//! `commands` holds one file per command.

mod commands;
pub mod core;
mod module;
