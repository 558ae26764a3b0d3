//! The Redis side of redis-seq: the safe context commands run with, keys, arguments,
//! replies and refusals, the replication protocol (`effect`), the native type, configs,
//! INFO and the failover fence. Everything that touches the raw module API lives here.

// First: the `api!` macros the other files use.
#[macro_use]
mod api;

pub mod acknowledge;
pub mod acl;
pub mod args;
pub mod blocking;
pub mod command;
pub mod command_docs;
pub mod config;
pub mod context;
pub mod damage;
pub mod effect;
pub mod errors;
pub mod fence;
pub mod guard;
pub mod key_positions;
pub mod keys;
pub mod limits;
pub mod load;
pub mod log;
pub mod log_type;
pub mod propagation;
pub mod reply;
pub mod resets;
pub mod stats;
