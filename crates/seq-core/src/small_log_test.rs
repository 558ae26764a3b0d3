//! What a small log costs (issue 11): the log itself fits the allocator's 96-byte size
//! class and holds its one chunk, whose buffer is exactly its entries' bytes: a few
//! messages cost two allocations, nothing more. The large form a log grows into costs
//! its own 128-byte class besides.
//! `cargo test --release -p seq-core small_log -- --nocapture` prints the figures.

use super::chunk;
use super::log::LargeLog;
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
fn a_small_log_costs_its_bytes_in_one_buffer() {
    assert!(std::mem::size_of::<SeqLog>() <= 96, "SeqLog is {} bytes", std::mem::size_of::<SeqLog>());
    assert!(std::mem::size_of::<LargeLog>() <= 128, "LargeLog is {} bytes", std::mem::size_of::<LargeLog>());
    // The ids are 20 decimal digits: stored packed, as any hex id.
    let entry = chunk::entry_size(1, StoredId::of(format!("{:020}", 0).as_bytes(), &mut PackBuf::new()), &[0; 100]);
    assert_eq!(SeqLog::new().heap_bytes(), 0, "a new log allocates nothing but itself");
    for n in [1, 3, 10, 16] {
        let log = log_of(n);
        assert!(log.is_small(), "{n} messages");
        // The first entry stores a ts delta of 0: a byte, as the others. The buffer holds
        // exactly the entries, in the allocator's size class for them.
        assert_eq!(log.heap_bytes(), crate::alloc_size::allocation_size(n as usize * entry), "{n} messages");
    }
    let large = log_of(17);
    assert!(!large.is_small(), "past the scanned ids, the large form");
    assert!(large.heap_bytes() >= std::mem::size_of::<LargeLog>() + 17 * entry + std::mem::size_of::<chunk::Chunk>());
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
}
