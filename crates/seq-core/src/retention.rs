//! SEQ.TRIM's three ways to say what to keep, resolved to one trim point: the first seq
//! to keep. The trim point is what replicates, so replicas never re-decide.

use super::SeqLog;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimBy {
    /// Keep the newest n entries that are not deleted, and nothing below the oldest of them.
    MaxLen(u64),
    /// Remove entries with seq < s.
    MinSeq(u64),
    /// Remove entries older than this many ms before the log's newest ts.
    MaxAge(u64),
}

impl SeqLog {
    /// The first seq to keep for `by` (`last + 1` keeps nothing).
    pub fn plan_trim(&self, by: TrimBy) -> u64 {
        let past_last = self.last() + 1;
        match by {
            TrimBy::MaxLen(n) => self.seq_at_rank(self.len().saturating_sub(n)).unwrap_or(past_last),
            TrimBy::MinSeq(seq) => seq.clamp(self.stored_first(), past_last),
            TrimBy::MaxAge(ms) => {
                let oldest_kept = self.view().header.last_ts.saturating_sub(ms);
                self.first_seq_at_or_after_ts(oldest_kept).unwrap_or(past_last)
            }
        }
    }
}
