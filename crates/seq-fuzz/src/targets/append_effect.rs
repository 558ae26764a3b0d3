//! The packed APPEND effect (`seq_core::encoding::unpack_append`), which replicas and AOF
//! loading decode from one argument: refused, or six numbers (five in an old effect) that
//! pack back the same.

use seq_core::encoding::{pack_append, unpack_append, PACKED_APPEND_MAX};
use seq_core::{Append, SeqError};

use crate::harness::Target;

pub const TARGET: Target = Target { name: "append_effect", default_seconds: 5, generate, budget, check };

/// Unpacking allocates nothing; the budget covers the outcome label.
fn budget(_len: usize) -> usize {
    4096
}

fn check(input: &[u8]) -> Result<String, String> {
    let append = match unpack_append(input) {
        Err(SeqError::InvalidState(why)) => return Ok(format!("refused: {why}")),
        Err(other) => return Err(format!("refused with an unexpected error: {other}")),
        Ok(append) => append,
    };
    let mut packed = [0u8; PACKED_APPEND_MAX];
    let len = pack_append(&append, &mut packed);
    if unpack_append(packed.get(..len).unwrap_or(&[])) != Ok(append) {
        return Err(format!("{append:?} does not round-trip"));
    }
    Ok("unpacked".into())
}

fn generate() -> Vec<(String, Vec<u8>)> {
    let max = i64::MAX as u64;
    let appends = [
        ("first", Append { seq: 1, ts: 1_700_000_000_000, epoch: 0, dedup_floor: 1, keep_from: 1, skip: Some(0) }),
        (
            "fenced",
            Append {
                seq: 1_000_007,
                ts: 1_700_000_000_500,
                epoch: 3,
                dedup_floor: 900_000,
                keep_from: 999_000,
                skip: Some(6),
            },
        ),
        ("largest", Append { seq: max, ts: max, epoch: u64::MAX, dedup_floor: max, keep_from: max, skip: Some(max) }),
        ("zeros", Append { seq: 0, ts: 0, epoch: 0, dedup_floor: 0, keep_from: 0, skip: None }),
        ("old-format", Append { seq: 42, ts: 1_700_000_000_000, epoch: 1, dedup_floor: 40, keep_from: 2, skip: None }),
    ];
    appends
        .iter()
        .map(|(name, append)| {
            let mut packed = [0u8; PACKED_APPEND_MAX];
            let len = pack_append(append, &mut packed);
            (name.to_string(), packed.get(..len).unwrap_or(&[]).to_vec())
        })
        .collect()
}
