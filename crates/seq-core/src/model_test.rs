//! Model-based test: random operation sequences run against `SeqLog` and against a naive
//! reference model (a BTreeMap of entries and a list of every id ever issued); after each
//! step every observable answer must agree, and an encode/decode round trip must too. A
//! replica fed only the resolved effects (`apply_*`, `trim_before`) must agree as well.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::encoding::{self, memory::Item, memory::Reader};
use super::varint;
use super::*;

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        id: u8,
        clock_step: i64,
        payload_len: usize,
    },
    TrimMaxLen(u64),
    TrimMinSeq(u64),
    TrimMaxAge(u64),
    Ack {
        consumer: u8,
        seq: u64,
    },
    Forget(u8),
    Promote,
    /// Edits the seq `pick % (last + 2)`; `variant` picks the payload (0: empty).
    Edit {
        pick: u64,
        variant: u8,
    },
    Delete(Vec<u64>),
    /// SEQ.IMPORT at `last + seq_step` (0: a seq not above last) and `last_ts + ts_step`.
    Import {
        id: u8,
        seq_step: i64,
        ts_step: i64,
        payload_len: usize,
    },
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
        2 => (any::<u64>(), 0u8..3).prop_map(|(pick, variant)| Op::Edit { pick, variant }),
        2 => prop::collection::vec(any::<u64>(), 1..4).prop_map(Op::Delete),
        3 => (0u8..40, -2i64..12, -20i64..60, 0usize..100)
            .prop_map(|(id, seq_step, ts_step, payload_len)| Op::Import { id, seq_step, ts_step, payload_len }),
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
    /// Seqs of `entries` that are deleted (their payload emptied).
    deleted: BTreeSet<u64>,
    rev: u64,
    /// Per changed seq still in `entries`, the rev of its latest change.
    changes: BTreeMap<u64, u64>,
    resync_floor: u64,
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
        self.append(seq, ts, id, payload, policy);
        seq
    }

    /// Stores an entry at `seq` (above `last`: the seqs between are skipped), then applies
    /// automatic retention, as ALLOC and IMPORT both do.
    fn append(&mut self, seq: u64, ts: u64, id: &[u8], payload: &[u8], policy: &AllocPolicy) {
        self.skipped += seq - self.last - 1;
        self.last = seq;
        self.last_ts = ts;
        self.epoch = self.epoch.max(policy.node_epoch);
        self.issued.push((seq, ts, id.to_vec()));
        self.entries.insert(seq, (id.to_vec(), ts, payload.to_vec()));
        if policy.max_len > 0 {
            self.drop_below(self.max_len_point(policy.max_len));
        }
        if policy.max_age_ms > 0 {
            self.drop_below(self.max_age_point(policy.max_age_ms));
        }
    }

    fn import(&mut self, seq: u64, ts: u64, id: &[u8], payload: &[u8], policy: &AllocPolicy) -> Result<u64, SeqError> {
        match self.seen(id) {
            Some(first) if first == seq => return Ok(seq),
            Some(first) => return Err(SeqError::ImportIdTaken { seq: first }),
            None => {}
        }
        if seq <= self.last {
            return Err(SeqError::ImportNotAfterLast { seq, last: self.last });
        }
        if ts < self.last_ts {
            return Err(SeqError::ImportTsBehind { ts, newest: self.last_ts });
        }
        self.append(seq, ts, id, payload, policy);
        Ok(seq)
    }

    fn live(&self) -> impl Iterator<Item = (&u64, &(Vec<u8>, u64, Vec<u8>))> + '_ {
        self.entries.iter().filter(|(seq, _)| !self.deleted.contains(seq))
    }

    /// Where MAXLEN n cuts: below the oldest of the newest n live entries.
    fn max_len_point(&self, n: u64) -> u64 {
        let live: Vec<u64> = self.live().map(|(seq, _)| *seq).collect();
        match n {
            0 => u64::MAX,
            _ => live.get(live.len().saturating_sub(n as usize)).copied().unwrap_or(u64::MAX),
        }
    }

    fn max_age_point(&self, ms: u64) -> u64 {
        let oldest = self.last_ts.saturating_sub(ms);
        self.entries.iter().find(|(_, (_, t, _))| *t >= oldest).map_or(u64::MAX, |(seq, _)| *seq)
    }

    /// Removes every entry below `keep_from` and its change; returns the live ones removed.
    fn drop_below(&mut self, keep_from: u64) -> u64 {
        let removed: Vec<u64> = self.entries.range(..keep_from).map(|(seq, _)| *seq).collect();
        let mut live = 0;
        for seq in removed {
            self.entries.remove(&seq);
            live += u64::from(!self.deleted.remove(&seq));
            if let Some(rev) = self.changes.remove(&seq) {
                self.resync_floor = self.resync_floor.max(rev);
            }
        }
        live
    }

    fn trim(&mut self, by: TrimBy) -> u64 {
        let keep_from = match by {
            TrimBy::MaxLen(n) => self.max_len_point(n),
            TrimBy::MinSeq(s) => s,
            TrimBy::MaxAge(ms) => self.max_age_point(ms),
        };
        self.drop_below(keep_from)
    }

    fn editable(&self, seq: u64) -> bool {
        self.entries.contains_key(&seq) && !self.deleted.contains(&seq)
    }

    fn edit(&mut self, seq: u64, payload: &[u8]) -> Result<Option<u64>, SeqError> {
        if !self.editable(seq) {
            return Err(SeqError::NoEntry { seq });
        }
        let entry = self.entries.get_mut(&seq).expect("editable");
        if entry.2 == payload {
            return Ok(None);
        }
        entry.2 = payload.to_vec();
        self.rev += 1;
        self.changes.insert(seq, self.rev);
        Ok(Some(self.rev))
    }

    fn delete(&mut self, seqs: &[u64]) -> Vec<u64> {
        let targets: BTreeSet<u64> = seqs.iter().copied().filter(|&seq| self.editable(seq)).collect();
        for &seq in &targets {
            self.rev += 1;
            self.changes.insert(seq, self.rev);
            self.deleted.insert(seq);
            if let Some(entry) = self.entries.get_mut(&seq) {
                entry.2.clear();
            }
        }
        targets.into_iter().collect()
    }

    fn changes_since(&self, since: u64) -> Result<OwnedChanges, SeqError> {
        if since < self.resync_floor {
            return Err(SeqError::Resync { rev: self.resync_floor });
        }
        let mut listed: OwnedChanges = self
            .changes
            .iter()
            .filter(|(_, rev)| **rev > since)
            .map(|(seq, rev)| {
                let entry = (!self.deleted.contains(seq)).then(|| {
                    let (id, ts, payload) = &self.entries[seq];
                    (*seq, id.clone(), *ts, payload.clone())
                });
                (*rev, *seq, entry)
            })
            .collect();
        listed.sort();
        Ok(listed)
    }
}

/// (change-rev, seq, entry) of each listed change.
type OwnedChanges = Vec<(u64, u64, Option<OwnedEntry>)>;

fn owned_changes(log: &SeqLog, since: u64) -> Result<OwnedChanges, SeqError> {
    log.changes_since(since).map(|changes| changes.map(|c| (c.rev, c.seq, c.entry.map(owned))).collect())
}

/// (seq, id, ts, payload) of an entry.
type OwnedEntry = (u64, Vec<u8>, u64, Vec<u8>);

fn owned(e: Entry<'_>) -> OwnedEntry {
    (e.seq, e.id.text().to_vec(), e.ts, e.payload.to_vec())
}

/// What a reader can observe of a log.
#[derive(Debug, PartialEq)]
struct Observed {
    last: u64,
    first: u64,
    len: u64,
    skipped: u64,
    epoch: u64,
    entries: Vec<OwnedEntry>,
    first_ts: u64,
    last_ts: u64,
    rev: u64,
    deleted: u64,
    resync_floor: u64,
    changes: Result<OwnedChanges, SeqError>,
}

fn observe(log: &SeqLog) -> Observed {
    Observed {
        last: log.last(),
        first: log.first(),
        len: log.len(),
        skipped: log.skipped(),
        epoch: log.epoch(),
        entries: log.range(0, u64::MAX).map(owned).collect(),
        first_ts: log.first_ts(),
        last_ts: log.last_ts(),
        rev: log.rev(),
        deleted: log.deleted(),
        resync_floor: log.resync_floor(),
        changes: owned_changes(log, log.resync_floor()),
    }
}

fn check(log: &SeqLog, model: &Model, ids: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let Observed { last, first, len, skipped, epoch, entries, first_ts, last_ts, rev, deleted, resync_floor, .. } =
        observe(log);
    prop_assert_eq!(last, model.last);
    prop_assert_eq!(skipped, model.skipped);
    prop_assert_eq!(epoch, model.epoch);
    prop_assert_eq!(len, model.live().count() as u64);
    prop_assert_eq!(first, model.live().next().map_or(model.last + 1, |(seq, _)| *seq));
    prop_assert_eq!(first_ts, model.live().next().map_or(0, |(_, (_, ts, _))| *ts));
    prop_assert_eq!(last_ts, model.live().last().map_or(0, |(_, (_, ts, _))| *ts));
    prop_assert_eq!((rev, deleted, resync_floor), (model.rev, model.deleted.len() as u64, model.resync_floor));
    for since in [0, model.resync_floor, model.rev / 2, model.rev.saturating_sub(1), model.rev, model.rev + 1] {
        prop_assert_eq!(owned_changes(log, since), model.changes_since(since), "since {}", since);
    }
    let expected: Vec<_> = model.live().map(|(s, (i, t, p))| (*s, i.clone(), *t, p.clone())).collect();
    prop_assert_eq!(&entries, &expected);
    for probe in [0, model.last / 2, model.last, model.last + 1] {
        prop_assert_eq!(log.get(probe).map(owned), expected.iter().find(|e| e.0 == probe).cloned());
    }
    let reversed: Vec<u64> = log.rev_range(u64::MAX, 0).map(|e| e.seq).collect();
    prop_assert_eq!(reversed, expected.iter().rev().map(|e| e.0).collect::<Vec<_>>());
    for (probe_start, probe_end) in [(0, 3), (model.last / 2, model.last), (5, 2)] {
        let got: Vec<u64> = log.range(probe_start, probe_end).map(|e| e.seq).collect();
        let want: Vec<u64> = model
            .entries
            .range(probe_start..=probe_end.max(probe_start))
            .map(|(s, _)| *s)
            .filter(|s| *s <= probe_end && !model.deleted.contains(s))
            .collect();
        prop_assert_eq!(got, want);
    }
    for id in ids {
        prop_assert_eq!(log.seq_of_id(id), model.seen(id), "id {:?}", id);
    }
    for after in [0, model.last / 3, model.last / 2, model.last] {
        let live_after = model.entries.range(after + 1..).filter(|(s, _)| !model.deleted.contains(s)).count();
        prop_assert_eq!(log.count_after(after), live_after as u64);
    }
    for n in [0, 1, model.entries.len() as u64 / 2, model.entries.len() as u64 + 1] {
        let want = model.max_len_point(n).min(model.last + 1);
        prop_assert_eq!(log.plan_trim(TrimBy::MaxLen(n)), want, "MAXLEN {}", n);
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

/// The AOF rewrite's way: the log rebuilt piece by piece from what it exposes.
fn rebuilt_piecewise(log: &SeqLog) -> SeqLog {
    let mut copy = SeqLog::from_header(log.header()).expect("header");
    copy.restore_rev(log.rev(), log.resync_floor()).expect("rev");
    for retired in log.retired().iter() {
        copy.push_retired(retired.seq, retired.ts, &retired.id.text()).expect("retired id");
    }
    for chunk in log.chunks() {
        let stored = Chunk::from_parts(
            chunk.first_seq,
            chunk.skipped_before,
            chunk.first_ts,
            chunk.len,
            chunk.live_bytes().to_vec(),
            EntryFormat::StoredIds,
        );
        copy.push_changed_chunk(stored, &log.packed_changes(chunk)).expect("chunk");
    }
    for (consumer, cursor) in log.cursors().iter() {
        copy.push_cursor(consumer, cursor).expect("cursor");
    }
    copy
}

fn run(ops: Vec<Op>, base_policy: AllocPolicy) -> Result<(), TestCaseError> {
    run_watched(ops, base_policy, |_| {})
}

/// `run`, showing `watch` the log after each step (checked, and reloaded from its encoding).
/// The 40 ids the model's ops pick from, in every stored form (`StoredId`): as given,
/// lowercase and uppercase hex of even and odd length, decimal, UUIDs, and near misses
/// stored as given (mixed case, a UUID with a dash moved).
fn model_ids() -> Vec<Vec<u8>> {
    let id = |i: u64| match i % 8 {
        0 => format!("msg-{i}"),
        1 => format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        2 => format!("ABCDE{i:02}"),
        3 => format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", i * 7919, i, i * 3, i * 5, i * 104_729),
        4 => format!("{:05}", i * 31),
        5 => format!("aBcDe{i}"),
        6 => format!("{:09x}-{:03x}-4{:03x}-a{:03x}-{:012x}", i * 7919, i, i * 3, i * 5, i * 104_729),
        _ => format!("{:0x}f", i * 1_000_003),
    };
    (0..40).map(|i| id(i).into_bytes()).collect()
}

fn run_watched(ops: Vec<Op>, base_policy: AllocPolicy, mut watch: impl FnMut(&SeqLog)) -> Result<(), TestCaseError> {
    let mut log = SeqLog::new();
    let mut replica = SeqLog::new();
    let mut model = Model { window_ms: base_policy.dedup_window_ms, ..Model::default() };
    let mut policy = base_policy;
    let mut clock: u64 = 1_000;
    let ids = model_ids();
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
                        let trimmed = log.apply_append(&append, id, &payload).expect("apply");
                        prop_assert_eq!(replica.apply_append(&append, id, &payload), Ok(trimmed));
                        append.seq
                    }
                };
                prop_assert_eq!(got, want);
            }
            Op::TrimMaxLen(_) | Op::TrimMinSeq(_) | Op::TrimMaxAge(_) => {
                let by = match op {
                    Op::TrimMaxLen(n) => TrimBy::MaxLen(n),
                    Op::TrimMinSeq(s) => TrimBy::MinSeq(s),
                    Op::TrimMaxAge(ms) => TrimBy::MaxAge(ms),
                    _ => unreachable!(),
                };
                let keep_from = log.plan_trim(by);
                let removed = log.trim_before(keep_from);
                prop_assert_eq!(removed, model.trim(by));
                prop_assert_eq!(replica.trim_before(keep_from), removed);
            }
            Op::Edit { pick, variant } => {
                let seq = pick % (model.last + 2);
                let payload = vec![variant; usize::from(variant)];
                let got = log.edit(seq, &payload);
                prop_assert_eq!(&got, &model.edit(seq, &payload));
                if let Ok(Some(rev)) = got {
                    prop_assert_eq!(replica.apply_edit(seq, &payload), Ok(rev));
                }
            }
            Op::Delete(picks) => {
                let seqs: Vec<u64> = picks.iter().map(|pick| pick % (model.last + 2)).collect();
                let deleted = log.delete(&seqs).expect("rev has room");
                prop_assert_eq!(&deleted, &model.delete(&seqs));
                prop_assert_eq!(replica.apply_delete(&deleted), Ok(deleted.len() as u64));
            }
            Op::Ack { consumer, seq } => {
                let name = [b'c', consumer];
                let got = log.ack(&name, seq).map(|(cursor, _)| cursor);
                prop_assert_eq!(replica.ack(&name, seq).map(|(cursor, _)| cursor), got.clone());
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
                replica.forget(&name);
            }
            Op::Promote => policy.node_epoch += 1,
            Op::Import { id, seq_step, ts_step, payload_len } => {
                let id = &ids[usize::from(id)];
                let payload = vec![id[4]; payload_len];
                let seq = model.last.saturating_add_signed(seq_step);
                let ts = model.last_ts.saturating_add_signed(ts_step);
                let want = model.import(seq, ts, id, &payload, &policy);
                let got = match log.plan_import(seq, ts, id, &policy) {
                    Ok(AllocPlan::Append(append)) => {
                        let trimmed = log.apply_append(&append, id, &payload).expect("apply");
                        prop_assert_eq!(replica.apply_append(&append, id, &payload), Ok(trimmed));
                        Ok(append.seq)
                    }
                    Ok(AllocPlan::Duplicate(seq)) => Ok(seq),
                    Err(refused) => Err(refused),
                };
                prop_assert_eq!(got, want);
            }
        }
        check(&log, &model, &ids)?;
        prop_assert_eq!(observe(&replica), observe(&log));
        let rebuilt = rebuilt_piecewise(&log);
        prop_assert_eq!(observe(&rebuilt), observe(&log));
        check(&rebuilt, &model, &ids)?;
        let reloaded = round_trip(&log);
        prop_assert_eq!(observe(&reloaded), observe(&log));
        prop_assert_eq!(reloaded.header(), log.header());
        check(&reloaded, &model, &ids)?;
        // Go on with the reloaded log: it must behave as the original from here.
        log = reloaded;
        watch(&log);
    }
    Ok(())
}

/// A log grows out of its small form (more ids than are scanned, a second chunk, retired
/// ids, cursors) and back into it (trimmed to a few entries, its ids expired, its cursors
/// forgotten), checked against the model and reloaded from its encoding at every step.
#[test]
fn logs_cross_the_small_form_both_ways() {
    let alloc = |id: u8, clock_step: i64| Op::Alloc { id, clock_step, payload_len: 299 };
    let mut ops: Vec<Op> = (0..30).map(|id| alloc(id, 1)).collect();
    ops.push(Op::Ack { consumer: 1, seq: 3 });
    // A new id past the window (time moves only with an append), then the first ids
    // again: 19 KB, past one chunk.
    ops.push(alloc(30, 6_000));
    ops.extend((0..30).map(|id| alloc(id, 1)));
    ops.push(Op::TrimMaxLen(2));
    ops.push(Op::Forget(1));
    // Past the window again: every older id expires, and the few that follow are scanned.
    ops.extend((31..36).map(|id| alloc(id, 100_000)));
    let mut forms = Vec::new();
    run_watched(ops, AllocPolicy { dedup_window_ms: 5_000, ..AllocPolicy::default() }, |log| {
        if forms.last() != Some(&log.is_small()) {
            forms.push(log.is_small());
        }
    })
    .expect("the log matches the model");
    assert_eq!(forms, [true, false, true], "small, then large, then small again");
}

/// Each bound of the small form, crossed both ways: its entries (more ids than are
/// scanned, short payloads), its bytes (a few long payloads), a fence skip (a second
/// chunk), an edit; and back by a trim once the trimmed ids have left the window.
#[test]
fn each_bound_of_the_small_form_is_crossed_both_ways() {
    let policy = AllocPolicy { dedup_window_ms: 50, failover_gap: 5, ..AllocPolicy::default() };
    let alloc = |id: u8, clock_step: i64, payload_len: usize| Op::Alloc { id, clock_step, payload_len };
    let back_to_small = |ops: &mut Vec<Op>| {
        ops.push(Op::TrimMaxLen(1));
        ops.push(alloc(39, 1_000, 1));
        ops.push(Op::TrimMaxLen(2));
    };
    let cases: [(&str, Vec<Op>); 4] = [
        ("entries", (0..=dedup::SCAN_IDS as u8).map(|id| alloc(id, 1, 3)).collect()),
        ("bytes", (0..3).map(|id| alloc(id, 1, small_log::MAX_ENTRY_BYTES / 2)).collect()),
        ("a fence skip", vec![alloc(0, 1, 3), Op::Promote, alloc(1, 1, 3)]),
        ("an edit", vec![alloc(0, 1, 3), Op::Edit { pick: 1, variant: 1 }, Op::TrimMinSeq(2)]),
    ];
    for (bound, mut ops) in cases {
        if bound != "an edit" {
            back_to_small(&mut ops);
        }
        let mut forms = Vec::new();
        run_watched(ops, policy, |log| {
            if forms.last() != Some(&log.is_small()) {
                forms.push(log.is_small());
            }
        })
        .expect("the log matches the model");
        let expected: &[bool] = if bound == "an edit" { &[true, false] } else { &[true, false, true] };
        assert_eq!(forms, expected, "crossing by {bound}");
    }
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

/// A log of 200 entries trimmed to 100, a cursor, and (with `changes`) edits, deletions in
/// several chunks and a change dropped by a trim.
fn persisted_log(changes: bool) -> SeqLog {
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 1000, ..AllocPolicy::default() };
    for i in 0..200u64 {
        let id = format!("id-{i}");
        if let AllocPlan::Append(a) = log.plan_alloc(id.as_bytes(), 10 + i, &policy).unwrap() {
            log.apply_append(&a, id.as_bytes(), &[b'p'; 100]).unwrap();
        }
    }
    if changes {
        log.edit(20, b"edited early").unwrap();
        log.delete(&[30, 150, 151, 199]).unwrap();
        log.edit(160, b"edited").unwrap();
        log.edit(160, b"edited twice").unwrap();
    }
    log.trim_before(log.plan_trim(TrimBy::MaxLen(100)));
    log.ack(b"phone", 150).unwrap();
    log
}

fn saved(log: &SeqLog) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    encoding::save(log, &mut items);
    items
}

/// The v2 layout of an undamaged log: v3 without the `flags` after `rev resync_floor`.
fn as_v2(v3: &[Item]) -> Vec<Item> {
    assert_eq!(v3[7], Item::U64(0), "an undamaged log's flags");
    [&v3[..7], &v3[8..]].concat()
}

/// Every truncation is refused; every damaged item is refused or loads a log that answers
/// consistently (a harmless value change).
fn assert_damage_refused_or_consistent(items: &[Item], version: i32) {
    for cut in 0..items.len() {
        assert!(encoding::load(&mut Reader(items[..cut].iter()), version).is_err(), "prefix of {cut} loaded");
    }
    for index in 0..items.len() {
        for replacement in [Item::U64(0), Item::U64(u64::MAX), Item::U64(3), Item::Bytes(vec![0xff; 3])] {
            let mut damaged = items.to_vec();
            damaged[index] = replacement;
            if let Ok(loaded) = encoding::load(&mut Reader(damaged.iter()), version) {
                let seen = observe(&loaded);
                assert_eq!(loaded.count_after(0), loaded.len());
                assert_eq!(seen.entries.len() as u64, loaded.len());
                assert!(seen.changes.is_ok());
            }
        }
    }
}

#[test]
fn corrupt_encodings_are_refused_not_loaded() {
    let items = saved(&persisted_log(true));
    assert!(encoding::load(&mut Reader(items.iter()), encoding::LATEST_ENCODING + 1).is_err());
    assert_damage_refused_or_consistent(&items, encoding::LATEST_ENCODING);
    assert_damage_refused_or_consistent(&as_v3(&items), encoding::ENCODING_V3);
    assert_damage_refused_or_consistent(&as_v2(&as_v3(&items)), encoding::ENCODING_V2);
}

#[test]
fn the_damaged_flag_is_persisted_and_unknown_flags_are_refused() {
    let mut log = persisted_log(true);
    assert!(log.mark_damaged() && !log.mark_damaged(), "marked once");
    let items = saved(&log);
    assert_eq!(items[7], Item::U64(1));
    let loaded = encoding::load(&mut Reader(items.iter()), encoding::LATEST_ENCODING).expect("a damaged log loads");
    assert!(loaded.is_damaged());
    assert_eq!(observe(&loaded), observe(&log));
    let loaded = encoding::load(&mut Reader(as_v3(&items).iter()), encoding::ENCODING_V3).expect("and as v3 wrote it");
    assert!(loaded.is_damaged());
    assert_eq!(observe(&loaded), observe(&log));
    let mut unknown = items.clone();
    unknown[7] = Item::U64(2);
    assert!(encoding::load(&mut Reader(unknown.iter()), encoding::LATEST_ENCODING).is_err());
    let undamaged = saved(&persisted_log(true));
    let loaded = encoding::load(&mut Reader(undamaged.iter()), encoding::LATEST_ENCODING).expect("loads");
    assert!(!loaded.is_damaged());
}

/// The v1 layout of a log without changes: v2 without `rev resync_floor` and without
/// each chunk's (empty) change records.
fn as_v1(v2: &[Item]) -> Vec<Item> {
    let (first_chunk, chunks) = chunk_items(v2);
    let mut v1: Vec<Item> = v2[..5].to_vec();
    v1.extend_from_slice(&v2[7..first_chunk]);
    for chunk in v2[first_chunk..].chunks(6).take(chunks) {
        assert_eq!(chunk[5], Item::Bytes(Vec::new()));
        v1.extend_from_slice(&chunk[..5]);
    }
    v1.extend_from_slice(&v2[first_chunk + 6 * chunks..]);
    v1
}

/// Where a v2 encoding's chunks start (six items each), and how many there are.
fn chunk_items(v2: &[Item]) -> (usize, usize) {
    chunk_items_after(v2, 7)
}

/// `chunk_items` of a layout whose header is `header` items (7 in v2, 8 from v3 on).
fn chunk_items_after(items: &[Item], header: usize) -> (usize, usize) {
    let count = |item: &Item| match item {
        Item::U64(n) => *n as usize,
        Item::Bytes(_) => panic!("expected a count"),
    };
    let chunk_count = header + 1 + 3 * count(&items[header]);
    (chunk_count + 1, count(&items[chunk_count]))
}

/// The v3 layout: v4's, with each chunk's entries holding their ids as given
/// (`varint(id len) id`), as encodings before v4 wrote them.
fn as_v3(v4: &[Item]) -> Vec<Item> {
    let (first_chunk, chunks) = chunk_items_after(v4, 8);
    let mut v3 = v4.to_vec();
    for bytes_at in (0..chunks).map(|chunk| first_chunk + 6 * chunk + 4) {
        let (Item::U64(first_ts), Item::U64(len), Item::Bytes(stored)) =
            (&v4[bytes_at - 2], &v4[bytes_at - 1], &v4[bytes_at])
        else {
            panic!("a chunk's first ts, length and bytes");
        };
        let chunk = Chunk::from_parts(1, 0, *first_ts, *len as u32, stored.clone(), EntryFormat::StoredIds);
        let (mut plain, mut previous_ts) = (Vec::new(), *first_ts);
        for entry in chunk.iter() {
            varint::put(&mut plain, entry.ts - previous_ts);
            previous_ts = entry.ts;
            for field in [&*entry.id.text(), entry.payload] {
                varint::put(&mut plain, field.len() as u64);
                plain.extend_from_slice(field);
            }
        }
        v3[bytes_at] = Item::Bytes(plain);
    }
    v3
}

#[test]
fn version_1_still_loads_and_refuses_damage() {
    let log = persisted_log(false);
    let v1 = as_v1(&as_v2(&as_v3(&saved(&log))));
    let loaded = encoding::load(&mut Reader(v1.iter()), encoding::ENCODING_V1).expect("v1 loads");
    assert_eq!(observe(&loaded), observe(&log));
    assert_eq!(loaded.header(), log.header());
    assert_damage_refused_or_consistent(&v1, encoding::ENCODING_V1);
}

#[test]
fn change_records_that_do_not_fit_are_refused() {
    let log = persisted_log(true);
    assert_eq!((log.rev(), log.deleted(), log.resync_floor()), (7, 3, 2));
    let items = as_v2(&as_v3(&saved(&log)));
    let loaded = encoding::load(&mut Reader(items.iter()), encoding::ENCODING_V2).expect("loads");
    assert_eq!(observe(&loaded), observe(&log));
    let (first_chunk, chunks) = chunk_items(&items);
    let first_changes = (0..chunks)
        .map(|chunk| first_chunk + 6 * chunk + 5)
        .find(|&index| items[index] != Item::Bytes(Vec::new()))
        .expect("a chunk with change records");
    // (offset, rev * 2 + deleted) pairs: an entry that still has its payload flagged
    // deleted, a rev above the log's, rev 0, two records for one seq, an offset past the
    // chunk (300), a truncated record.
    for bad in [vec![0, 2 * 5 + 1], vec![0, 2 * 8], vec![0, 0], vec![1, 2, 1, 4], vec![0xac, 0x02, 2], vec![3]] {
        let mut damaged = items.clone();
        damaged[first_changes] = Item::Bytes(bad.clone());
        assert!(encoding::load(&mut Reader(damaged.iter()), encoding::ENCODING_V2).is_err(), "{bad:?} loaded");
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
        if n % 997 == 0 || n % 4099 == 1 || (log.dedup().is_migrating() && n % 7 == 0) {
            checked_while_migrating += usize::from(log.dedup().is_migrating());
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

#[test]
fn an_append_that_does_not_follow_its_declared_skip_is_refused_until_the_log_is_damaged() {
    let mut log = SeqLog::new();
    let policy = AllocPolicy { dedup_window_ms: 1_000, ..AllocPolicy::default() };
    let plan = |log: &SeqLog, id: &[u8]| match log.plan_alloc(id, 5, &policy) {
        Ok(AllocPlan::Append(append)) => append,
        other => panic!("{other:?}"),
    };
    let first = plan(&log, b"a");
    assert_eq!(first.skip, Some(0));
    log.apply_append(&first, b"a", b"").unwrap();
    // The effect for seq 2 went missing: seq 3 with no skip declared does not fit.
    let lost = Append { seq: 3, ..plan(&log, b"b") };
    assert!(log.apply_append(&lost, b"c", b"").is_err());
    assert_eq!((log.last(), log.skipped()), (1, 0), "a refused append changes nothing");
    // An old-format effect (no skip) keeps the old rule; so does a log already damaged.
    assert!(log.clone().apply_append(&Append { skip: None, ..lost }, b"c", b"").is_ok());
    assert!(log.mark_damaged());
    log.apply_append(&lost, b"c", b"").unwrap();
    assert_eq!((log.last(), log.skipped(), log.is_damaged()), (3, 1, true));
    // A declared fence skip fits.
    let mut fenced = SeqLog::new();
    let gap = AllocPolicy { failover_gap: 10, node_epoch: 1, ..policy };
    fenced.apply_append(&plan(&fenced, b"a"), b"a", b"").unwrap();
    let AllocPlan::Append(skipping) = fenced.plan_alloc(b"b", 6, &gap).unwrap() else { panic!() };
    assert_eq!((skipping.seq, skipping.skip), (12, Some(10)));
    fenced.apply_append(&skipping, b"b", b"").unwrap();
    assert!(!fenced.is_damaged());
}
