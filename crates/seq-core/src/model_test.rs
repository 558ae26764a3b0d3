//! Model-based test: random operation sequences run against `SeqLog` and against a naive
//! reference model (a BTreeMap of entries and a list of every id ever issued); after each
//! step every observable answer must agree, and an encode/decode round trip must too.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::encoding::{self, memory::Item, memory::Reader};
use super::*;

#[derive(Clone, Debug)]
enum Op {
    Alloc { id: u8, clock_step: i64, payload_len: usize },
    TrimMaxLen(u64),
    TrimMinSeq(u64),
    TrimMaxAge(u64),
    Ack { consumer: u8, seq: u64 },
    Forget(u8),
    Promote,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..40, -20i64..60, 0usize..300)
            .prop_map(|(id, clock_step, payload_len)| Op::Alloc { id, clock_step, payload_len }),
        1 => (0u64..50).prop_map(Op::TrimMaxLen),
        1 => (0u64..400).prop_map(Op::TrimMinSeq),
        1 => (0u64..500).prop_map(Op::TrimMaxAge),
        2 => (0u8..3, 0u64..400).prop_map(|(consumer, seq)| Op::Ack { consumer, seq }),
        1 => (0u8..3).prop_map(Op::Forget),
        1 => Just(Op::Promote),
    ]
}

#[derive(Default)]
struct Model {
    last: u64,
    last_ts: u64,
    skipped: u64,
    epoch: u64,
    entries: BTreeMap<u64, (Vec<u8>, u64, Vec<u8>)>,
    /// Every id ever issued: (seq, ts, id).
    issued: Vec<(u64, u64, Vec<u8>)>,
    window_ms: u64,
    cursors: BTreeMap<Vec<u8>, u64>,
}

impl Model {
    /// An id is de-duplicated while the log's own time (its newest ts) is within the
    /// window of the ts the id got.
    fn seen(&self, id: &[u8]) -> Option<u64> {
        let window_start = self.last_ts.saturating_sub(self.window_ms);
        self.issued.iter().find(|(_, ts, i)| i == id && *ts >= window_start).map(|(seq, _, _)| *seq)
    }

    fn alloc(&mut self, id: &[u8], now: u64, payload: &[u8], policy: &AllocPolicy) -> u64 {
        let ts = now.max(self.last_ts);
        if let Some(seq) = self.seen(id) {
            return seq;
        }
        let skip = if policy.failover_gap > 0 && self.epoch < policy.node_epoch { policy.failover_gap } else { 0 };
        let seq = self.last + skip + 1;
        self.skipped += skip;
        self.last = seq;
        self.last_ts = ts;
        self.epoch = self.epoch.max(policy.node_epoch);
        self.issued.push((seq, ts, id.to_vec()));
        self.entries.insert(seq, (id.to_vec(), ts, payload.to_vec()));
        if policy.max_len > 0 {
            while self.entries.len() as u64 > policy.max_len {
                self.entries.pop_first();
            }
        }
        if policy.max_age_ms > 0 {
            self.entries.retain(|_, (_, t, _)| *t >= ts.saturating_sub(policy.max_age_ms));
        }
        seq
    }

    fn trim(&mut self, by: TrimBy) -> u64 {
        let before = self.entries.len();
        match by {
            TrimBy::MaxLen(n) => {
                while self.entries.len() as u64 > n {
                    self.entries.pop_first();
                }
            }
            TrimBy::MinSeq(s) => self.entries.retain(|seq, _| *seq >= s),
            TrimBy::MaxAge(ms) => {
                let oldest = self.last_ts.saturating_sub(ms);
                self.entries.retain(|_, (_, t, _)| *t >= oldest);
            }
        }
        (before - self.entries.len()) as u64
    }
}

/// (seq, id, ts, payload) of each retained entry.
type OwnedEntries = Vec<(u64, Vec<u8>, u64, Vec<u8>)>;

/// (last, first, len, skipped, epoch, entries): what a reader can observe of a log.
fn observe(log: &SeqLog) -> (u64, u64, u64, u64, u64, OwnedEntries) {
    let entries = log.range(0, u64::MAX).map(|e| (e.seq, e.id.to_vec(), e.ts, e.payload.to_vec())).collect();
    (log.last(), log.first(), log.len(), log.skipped(), log.epoch(), entries)
}

fn check(log: &SeqLog, model: &Model, ids: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let (last, first, len, skipped, epoch, entries) = observe(log);
    prop_assert_eq!(last, model.last);
    prop_assert_eq!(skipped, model.skipped);
    prop_assert_eq!(epoch, model.epoch);
    prop_assert_eq!(len, model.entries.len() as u64);
    prop_assert_eq!(first, model.entries.keys().next().copied().unwrap_or(model.last + 1));
    let expected: Vec<_> = model.entries.iter().map(|(s, (i, t, p))| (*s, i.clone(), *t, p.clone())).collect();
    prop_assert_eq!(&entries, &expected);
    let reversed: Vec<u64> = log.rev_range(u64::MAX, 0).map(|e| e.seq).collect();
    prop_assert_eq!(reversed, expected.iter().rev().map(|e| e.0).collect::<Vec<_>>());
    for (probe_start, probe_end) in [(0, 3), (model.last / 2, model.last), (5, 2)] {
        let got: Vec<u64> = log.range(probe_start, probe_end).map(|e| e.seq).collect();
        let want: Vec<u64> = model
            .entries
            .range(probe_start..=probe_end.max(probe_start))
            .map(|(s, _)| *s)
            .filter(|s| *s <= probe_end)
            .collect();
        prop_assert_eq!(got, want);
    }
    for id in ids {
        prop_assert_eq!(log.seq_of_id(id), model.seen(id), "id {:?}", id);
    }
    for after in [0, model.last / 3, model.last] {
        prop_assert_eq!(log.count_after(after), model.entries.range(after + 1..).count() as u64);
    }
    let cursors: Vec<(Vec<u8>, u64)> = log.cursors().iter().map(|(n, s)| (n.to_vec(), s)).collect();
    prop_assert_eq!(cursors, model.cursors.iter().map(|(n, s)| (n.clone(), *s)).collect::<Vec<_>>());
    Ok(())
}

fn round_trip(log: &SeqLog) -> SeqLog {
    let mut items: Vec<Item> = Vec::new();
    encoding::save(log, &mut items);
    encoding::load(&mut Reader(items.iter()), encoding::LATEST_ENCODING).expect("own encoding loads")
}

fn run(ops: Vec<Op>, base_policy: AllocPolicy) -> Result<(), TestCaseError> {
    let mut log = SeqLog::new();
    let mut model = Model { window_ms: base_policy.dedup_window_ms, ..Model::default() };
    let mut policy = base_policy;
    let mut clock: u64 = 1_000;
    let ids: Vec<Vec<u8>> = (0u8..40).map(|i| format!("msg-{i}").into_bytes()).collect();
    for op in ops {
        match op {
            Op::Alloc { id, clock_step, payload_len } => {
                clock = clock.saturating_add_signed(clock_step);
                let id = &ids[usize::from(id)];
                let payload = vec![id[4]; payload_len];
                let want = model.alloc(id, clock, &payload, &policy);
                let got = match log.plan_alloc(id, clock, &policy).expect("plan") {
                    AllocPlan::Duplicate(seq) => seq,
                    AllocPlan::Append(append) => {
                        log.apply_append(&append, id, &payload).expect("apply");
                        append.seq
                    }
                };
                prop_assert_eq!(got, want);
            }
            Op::TrimMaxLen(n) => {
                prop_assert_eq!(log.trim_before(log.plan_trim(TrimBy::MaxLen(n))), model.trim(TrimBy::MaxLen(n)))
            }
            Op::TrimMinSeq(s) => {
                prop_assert_eq!(log.trim_before(log.plan_trim(TrimBy::MinSeq(s))), model.trim(TrimBy::MinSeq(s)))
            }
            Op::TrimMaxAge(ms) => {
                prop_assert_eq!(log.trim_before(log.plan_trim(TrimBy::MaxAge(ms))), model.trim(TrimBy::MaxAge(ms)))
            }
            Op::Ack { consumer, seq } => {
                let name = [b'c', consumer];
                let got = log.ack(&name, seq).map(|(cursor, _)| cursor);
                if seq > model.last {
                    prop_assert!(got.is_err());
                } else {
                    let cursor = model.cursors.entry(name.to_vec()).or_insert(0);
                    *cursor = (*cursor).max(seq);
                    prop_assert_eq!(got, Ok(*cursor));
                }
            }
            Op::Forget(consumer) => {
                let name = [b'c', consumer];
                prop_assert_eq!(log.forget(&name), model.cursors.remove(&name[..]).is_some());
            }
            Op::Promote => policy.node_epoch += 1,
        }
        check(&log, &model, &ids)?;
        let reloaded = round_trip(&log);
        prop_assert_eq!(observe(&reloaded), observe(&log));
        prop_assert_eq!(reloaded.header(), log.header());
        check(&reloaded, &model, &ids)?;
        // Go on with the reloaded log: it must behave as the original from here.
        log = reloaded;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn log_matches_model(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, AllocPolicy { dedup_window_ms: 200, ..AllocPolicy::default() })?;
    }

    #[test]
    fn log_with_retention_and_fence_matches_model(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, AllocPolicy { dedup_window_ms: 150, max_len: 30, max_age_ms: 400, failover_gap: 7, node_epoch: 0 })?;
    }
}

#[test]
fn corrupt_encodings_are_refused_not_loaded() {
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 1000, ..AllocPolicy::default() };
    for i in 0..200u64 {
        let id = format!("id-{i}");
        if let AllocPlan::Append(a) = log.plan_alloc(id.as_bytes(), 10 + i, &policy).unwrap() {
            log.apply_append(&a, id.as_bytes(), b"payload").unwrap();
        }
    }
    log.trim_before(log.plan_trim(TrimBy::MaxLen(100)));
    log.ack(b"phone", 150).unwrap();
    let mut items: Vec<Item> = Vec::new();
    encoding::save(&log, &mut items);
    assert!(encoding::load(&mut Reader(items.iter()), encoding::LATEST_ENCODING + 1).is_err());
    for cut in 0..items.len() {
        assert!(encoding::load(&mut Reader(items[..cut].iter()), 1).is_err(), "prefix of {cut} loaded");
    }
    for index in 0..items.len() {
        for replacement in [Item::U64(0), Item::U64(u64::MAX), Item::U64(3), Item::Bytes(vec![0xff; 3])] {
            let mut damaged = items.clone();
            damaged[index] = replacement;
            // Either refused, or (a harmless value change) a log that answers consistently.
            if let Ok(loaded) = encoding::load(&mut Reader(damaged.iter()), 1) {
                let _ = observe(&loaded);
                assert_eq!(loaded.count_after(0), loaded.len());
            }
        }
    }
}

#[test]
fn large_indexes_migrate_without_losing_or_keeping_ids() {
    // Tables above a few thousand ids are replaced a few ids per insert; ids must stay
    // findable throughout, and ids that expire meanwhile must go, from either table.
    let mut log = SeqLog::new();
    let window = 15_000;
    let policy = AllocPolicy { dedup_window_ms: window, ..AllocPolicy::default() };
    let id = |n: u64| format!("client-{n}").into_bytes();
    let mut checked_while_migrating = 0;
    for n in 1..=40_000u64 {
        match log.plan_alloc(&id(n), n, &policy).unwrap() {
            AllocPlan::Append(append) => {
                assert_eq!(append.seq, n);
                log.apply_append(&append, &id(n), b"").unwrap();
            }
            AllocPlan::Duplicate(seq) => panic!("new id {n} reported as a duplicate of {seq}"),
        }
        if n % 997 == 0 || n % 4099 == 1 || (log.dedup.is_migrating() && n % 7 == 0) {
            checked_while_migrating += usize::from(log.dedup.is_migrating());
            let in_window = |m: u64| m + window >= n;
            assert_eq!(log.dedup_entries() as u64, (1..=n).filter(|&m| in_window(m)).count() as u64, "at {n}");
            for m in (1..=n).step_by(61) {
                let want = in_window(m).then_some(m);
                assert_eq!(log.seq_of_id(&id(m)), want, "id {m} after {n} allocations");
            }
        }
    }
    assert!(checked_while_migrating > 10, "only {checked_while_migrating} checks during a migration");
}
