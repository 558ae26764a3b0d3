//! redis-seq: a Redis module issuing per-conversation message seqs atomically with the
//! message, idempotent by client-msg-id.
//!
//! The pure core (the log, de-duplication, cursors, encoding) is the `seq-core` crate;
//! `module` is the Redis adapter (type callbacks, replication, configs, INFO) and
//! `commands` holds one file per command.

// Unit tests build without `redis_module!` (its allocator aborts outside Redis), which
// leaves the adapter unreferenced there.
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod commands;
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod module;
