//! The de-duplication index past the compact slots' 24-bit offsets: fence skips make
//! seq spans of any width with few ids, so these tests cross 2^24 (and go far beyond)
//! without millions of entries. Every id inside the window keeps its first seq, through
//! migrations between slot widths, migrations that start over, expiry and reloads.

use std::collections::HashMap;

use proptest::prelude::*;

use super::encoding::{self, memory::Item, memory::Reader};
use super::*;

fn alloc(log: &mut SeqLog, id: &[u8], now: u64, policy: &AllocPolicy) -> u64 {
    match log.plan_alloc(id, now, policy).expect("plan") {
        AllocPlan::Duplicate(seq) => seq,
        AllocPlan::Append(append) => {
            log.apply_append(&append, id, b"").expect("apply");
            append.seq
        }
    }
}

fn round_trip(log: &SeqLog) -> SeqLog {
    let mut items: Vec<Item> = Vec::new();
    encoding::save(log, &mut items);
    encoding::load(&mut Reader(items.iter()), encoding::LATEST_ENCODING).expect("own encoding loads")
}

/// Promotes the node and sets the next fence skip.
fn promote(policy: &mut AllocPolicy, gap: u64) {
    policy.node_epoch += 1;
    policy.failover_gap = gap;
}

#[test]
fn a_seq_jump_past_24_bits_keeps_older_ids() {
    let mut log = SeqLog::new();
    let mut policy = AllocPolicy { dedup_window_ms: 1_000_000, ..AllocPolicy::default() };
    assert_eq!(alloc(&mut log, b"a", 5, &policy), 1);
    // More ids than a small log scans: the window is indexed in hash tables.
    let fillers = super::dedup::SCAN_IDS as u64;
    for n in 0..fillers {
        alloc(&mut log, format!("f-{n}").as_bytes(), 5, &policy);
    }
    promote(&mut policy, 40_000_000);
    let b = fillers + 40_000_002;
    assert_eq!(alloc(&mut log, b"b", 5, &policy), b);
    assert!(log.dedup().has_tables() && log.dedup().is_wide(), "a 40 M span needs wide slots");
    assert_eq!(alloc(&mut log, b"b", 5, &policy), b);
    assert_eq!(alloc(&mut log, b"a", 5, &policy), 1, "an id inside the window keeps its first seq");
    assert_eq!(log.dedup_entries() as u64, 2 + fillers);
    // Far beyond 32 bits too, and through a reload.
    promote(&mut policy, 1_000_000_000_000);
    let c = b + 1_000_000_000_001;
    assert_eq!(alloc(&mut log, b"c", 6, &policy), c);
    let mut log = round_trip(&log);
    for (id, seq) in [(&b"a"[..], 1), (b"b", b), (b"c", c)] {
        assert_eq!(alloc(&mut log, id, 7, &policy), seq, "{id:?} after the reload");
    }
    assert_eq!(log.header().dedup_floor, 1);
    // Once the old ids leave the window by time, the span is small again: a later rebuild
    // goes back to compact slots.
    let late = 5 + policy.dedup_window_ms + 1;
    assert_eq!(alloc(&mut log, b"d", late, &policy), c + 1);
    assert_eq!(log.seq_of_id(b"a"), None, "expired by time");
    for n in 0..100u64 {
        alloc(&mut log, format!("e-{n}").as_bytes(), late, &policy);
    }
    assert!(log.dedup().has_tables() && !log.dedup().is_wide(), "a small span is indexed in compact slots again");
    assert_eq!(log.seq_of_id(b"d"), Some(c + 1));
}

#[test]
fn a_fence_skip_during_a_large_migration_loses_no_id() {
    // Enough ids that tables are replaced a piece per insert (made ready while new ids
    // go to a spill table, then migrated); the skips come while a migration is still going
    // on, so the next table (wide) is prepared and the migration starts over into it.
    let mut log = SeqLog::new();
    let mut policy = AllocPolicy { dedup_window_ms: 1 << 40, ..AllocPolicy::default() };
    let id = |n: u64| format!("client-{n}").into_bytes();
    let mut seqs: HashMap<u64, u64> = HashMap::new();
    let mut skipped_while_migrating = 0;
    let (mut n, mut newest) = (0u64, 0u64);
    let (mut spilled_compact, mut restarted_wide) = (false, false);
    while n < 200_000 {
        n += 1;
        if n > 120_000 && log.dedup().is_migrating() && n % 5 == 0 && skipped_while_migrating < 3 {
            skipped_while_migrating += 1;
            promote(&mut policy, 1 << (23 + 4 * skipped_while_migrating));
        }
        let seq = alloc(&mut log, &id(n), n, &policy);
        spilled_compact |= log.dedup().is_preparing() && log.dedup().is_migrating() && !log.dedup().is_wide();
        restarted_wide |= spilled_compact && log.dedup().is_migrating() && log.dedup().is_wide();
        assert!(seq > newest, "id {n} got {seq}, not a new seq");
        newest = seq;
        seqs.insert(n, seq);
        if log.dedup().is_preparing() {
            // The newest ids are in the spill table meanwhile.
            for m in n.saturating_sub(5).max(1)..=n {
                assert_eq!(log.seq_of_id(&id(m)), Some(seqs[&m]), "id {m} while the next table is prepared");
            }
        }
        if n % 1009 == 0 || log.dedup().is_preparing() || (log.dedup().is_migrating() && n % 13 == 0) {
            assert_eq!(log.dedup_entries() as u64, n, "at {n}");
            for m in (1..=n).step_by(47) {
                assert_eq!(log.seq_of_id(&id(m)), Some(seqs[&m]), "id {m} after {n} allocations");
            }
        }
    }
    assert_eq!(skipped_while_migrating, 3, "the fence skips should have come during migrations");
    assert!(spilled_compact, "a skip should have found a compact table migrating and sent ids to a spill");
    assert!(restarted_wide, "the migration should have started over into wide slots");
    assert!(log.dedup().is_wide());
    assert!(log.last() > 1 << 35);
    let reloaded = round_trip(&log);
    for m in (1..=n).step_by(7) {
        assert_eq!(reloaded.seq_of_id(&id(m)), Some(seqs[&m]), "id {m} after the reload");
    }
}

#[test]
fn a_window_beyond_56_bits_is_refused_not_cut_short() {
    // Only fence skips can get here (the index addresses 2^56 - 2 seqs): the ALLOC is
    // refused rather than expiring ids that are still inside the window.
    let mut log = SeqLog::new();
    let mut policy = AllocPolicy { dedup_window_ms: 1_000, ..AllocPolicy::default() };
    assert_eq!(alloc(&mut log, b"a", 5, &policy), 1);
    promote(&mut policy, (1 << 56) - 2);
    assert_eq!(log.plan_alloc(b"b", 5, &policy), Err(SeqError::DedupSpan));
    assert_eq!(log.seq_of_id(b"a"), Some(1));
    // Once `a` leaves the window by time the skip goes through.
    assert!(matches!(log.plan_alloc(b"b", 5 + 1_001, &policy), Ok(AllocPlan::Append(_))));
    promote(&mut policy, (1 << 56) - 3);
    let mut fits = SeqLog::new();
    assert_eq!(alloc(&mut fits, b"a", 5, &policy), (1 << 56) - 2, "a new log skips the gap as well");
}

#[test]
fn replicated_appends_beyond_the_index_range_are_refused() {
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 1_000, ..AllocPolicy::default() };
    alloc(&mut log, b"a", 5, &policy);
    let append = Append { seq: 1 << 57, ts: 5, epoch: 1, dedup_floor: 1, keep_from: 1, skip: None };
    assert!(log.apply_append(&append, b"b", b"").is_err());
    assert_eq!((log.last(), log.seq_of_id(b"a")), (1, Some(1)), "a refused append changes nothing");
    // The same seq with a floor that expires `a` is fine.
    let append = Append { dedup_floor: 1 << 57, ..append };
    log.apply_append(&append, b"b", b"").expect("apply");
    assert_eq!((log.seq_of_id(b"a"), log.seq_of_id(b"b")), (None, Some(1 << 57)));
}

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        id: u16,
        clock_step: u64,
    },
    /// A promotion whose fence skip is `1 << bits` (+ a little).
    Promote {
        bits: u8,
        extra: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        60 => (0u16..3000, 0u64..3).prop_map(|(id, clock_step)| Op::Alloc { id, clock_step }),
        1 => (20u8..46, any::<u16>()).prop_map(|(bits, extra)| Op::Promote { bits, extra }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Against a model of the window by time: every id whose ts is inside the window (by
    /// the log's newest ts) answers its first seq, every other id gets a new one, through
    /// spans that cross 2^24 and back as fence skips come and ids expire.
    #[test]
    fn the_window_holds_by_time_across_slot_widths(ops in prop::collection::vec(op(), 1..9000)) {
        let window = 2_000;
        let mut log = SeqLog::new();
        let mut policy = AllocPolicy { dedup_window_ms: window, ..AllocPolicy::default() };
        // id -> (seq, ts) of its newest issue.
        let mut issued: HashMap<u16, (u64, u64)> = HashMap::new();
        let (mut clock, mut last, mut last_ts) = (0u64, 0u64, 0u64);
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Alloc { id, clock_step } => {
                    clock += clock_step;
                    let name = format!("id-{id}").into_bytes();
                    let window_start = last_ts.saturating_sub(window);
                    let want = issued.get(&id).filter(|(_, ts)| *ts >= window_start).map(|(seq, _)| *seq);
                    let got = alloc(&mut log, &name, clock, &policy);
                    match want {
                        Some(seq) => prop_assert_eq!(got, seq, "retry of id {} at step {}", id, step),
                        None => {
                            prop_assert!(got > last, "new id {} got {} at step {}, last {}", id, got, step, last);
                            last = got;
                            last_ts = clock;
                            issued.insert(id, (got, clock));
                        }
                    }
                }
                Op::Promote { bits, extra } => promote(&mut policy, (1 << bits) + u64::from(extra)),
            }
            if step % 997 == 0 {
                let window_start = last_ts.saturating_sub(window);
                let live = issued.values().filter(|(_, ts)| *ts >= window_start).count();
                prop_assert_eq!(log.dedup_entries(), live, "at step {}", step);
                let reloaded = round_trip(&log);
                for (id, (seq, ts)) in &issued {
                    let want = (*ts >= window_start).then_some(*seq);
                    let name = format!("id-{id}").into_bytes();
                    prop_assert_eq!(log.seq_of_id(&name), want, "id {} at step {}", id, step);
                    prop_assert_eq!(reloaded.seq_of_id(&name), want, "id {} reloaded at step {}", id, step);
                }
            }
        }
    }
}

#[test]
fn expiring_most_of_a_large_window_at_once_counts_and_sheds_the_ids() {
    // Expiry only counts the ids (no per-id work); the table holding them is replaced by
    // a small one on the next insert and freed a segment per insert after that.
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 1_000, ..AllocPolicy::default() };
    for n in 1..=300_000u64 {
        alloc(&mut log, format!("m{n}").as_bytes(), 5, &policy);
    }
    let full = log.dedup().heap_bytes();
    assert_eq!(log.dedup_entries(), 300_000);
    assert_eq!(alloc(&mut log, b"late", 2_000, &policy), 300_001);
    assert_eq!(log.dedup_entries(), 1, "every older id left the window by time");
    for n in (1..=300_000u64).step_by(997) {
        assert_eq!(log.seq_of_id(format!("m{n}").as_bytes()), None, "m{n} expired");
    }
    for n in 0..100u64 {
        assert_eq!(alloc(&mut log, format!("again-{n}").as_bytes(), 2_000, &policy), 300_002 + n);
    }
    assert_eq!(log.seq_of_id(b"late"), Some(300_001));
    assert_eq!(alloc(&mut log, b"m7", 2_000, &policy), 300_102, "an expired id is new again");
    assert!(log.dedup().heap_bytes() * 20 < full, "{} bytes left of {full}", log.dedup().heap_bytes());
}
