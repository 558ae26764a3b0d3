//! The integration tests, as one test binary: one module (file) per feature, all using the
//! helpers of `tests/common`. One binary rather than one per file, so `tests/common` is
//! compiled, and the tests linked, once instead of once per file.
//!
//! Run one file's tests with its module path as the filter:
//! `cargo test --release --test it sentinel:: -- --test-threads=2`.

#[path = "../common/mod.rs"]
mod common;

mod acl;
mod acl_categories;
mod blocking;
mod chaos;
mod client_crate;
mod clients_py;
mod cluster;
mod commands;
mod corrupt_payloads;
mod cursors;
mod damaged_logs;
mod dedup_scale;
mod errors;
mod fence;
mod fixtures_load;
mod import;
mod lifecycle;
mod live_fuzz;
mod memory;
mod memory_limits;
mod migrate;
mod operator_view;
mod persistence;
mod propagation;
mod read_many;
mod read_state;
mod replication;
mod retention;
mod sentinel;
mod small_logs;
mod stored_ids;
