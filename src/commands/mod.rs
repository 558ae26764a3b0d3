//! One file per command. Each is a `module::Command`: its flags, keys, docs and body.

pub mod ack;
pub mod alloc;
pub mod cursors;
pub mod effect;
pub mod forget;
pub mod info;
pub mod last;
pub mod range;
pub mod sync;
pub mod trim;
pub mod unread;
