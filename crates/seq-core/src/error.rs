use std::fmt;

/// Why the core refused an operation. The adapter turns each into an `ERR` reply whose
/// text is `Display` below, so every message names the problem and the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeqError {
    /// An acknowledged seq outside `0..=last`.
    SeqOutOfRange { seq: u64, last: u64 },
    /// SEQ.EDIT of a seq that is not a retained, not deleted entry.
    NoEntry { seq: u64 },
    /// SEQ.CHANGES from a rev below a change that trimming dropped: the adapter replies
    /// it with the error code `RESYNC` instead of `ERR`.
    Resync { rev: u64 },
    /// Issuing another seq would overflow 64 bits.
    LogFull,
    /// The de-duplication window would span more seqs than its index can address
    /// (2^56 - 2; only fence skips can get there): ids must expire first.
    DedupSpan,
    /// A replicated or loaded effect that does not fit the log (corrupt AOF or stream).
    InvalidState(&'static str),
    /// SEQ.IMPORT of a seq not above `last` (or above the highest seq).
    ImportNotAfterLast { seq: u64, last: u64 },
    /// SEQ.IMPORT with a ts older than the log's newest (or above the highest ts).
    ImportTsBehind { ts: u64, newest: u64 },
    /// SEQ.IMPORT of an id the window already holds at another seq.
    ImportIdTaken { seq: u64 },
}

impl fmt::Display for SeqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqError::SeqOutOfRange { seq, last } => {
                write!(f, "seq {seq} is out of range: this log's last seq is {last}")
            }
            SeqError::NoEntry { seq } => {
                write!(f, "no entry with seq {seq} (trimmed, deleted, skipped or never issued)")
            }
            SeqError::Resync { rev } => write!(f, "changes up to rev {rev} are no longer kept"),
            SeqError::LogFull => {
                write!(f, "this log has reached the highest seq or ts a signed 64-bit integer can hold")
            }
            SeqError::DedupSpan => write!(
                f,
                "this log's de-duplication window would span more than 2^56 seqs (fence skips): \
                 retry once older ids have left seq.dedup-window-ms"
            ),
            SeqError::InvalidState(why) => write!(f, "invalid replicated or persisted state: {why}"),
            SeqError::ImportNotAfterLast { seq, last } => {
                write!(f, "cannot import seq {seq}: it must be above this log's last seq {last} (and at most 2^63-1)")
            }
            SeqError::ImportTsBehind { ts, newest } => {
                write!(
                    f,
                    "cannot import ts {ts}: it must be at least this log's newest ts {newest} (and at most 2^63-1)"
                )
            }
            SeqError::ImportIdTaken { seq } => {
                write!(f, "cannot import: this client-msg-id already has seq {seq} in this log's de-duplication window")
            }
        }
    }
}

impl std::error::Error for SeqError {}
