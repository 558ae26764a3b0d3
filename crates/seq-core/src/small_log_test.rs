//! What a small log costs (issue 11): the log itself fits the allocator's 128-byte size
//! class, and a few messages cost their bytes plus one chunk slot, nothing more.
//! `cargo test --release -p seq-core small_log -- --nocapture` prints the figures.

use super::chunk::{self, Chunk};
use super::*;

/// A log of `n` messages with 20-byte ids and 100-byte payloads, a day's window.
fn log_of(n: u64) -> SeqLog {
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 86_400_000, ..AllocPolicy::default() };
    for i in 0..n {
        let id = format!("{i:020}");
        let AllocPlan::Append(append) = log.plan_alloc(id.as_bytes(), 1_700_000_000_000 + i, &policy).expect("plan")
        else {
            panic!("{id} is new")
        };
        log.apply_append(&append, id.as_bytes(), &[7; 100]).expect("apply");
    }
    log
}

#[test]
fn a_small_log_costs_its_bytes_and_one_chunk_slot() {
    assert!(std::mem::size_of::<SeqLog>() <= 128, "SeqLog is {} bytes", std::mem::size_of::<SeqLog>());
    let entry = chunk::entry_size(1, &[0; 20], &[0; 100]);
    for n in [1, 3, 10] {
        let log = log_of(n);
        assert!(log.is_small());
        // The first entry stores a ts delta of 0: a byte, as the others.
        assert_eq!(log.heap_bytes(), n as usize * entry + std::mem::size_of::<Chunk>(), "{n} messages");
    }
    for n in [1, 3, 10, 16, 17, 100, 1000] {
        let log = log_of(n);
        println!(
            "{n:>5} messages: size_of::<SeqLog>() {} + heap {} bytes ({:.1} per message; small form: {})",
            std::mem::size_of::<SeqLog>(),
            log.heap_bytes(),
            log.heap_bytes() as f64 / n as f64,
            log.is_small()
        );
    }
    assert!(!log_of(17).is_small(), "past the scanned ids, a hash table");
}
