//! One file per command. Each is a `module::command::Command`: its flags, arity, keys, docs
//! and body, which checks arguments and calls the core through `module::context::Ctx`.

pub mod ack;
pub mod alloc;
pub mod cursors;
pub mod effect;
pub mod forget;
pub mod import;
pub mod info;
pub mod last;
pub mod range;
pub mod sync;
pub mod trim;
pub mod unread;
