//! The receiver: a state machine per log that turns pushed entries (in any order, lost,
//! duplicated) into the log, delivered once each, in seq order. It does no I/O: every
//! method returns [`Action`]s, some for the application (deliver, update, remove,
//! replace) and some for the transport (pull, changes, reload), whose results come back
//! through [`Receiver::pulled`], [`Receiver::changed`] and [`Receiver::reloaded`].
//! [`crate::drive`] executes the transport actions on a connection.
//!
//! What it relies on is the contract's reader's rule: a pull reads `SEQ.LAST` and
//! `SEQ.RANGE` in one MULTI, and every seq ≤ that `last` the range does not return will
//! never exist (trimmed, fence-skipped, imported over, deleted). So one pull settles a
//! gap for good; the receiver keeps a single number, its *position*, below which
//! everything is settled.

use std::collections::BTreeMap;

use crate::reply::{ChangesReply, Entry};

/// How a [`Receiver`] pulls.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// `COUNT` of each pull and `SEQ.CHANGES` call (a full page asks for the next one).
    pub page: usize,
    /// Whether to follow edits and deletions with `SEQ.CHANGES` (servers with the
    /// message lifecycle).
    pub changes: bool,
    /// The server's `seq.failover-gap`: after [`Receiver::failed_over`], pushed entries
    /// up to this many seqs above the position are only trusted once a pull confirms
    /// them (they may come from the lost master).
    pub failover_gap: u64,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig { page: 100, changes: false, failover_gap: 0 }
    }
}

/// A pull: `MULTI; SEQ.LAST key; SEQ.RANGE key from + COUNT count; EXEC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pull {
    /// The first seq wanted (the position + 1).
    pub from: u64,
    /// The page size.
    pub count: usize,
}

/// What a [`Pull`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullResult {
    /// `SEQ.LAST`, read in the same MULTI as the range.
    pub last: u64,
    /// `SEQ.RANGE`.
    pub entries: Vec<Entry>,
}

/// What a `SEQ.CHANGES` call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangesResult {
    /// The changes since the rev asked for.
    Changes(ChangesReply),
    /// The `RESYNC` error: changes the receiver has not seen were trimmed away.
    Resync,
}

/// What a reload returned: `MULTI; SEQ.LAST; SEQ.RANGE key - +; [SEQ.CHANGES key <max>]; EXEC`.
///
/// The whole log, not only what the receiver holds: the `rev` it reports covers every
/// entry, so an entry above the old position (buffered from a push that predates an edit,
/// say) cannot be delivered stale afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// `SEQ.LAST`.
    pub last: u64,
    /// The log's current `rev` (from `SEQ.CHANGES` with the highest since-rev), when the
    /// server has the message lifecycle.
    pub rev: Option<u64>,
    /// Every entry.
    pub entries: Vec<Entry>,
}

/// What the receiver asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Application: show these new entries, in this order (ascending seq, each seq once).
    Deliver(Vec<Entry>),
    /// Application: an entry delivered earlier was edited; this is its current state.
    Update(Entry),
    /// Application: the entry with this seq was deleted (ignore it if you never held it).
    Remove(u64),
    /// Application: the entries you hold with seq ≤ `through` are exactly `entries`
    /// (after a reload: deleted, trimmed or lost ones are gone, edits applied).
    Replace {
        /// Everything at or below this seq is replaced.
        through: u64,
        /// The server's entries in that range, ascending.
        entries: Vec<Entry>,
    },
    /// Transport: run this pull and hand its result to [`Receiver::pulled`].
    Pull(Pull),
    /// Transport: `SEQ.CHANGES key since COUNT count`, result to [`Receiver::changed`].
    Changes {
        /// The rev the receiver has seen.
        since: u64,
        /// The page size.
        count: usize,
    },
    /// Transport: reload the log ([`Reloaded`]), result to [`Receiver::reloaded`].
    Reload {
        /// The receiver's position when the reload was asked for: what the application
        /// holds up to here is replaced.
        through: u64,
    },
}

/// Counters of what a receiver did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Entries delivered.
    pub delivered: u64,
    /// Pushes dropped as already delivered or already buffered.
    pub duplicates: u64,
    /// Pulls whose result was applied.
    pub pulls: u64,
    /// Seqs settled as absent (trimmed, fence-skipped, deleted, lost).
    pub skipped: u64,
    /// Pushes taken only as a hint after a failover.
    pub hinted: u64,
    /// Reloads applied (after `RESYNC` or a failover).
    pub reloads: u64,
}

/// The per-log receiver state machine (module docs above).
#[derive(Clone, Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    /// Every seq ≤ position is settled: delivered, or known never to exist.
    position: u64,
    /// Pushed entries above position + 1, waiting for the gap below them.
    buffer: BTreeMap<u64, Entry>,
    /// The highest `last` heard of (pushes, notifications, pulls).
    known_last: u64,
    pulling: Option<Pull>,
    /// The rev of the changes applied so far.
    rev: u64,
    /// The since-rev of the outstanding changes call.
    asking_changes: Option<u64>,
    /// Changes learned for seqs not settled yet: the current entry, or None if deleted.
    /// They win over a pushed entry, which may predate them.
    overrides: BTreeMap<u64, Option<Entry>>,
    /// A reload wanted since the position it replaces up to; pushes only buffer meanwhile.
    reloading: Option<u64>,
    /// Whether that reload's request is outstanding (else the next tick asks again).
    reload_asked: bool,
    /// After a failover, pushes at or below this seq are hints, not entries.
    confirm_until: u64,
    /// The reload wanted is a failover's.
    failover_reload: bool,
    stats: ReceiverStats,
}

impl Receiver {
    /// A receiver for a log it has seen nothing of.
    pub fn new(config: ReceiverConfig) -> Self {
        Receiver::resume(config, 0, 0)
    }

    /// A receiver for a log whose entries up to `position` the application already holds,
    /// with changes applied up to `rev`.
    pub fn resume(config: ReceiverConfig, position: u64, rev: u64) -> Self {
        Receiver {
            config,
            position,
            buffer: BTreeMap::new(),
            known_last: position,
            pulling: None,
            rev,
            asking_changes: None,
            overrides: BTreeMap::new(),
            reloading: None,
            reload_asked: false,
            confirm_until: 0,
            failover_reload: false,
            stats: ReceiverStats::default(),
        }
    }

    /// Every seq at or below this is settled (delivered or never to exist).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The rev whose changes have been applied.
    pub fn rev(&self) -> u64 {
        self.rev
    }

    /// Whether it follows edits and deletions (`SEQ.CHANGES`).
    pub fn follows_changes(&self) -> bool {
        self.config.changes
    }

    /// What it did so far.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Whether a pull or changes call is outstanding, or a reload is wanted (asked for,
    /// or to be asked for again on the next tick after it failed).
    pub fn busy(&self) -> bool {
        self.pulling.is_some() || self.asking_changes.is_some() || self.reloading.is_some()
    }

    /// An entry arrived on the push channel (in any order, maybe twice, maybe never).
    pub fn push(&mut self, entry: Entry) -> Vec<Action> {
        let seq = entry.seq;
        if seq <= self.position || self.buffer.contains_key(&seq) {
            self.stats.duplicates += 1;
            return Vec::new();
        }
        self.known_last = self.known_last.max(seq);
        if seq <= self.confirm_until {
            self.stats.hinted += 1;
            return self.want_pull().into_iter().collect();
        }
        if self.reloading.is_some() {
            // The reload settles everything up to its `last`: only buffer until then.
            self.buffer.insert(seq, entry);
            return Vec::new();
        }
        self.buffer.insert(seq, entry);
        self.advance(true)
    }

    /// The log's `last` is known to be at least `last` (a keyspace notification, a
    /// `SEQ.MLAST` after a reconnect): pulls if the receiver is behind. This is how a
    /// lost push at the tail is found.
    pub fn told_last(&mut self, last: u64) -> Vec<Action> {
        self.known_last = self.known_last.max(last);
        if self.known_last > self.position {
            return self.want_pull().into_iter().collect();
        }
        Vec::new()
    }

    /// A timer fired: pull the tail (a push lost at the end has nothing after it to
    /// reveal the gap) and, with changes enabled, ask for changes.
    pub fn tick(&mut self) -> Vec<Action> {
        if let Some(through) = self.reloading {
            if self.reload_asked {
                return Vec::new();
            }
            self.reload_asked = true;
            return vec![Action::Reload { through }];
        }
        let mut out: Vec<Action> = self.want_pull().into_iter().collect();
        out.extend(self.want_changes());
        out
    }

    /// The result of the outstanding [`Action::Pull`].
    pub fn pulled(&mut self, result: PullResult) -> Vec<Action> {
        let Some(request) = self.pulling.take() else {
            // Not ours to settle anything with: keep what it brought as pushes.
            return result.entries.into_iter().flat_map(|e| self.push(e)).collect();
        };
        self.stats.pulls += 1;
        if result.last + 1 < request.from {
            // The position was settled before this pull was asked for, and `last` never
            // decreases on one log: the log went back (a failover lost entries, or the
            // key was deleted and created again). Reload, as after a known failover.
            return self.failed_over();
        }
        self.known_last = self.known_last.max(result.last);
        let full = result.entries.len() >= request.count;
        let highest = result.entries.iter().map(|e| e.seq).max().unwrap_or(0);
        // The reader's rule: up to `last` (or, for a full page, up to its last entry)
        // whatever the range did not return will never exist. A range read after `last`
        // may return newer entries: seqs are issued in order, so everything below the
        // highest it returned was issued before it ran, and it settles that far too.
        let settled = if full { highest } else { result.last.max(highest) };
        let mut fresh = Vec::new();
        let mut present = 0;
        for entry in result.entries {
            if entry.seq > self.position && entry.seq <= settled {
                present += 1;
                match self.overrides.remove(&entry.seq) {
                    Some(Some(changed)) => fresh.push(changed),
                    Some(None) => {}
                    None => fresh.push(entry),
                }
            }
        }
        if settled > self.position {
            self.stats.skipped += settled - self.position - present;
            self.stats.skipped += present - fresh.len() as u64;
            self.position = settled;
            self.forget_settled();
        }
        let mut out = self.deliver(fresh);
        // A buffered push above this pull's `last` is newer than the pull, or stale (a
        // lost master's): the next push, notification or tick pulls again, not this one,
        // so a stale push cannot make pulls loop.
        out.extend(self.advance(false));
        if full {
            out.extend(self.want_pull());
        }
        out
    }

    /// The outstanding pull failed (connection lost...): the next trigger pulls again.
    pub fn pull_failed(&mut self) {
        self.pulling = None;
    }

    /// The result of the outstanding [`Action::Changes`].
    pub fn changed(&mut self, result: ChangesResult) -> Vec<Action> {
        // Asked before a reload reset the rev (or not asked at all): the reload's rev
        // covers whatever this says, and its `rev` is not the one the receiver has seen.
        if self.asking_changes.take() != Some(self.rev) || self.reloading.is_some() {
            return Vec::new();
        }
        let reply = match result {
            ChangesResult::Resync => return self.resync(),
            ChangesResult::Changes(reply) => reply,
        };
        let full = reply.changes.len() >= self.config.page;
        let mut out = Vec::new();
        let mut seen = self.rev;
        for change in reply.changes {
            seen = seen.max(change.rev);
            if change.seq <= self.position {
                out.push(match change.entry {
                    Some(entry) => Action::Update(entry),
                    None => Action::Remove(change.seq),
                });
            } else {
                self.buffer.remove(&change.seq);
                self.overrides.insert(change.seq, change.entry);
            }
        }
        // A full page: continue from its last change-rev; otherwise everything up to the
        // reply's rev has been seen.
        self.rev = if full { seen } else { seen.max(reply.rev) };
        out.extend(self.advance(false));
        if full {
            out.extend(self.want_changes());
        }
        out
    }

    /// The outstanding changes call failed: the next tick asks again.
    pub fn changes_failed(&mut self) {
        self.asking_changes = None;
    }

    /// Reload what the application holds (the `RESYNC` reply of `SEQ.CHANGES` does this).
    pub fn resync(&mut self) -> Vec<Action> {
        if self.reloading.is_some() {
            return Vec::new();
        }
        self.reloading = Some(self.position);
        self.reload_asked = true;
        self.asking_changes = None;
        // A pull still in flight no longer settles anything (its result is taken as
        // pushes): the reload does.
        self.pulling = None;
        vec![Action::Reload { through: self.position }]
    }

    /// The log's master failed over: what the receiver holds may include entries the
    /// lost master never replicated. Reloads, drops every buffered push, and trusts
    /// pushes up to `failover_gap` seqs above the position only when a pull returns them.
    pub fn failed_over(&mut self) -> Vec<Action> {
        self.buffer.clear();
        self.pulling = None;
        self.known_last = self.position;
        self.confirm_until = self.confirm_until.max(self.position + self.config.failover_gap);
        self.reloading = None;
        self.failover_reload = true;
        self.resync()
    }

    /// The result of the outstanding [`Action::Reload`].
    pub fn reloaded(&mut self, result: Reloaded) -> Vec<Action> {
        let Some(through) = self.reloading.take() else { return Vec::new() };
        self.reload_asked = false;
        self.stats.reloads += 1;
        if let Some(rev) = result.rev {
            self.rev = rev;
        }
        let (held, fresh): (Vec<Entry>, Vec<Entry>) = result.entries.into_iter().partition(|e| e.seq <= through);
        // A `last` below what was settled when the reload was asked for means the log went
        // back: a failover lost entries (or the key was deleted and created again).
        if std::mem::take(&mut self.failover_reload) || result.last < through {
            // What the lost master issued beyond the new master's `last` lies below
            // `last + gap` (the fence skips that far): pushes up to there are hints, and
            // so are those buffered while reloading.
            self.confirm_until = self.confirm_until.max(result.last.max(through) + self.config.failover_gap);
            self.buffer = self.buffer.split_off(&(self.confirm_until + 1));
        }
        let settled = result.last.max(fresh.last().map_or(0, |e| e.seq));
        let fresh: Vec<Entry> = fresh.into_iter().filter(|e| e.seq <= settled).collect();
        if settled > through {
            self.stats.skipped += settled - through - fresh.len() as u64;
        }
        self.position = settled;
        self.known_last = self.known_last.max(settled);
        self.forget_settled();
        // The snapshot's rev covers every change of the entries it returned.
        self.overrides.clear();
        let mut out = vec![Action::Replace { through, entries: held }];
        out.extend(self.deliver(fresh));
        out.extend(self.advance(true));
        out
    }

    /// The reload failed: the next tick asks again (until then pushes only buffer).
    pub fn reload_failed(&mut self) {
        self.reload_asked = false;
    }

    /// Delivers buffered entries contiguous with the position; with `pull_on_gap`, pulls
    /// when a gap remains below buffered entries.
    fn advance(&mut self, pull_on_gap: bool) -> Vec<Action> {
        let mut fresh = Vec::new();
        loop {
            let next = self.position + 1;
            let pushed = self.buffer.remove(&next);
            match self.overrides.remove(&next) {
                // A deletion is final: the seq is settled as absent.
                Some(None) => self.stats.skipped += 1,
                // An edit carries the whole current entry.
                Some(Some(changed)) => fresh.push(changed),
                None => match pushed {
                    Some(entry) => fresh.push(entry),
                    None => break,
                },
            }
            self.position = next;
        }
        let mut out = self.deliver(fresh);
        if pull_on_gap && !self.buffer.is_empty() {
            out.extend(self.want_pull());
        }
        out
    }

    fn deliver(&mut self, fresh: Vec<Entry>) -> Vec<Action> {
        if fresh.is_empty() {
            return Vec::new();
        }
        self.stats.delivered += fresh.len() as u64;
        vec![Action::Deliver(fresh)]
    }

    /// Drops buffered pushes and overrides the position has passed: the pull that
    /// settled them is authoritative (a buffered push it did not return was deleted,
    /// trimmed, or came from a lost master).
    fn forget_settled(&mut self) {
        let keep = self.position + 1;
        self.buffer = self.buffer.split_off(&keep);
        self.overrides = self.overrides.split_off(&keep);
    }

    fn want_pull(&mut self) -> Option<Action> {
        if self.pulling.is_some() || self.reloading.is_some() {
            return None;
        }
        let pull = Pull { from: self.position + 1, count: self.config.page };
        self.pulling = Some(pull);
        Some(Action::Pull(pull))
    }

    fn want_changes(&mut self) -> Option<Action> {
        if !self.config.changes || self.asking_changes.is_some() || self.reloading.is_some() {
            return None;
        }
        self.asking_changes = Some(self.rev);
        Some(Action::Changes { since: self.rev, count: self.config.page })
    }
}
