//! The integration tests' one helper set, shared by every file under `tests/it/` (the one
//! test binary, whose `main.rs` includes this module by path), by the benchmark
//! (`benches/seq_bench/main.rs`) and the fixture generators (`examples/`): real server
//! processes with the module loaded, typed calls, strict reply parsers and topologies.
//! A test file says `use crate::common::*;`.
#![allow(dead_code, unused_imports)]

pub mod aof;
pub mod binaries;
pub mod client;
pub mod cluster;
pub mod fixture;
pub mod ids;
pub mod info;
pub mod legacy;
pub mod lifecycle;
pub mod process;
pub mod replies;
pub mod rng;
pub mod sentinel;
pub mod seq;
pub mod server;
pub mod state;

pub use aof::*;
pub use binaries::{server_is_valkey, server_version, ServerVersion};
pub use client::*;
pub use cluster::*;
pub use ids::*;
pub use info::*;
pub use lifecycle::*;
pub use process::*;
pub use replies::*;
pub use rng::*;
pub use sentinel::*;
pub use seq::*;
pub use server::*;
pub use state::*;
