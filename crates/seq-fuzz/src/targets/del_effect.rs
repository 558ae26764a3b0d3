//! The packed DEL effect (`seq_core::encoding::unpack_seqs`), which replicas and AOF
//! loading decode from one argument: refused, or strictly ascending seqs that pack and
//! unpack back the same.

use seq_core::encoding::{pack_seqs, unpack_seqs};
use seq_core::SeqError;

use crate::harness::Target;

pub const TARGET: Target = Target { name: "del_effect", default_seconds: 5, generate, budget, check };

/// At most one seq per input byte: the seqs (8 bytes each, in a vector that may have
/// doubled), their repacking (at most 10 bytes each, grown likewise) and the seqs
/// unpacked again, all alive at once.
fn budget(len: usize) -> usize {
    len * (16 + 20 + 16) + 4096
}

fn check(input: &[u8]) -> Result<String, String> {
    let seqs = match unpack_seqs(input) {
        Err(SeqError::InvalidState(why)) => return Ok(format!("refused: {why}")),
        Err(other) => return Err(format!("refused with an unexpected error: {other}")),
        Ok(seqs) => seqs,
    };
    if !seqs.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(format!("{seqs:?} is not strictly ascending"));
    }
    if unpack_seqs(&pack_seqs(&seqs)).as_ref() != Ok(&seqs) {
        return Err(format!("{seqs:?} does not round-trip"));
    }
    Ok(format!("unpacked {} seqs", seqs.len().min(2)))
}

fn generate() -> Vec<(String, Vec<u8>)> {
    let max = i64::MAX as u64;
    let lists: [(&str, &[u64]); 4] =
        [("one", &[7]), ("spread", &[1, 2, 100, 4_000, 1_000_000]), ("largest", &[max - 1, max]), ("none", &[])];
    lists.iter().map(|(name, seqs)| (name.to_string(), pack_seqs(seqs))).collect()
}
