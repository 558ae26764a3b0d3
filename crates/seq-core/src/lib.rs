//! The pure core of redis-seq: the sequenced log, its de-duplication index, consumer
//! cursors and the persistent encoding. Nothing here knows about Redis, so all of it is
//! unit- and property-tested without a server.

mod alloc_size;
pub mod args;
mod changes;
mod chunk;
mod chunk_list;
mod cursors;
mod dedup;
mod deleted_counts;
pub mod encoding;
mod error;
mod id_table;
mod lifecycle;
mod load;
mod log;
mod log_ref;
mod packed_map;
mod retention;
mod retired;
mod small_log;
mod stored_id;
mod varint;

#[cfg(test)]
mod dedup_test;
#[cfg(test)]
mod model_test;
#[cfg(test)]
mod small_log_test;

pub use chunk::{Chunk, EntryFormat};
pub use chunk_list::ChunkList;
pub use error::SeqError;
pub use lifecycle::Change;
pub use log::{AllocPlan, AllocPolicy, Append, LogHeader, SeqLog};
pub use log_ref::RevRange;
pub use retention::TrimBy;
pub use stored_id::{IdText, PackBuf, StoredId};

/// The highest seq (and ts) a log may reach: replies carry them as signed 64-bit integers.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// One message of a log, borrowed from the log's storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub seq: u64,
    pub id: StoredId<'a>,
    pub ts: u64,
    pub payload: &'a [u8],
}
