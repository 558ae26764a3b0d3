//! The receiver against a model of the log, without a server: whatever the push channel
//! does (any order, loss, duplication, stale copies of edited, deleted or trimmed
//! entries) and whenever the transport answers, the application ends up holding exactly
//! the log, delivered in seq order, each seq once.
//!
//! The model follows the contract: appends, fence skips, edits and deletions with a
//! `rev`, trims that drop changes (and answer `RESYNC` to a since-rev below them), the
//! pull as one snapshot of `last` and the range, `SEQ.CHANGES` listing each seq once at
//! its latest change.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
/// The `seq.failover-gap` of the modelled server.
const GAP: u64 = 1000;

use seq_client::{
    Action, Change, ChangesReply, ChangesResult, Entry, Pull, PullResult, Receiver, ReceiverConfig, Reloaded,
};

#[derive(Clone, Default)]
struct Log {
    last: u64,
    /// Retained, not deleted, current entries.
    entries: BTreeMap<u64, Entry>,
    /// Every entry as first appended: what a (late) push carries.
    appended: Vec<Entry>,
    rev: u64,
    /// Per retained seq, its latest change.
    latest: BTreeMap<u64, (u64, Option<Entry>)>,
    /// The highest rev among changes dropped by trims.
    dropped_rev: u64,
    /// Everything below this was trimmed.
    first: u64,
    /// The state of each trimmed entry when it was trimmed (deleted ones: none).
    trimmed: BTreeMap<u64, Entry>,
    /// Promoted from a replica and not appended to since: the next append skips the fence.
    fenced: bool,
}

impl Log {
    fn append(&mut self) {
        if std::mem::take(&mut self.fenced) {
            self.last += GAP;
        }
        self.last += 1;
        let e = Entry { seq: self.last, id: format!("m{}", self.last).into_bytes(), ts: self.last, payload: vec![0] };
        self.entries.insert(e.seq, e.clone());
        self.appended.push(e);
    }

    fn nth_retained(&self, pick: usize) -> Option<u64> {
        let n = self.entries.len();
        (n > 0).then(|| *self.entries.keys().nth(pick % n).unwrap_or(&0))
    }

    fn edit(&mut self, pick: usize) {
        if let Some(seq) = self.nth_retained(pick) {
            self.rev += 1;
            let e = self.entries.get_mut(&seq).unwrap();
            e.payload = self.rev.to_be_bytes().to_vec();
            self.latest.insert(seq, (self.rev, Some(e.clone())));
        }
    }

    fn delete(&mut self, pick: usize) {
        if let Some(seq) = self.nth_retained(pick) {
            self.rev += 1;
            self.entries.remove(&seq);
            self.latest.insert(seq, (self.rev, None));
        }
    }

    fn trim(&mut self, keep: usize) {
        let keys: Vec<u64> = self.entries.keys().copied().collect();
        if keys.len() <= keep {
            return;
        }
        let new_first = keys[keys.len() - keep.max(1)];
        for (seq, e) in self.entries.range(..new_first) {
            self.trimmed.insert(*seq, e.clone());
        }
        self.entries = self.entries.split_off(&new_first);
        let kept = self.latest.split_off(&new_first);
        for (rev, _) in self.latest.values() {
            self.dropped_rev = self.dropped_rev.max(*rev);
        }
        self.latest = kept;
        self.first = new_first;
    }

    fn pull(&self, p: Pull) -> PullResult {
        PullResult {
            last: self.last,
            entries: self.entries.range(p.from..).take(p.count).map(|(_, e)| e.clone()).collect(),
        }
    }

    fn changes(&self, since: u64, count: usize) -> ChangesResult {
        if self.dropped_rev > since {
            return ChangesResult::Resync;
        }
        let mut list: Vec<Change> = self
            .latest
            .iter()
            .filter(|(_, (rev, _))| *rev > since)
            .map(|(seq, (rev, entry))| Change { rev: *rev, seq: *seq, entry: entry.clone() })
            .collect();
        list.sort_by_key(|c| c.rev);
        list.truncate(count);
        ChangesResult::Changes(ChangesReply { rev: self.rev, changes: list })
    }

    fn reload(&self) -> Reloaded {
        Reloaded { last: self.last, rev: Some(self.rev), entries: self.entries.values().cloned().collect() }
    }
}

/// The application: what it holds, and the checks on every delivery.
#[derive(Default)]
struct App {
    held: BTreeMap<u64, Entry>,
    highest_delivered: u64,
}

impl App {
    fn apply(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::Deliver(entries) => {
                for e in entries {
                    assert!(e.seq > self.highest_delivered, "seq {} delivered after {}", e.seq, self.highest_delivered);
                    self.highest_delivered = e.seq;
                    assert!(self.held.insert(e.seq, e).is_none());
                }
            }
            Action::Update(e) => {
                if let Some(held) = self.held.get_mut(&e.seq) {
                    *held = e;
                }
            }
            Action::Remove(seq) => {
                self.held.remove(&seq);
            }
            Action::Replace { through, entries } => {
                self.held = self.held.split_off(&(through + 1));
                self.held.extend(entries.into_iter().map(|e| (e.seq, e)));
            }
            transport => return Some(transport),
        }
        None
    }
}

#[derive(Clone, Debug)]
enum Op {
    Append,
    Skip(u64),
    Edit(usize),
    Delete(usize),
    Trim(usize),
    Push(usize),
    Answer,
    /// The oldest outstanding request fails (a connection error).
    Fail,
    Tick,
    TellLast,
    /// The master fails over to a replica that lags this many ops behind; the gateway
    /// learns of it (`failed_over`) after the given number of further ops.
    Failover(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Append),
        1 => (1u64..5).prop_map(Op::Skip),
        2 => any::<usize>().prop_map(Op::Edit),
        2 => any::<usize>().prop_map(Op::Delete),
        1 => (0usize..6).prop_map(Op::Trim),
        10 => any::<usize>().prop_map(Op::Push),
        5 => Just(Op::Answer),
        1 => Just(Op::Fail),
        1 => Just(Op::Tick),
        1 => Just(Op::TellLast),
        1 => (0usize..30, 0usize..10).prop_map(|(lag, notice)| Op::Failover(lag, notice)),
    ]
}

struct World {
    log: Log,
    rx: Receiver,
    app: App,
    /// Transport requests not answered yet, oldest first.
    pending: VecDeque<Action>,
    /// The log as it was after each op so far (a lagging replica's state).
    past: Vec<Log>,
    /// Ops until the gateway tells the receiver of the failover.
    failover_notice: Option<usize>,
    /// Where in `past` the promoted master first appended: a later replica lags no
    /// further back. (The fence skips `G` once per epoch change of a log, so a second
    /// failover that loses the first write of the new epoch could reissue its seqs:
    /// beyond what the contract promises.)
    promoted_at: usize,
}

impl World {
    fn take(&mut self, actions: Vec<Action>) {
        for a in actions {
            if let Some(transport) = self.app.apply(a) {
                self.pending.push_back(transport);
            }
        }
    }

    fn answer(&mut self) {
        let Some(request) = self.pending.pop_front() else { return };
        let next = match request {
            Action::Pull(p) => self.rx.pulled(self.log.pull(p)),
            Action::Changes { since, count } => self.rx.changed(self.log.changes(since, count)),
            Action::Reload { .. } => self.rx.reloaded(self.log.reload()),
            other => unreachable!("not a transport action: {other:?}"),
        };
        self.take(next);
    }

    fn fail(&mut self) {
        match self.pending.pop_front() {
            Some(Action::Pull(_)) => self.rx.pull_failed(),
            Some(Action::Changes { .. }) => self.rx.changes_failed(),
            Some(Action::Reload { .. }) => self.rx.reload_failed(),
            _ => {}
        }
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            while !self.pending.is_empty() {
                self.answer();
            }
            if !self.rx.busy() && self.rx.position() == self.log.last && self.rx.rev() == self.log.rev {
                return;
            }
            let next = self.rx.tick();
            self.take(next);
        }
        panic!(
            "no convergence: position {} of {}, rev {} of {}",
            self.rx.position(),
            self.log.last,
            self.rx.rev(),
            self.log.rev
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn converges_to_the_log(ops in proptest::collection::vec(op(), 1..300), page in 1usize..6) {
        let config = ReceiverConfig { page, changes: true, failover_gap: GAP };
        let mut w = World {
            log: Log { first: 1, ..Log::default() },
            rx: Receiver::new(config),
            app: App::default(),
            pending: VecDeque::new(),
            past: Vec::new(),
            failover_notice: None,
            promoted_at: 0,
        };
        for op in ops {
            w.past.push(w.log.clone());
            if let Some(n) = w.failover_notice.take() {
                if n == 0 {
                    let next = w.rx.failed_over();
                    w.take(next);
                } else {
                    w.failover_notice = Some(n - 1);
                }
            }
            match op {
                Op::Failover(..) if w.log.fenced => {}
                Op::Failover(lag, notice) => {
                    // Pushes of what the lost master appended may still arrive.
                    let appended = w.log.appended.clone();
                    let back = w.past.len().saturating_sub(1 + lag).max(w.promoted_at);
                    w.log = w.past[back].clone();
                    w.log.appended = appended;
                    w.log.fenced = true;
                    w.failover_notice = Some(notice);
                }
                Op::Append => {
                    if w.log.fenced {
                        w.promoted_at = w.past.len();
                    }
                    w.log.append()
                }
                Op::Skip(n) => w.log.last += n,
                Op::Edit(k) => w.log.edit(k),
                Op::Delete(k) => w.log.delete(k),
                Op::Trim(keep) => w.log.trim(keep),
                Op::Push(k) => {
                    if !w.log.appended.is_empty() {
                        let e = w.log.appended[k % w.log.appended.len()].clone();
                        let next = w.rx.push(e);
                        w.take(next);
                    }
                }
                Op::Answer => w.answer(),
                Op::Fail => w.fail(),
                Op::Tick => { let next = w.rx.tick(); w.take(next); }
                Op::TellLast => { let next = w.rx.told_last(w.log.last); w.take(next); }
            }
        }
        if w.failover_notice.take().is_some() {
            let next = w.rx.failed_over();
            w.take(next);
        }
        w.settle();
        let retained: BTreeMap<u64, Entry> = w.app.held.range(w.log.first..).map(|(s, e)| (*s, e.clone())).collect();
        prop_assert_eq!(&retained, &w.log.entries);
        for (seq, e) in w.app.held.range(..w.log.first) {
            prop_assert_eq!(Some(e), w.log.trimmed.get(seq), "seq {} held below the trim point", seq);
        }
    }
}

/// After a failover the new master lacks entries the old one showed; pushes of them keep
/// arriving. With the fence, they are hints only and never shown again.
#[test]
fn failover_retracts_lost_entries_and_ignores_their_late_pushes() {
    let entry = |seq: u64, id: &str| Entry { seq, id: id.as_bytes().to_vec(), ts: seq, payload: vec![] };
    let mut rx = Receiver::new(ReceiverConfig { page: 100, changes: false, failover_gap: 1000 });
    let mut app = App::default();
    let apply_all = |app: &mut App, actions: Vec<Action>| -> Vec<Action> {
        actions.into_iter().filter_map(|a| app.apply(a)).collect()
    };
    let old: Vec<Entry> = (1..=5).map(|s| entry(s, &format!("old{s}"))).collect();
    for e in old.iter().take(4) {
        let next = rx.push(e.clone());
        assert!(apply_all(&mut app, next).is_empty(), "in-order pushes need no pull");
    }
    assert_eq!(rx.position(), 4);
    // The replica had 1..=2; it is promoted; the gateway learns of the failover.
    assert_eq!(rx.failed_over(), vec![Action::Reload { through: 4 }]);
    let next = rx.reloaded(Reloaded { last: 2, rev: None, entries: old[..2].to_vec() });
    assert!(apply_all(&mut app, next).is_empty());
    assert_eq!(app.held.keys().copied().collect::<Vec<_>>(), vec![1, 2], "3 and 4 were lost with the old master");
    assert_eq!(rx.position(), 2);
    // A late push of the lost 5 is only a hint: it asks for a pull, which shows nothing.
    let next = rx.push(old[4].clone());
    assert_eq!(apply_all(&mut app, next), vec![Action::Pull(Pull { from: 3, count: 100 })]);
    assert!(apply_all(&mut app, rx.pulled(PullResult { last: 2, entries: vec![] })).is_empty());
    // The new master skipped 1000 seqs and appended at 1003; a timer pull finds it.
    let fresh = entry(1003, "new");
    assert_eq!(rx.tick(), vec![Action::Pull(Pull { from: 3, count: 100 })]);
    let next = rx.pulled(PullResult { last: 1003, entries: vec![fresh.clone()] });
    assert!(apply_all(&mut app, next).is_empty());
    assert_eq!(app.held.keys().copied().collect::<Vec<_>>(), vec![1, 2, 1003]);
    assert!(rx.push(old[2].clone()).is_empty(), "a late push of a lost seq below the position is a duplicate");
    assert_eq!(rx.stats().skipped, 1000);
}
