//! One file per command. Each is a `module::command::Command`: its flags, arity, keys, docs
//! and body, which checks arguments and calls the core through `module::context::Ctx`.

pub mod ack;
pub mod alloc;
pub mod changes;
pub mod cursors;
pub mod del;
pub mod edit;
pub mod effect;
pub mod forget;
pub mod import;
pub mod info;
pub mod last;
pub mod lookup;
pub mod range;
pub mod read;
pub mod readers;
pub mod sync;
pub mod trim;
pub mod unread;
