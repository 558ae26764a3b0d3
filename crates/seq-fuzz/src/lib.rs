//! A stable-Rust mutational fuzzer for redis-seq (cargo-fuzz needs nightly): seeded and
//! time-bounded runs from a committed corpus, a panic or a failed check reported with the
//! input written to a file, and every run held to an allocation budget by a metered
//! global allocator. Each target is a `harness::Target`; `tests/<target>.rs` runs it, so
//! `cargo test --release --workspace` (and `./test.sh`) fuzzes every target briefly.

pub mod alloc_meter;
pub mod harness;
pub mod mutate;
pub mod rng;
pub mod targets;
pub mod wire;

pub use harness::{fuzz, Target};
