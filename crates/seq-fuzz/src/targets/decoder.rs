//! The persistent-encoding decoder (`seq_core::encoding::load`, what RDB loading and
//! RESTORE run on untrusted bytes). Any input must be refused or give a valid log: one
//! whose observable state is self-consistent, that re-encodes to what it decodes from,
//! and that takes a further append.

use seq_core::encoding::LATEST_ENCODING;
use seq_core::{AllocPlan, AllocPolicy, Entry, SeqError, SeqLog, MAX_SEQ};

use crate::harness::Target;
use crate::rng::Rng;
use crate::wire;

pub const TARGET: Target = Target { name: "decoder", default_seconds: 20, generate, budget, check };

/// What a valid log costs in memory per input byte is bounded by its smallest records:
/// a cursor is 17 bytes of input (an 8-byte length, a 1-byte name, an 8-byte seq) and
/// about 130 bytes of heap (its name, its share of a B-tree node and of the counting
/// tree, with growth slack). A count used to reserve memory breaks this at once.
fn budget(len: usize) -> usize {
    16 * len + 64 * 1024
}

fn check(input: &[u8]) -> Result<String, String> {
    let log = match wire::decode(input) {
        Err(SeqError::InvalidState(why)) => return Ok(format!("refused: {why}")),
        Err(SeqError::SeqOutOfRange { .. }) => return Ok("refused: a cursor past last".into()),
        Err(SeqError::LogFull) => return Ok("refused: log full".into()),
        Err(SeqError::DedupSpan) => return Ok("refused: window spans too many seqs".into()),
        // Refusals a command gives, never a loader: reaching one here is a finding.
        Err(
            other @ (SeqError::NoEntry { .. }
            | SeqError::Resync { .. }
            | SeqError::ImportNotAfterLast { .. }
            | SeqError::ImportTsBehind { .. }
            | SeqError::ImportIdTaken { .. }),
        ) => return Err(format!("the loader refused with a command's error: {other}")),
        Ok((log, _unread)) => log,
    };
    check_state(&log)?;
    let encoded = wire::encode(&log);
    let (again, unread) = wire::decode(&encoded).map_err(|e| format!("its re-encoding is refused: {e}"))?;
    if unread != 0 || wire::encode(&again) != encoded {
        return Err("re-encoding does not round-trip".into());
    }
    check_append(log)?;
    Ok(shape(&again))
}

/// A coarse label of what a log holds, the harness' feedback for valid inputs.
fn shape(log: &SeqLog) -> String {
    let few = |n: usize| ["no", "one", "some"][n.min(2)];
    format!(
        "loaded: chunks {}, retired ids {}, cursors {}, skipped seqs {}, expired ids {}",
        few(log.chunks().len()),
        few(log.retired().len()),
        few(log.cursors().len()),
        few(log.skipped().min(2) as usize),
        few(log.header().dedup_floor.saturating_sub(1).min(2) as usize),
    )
}

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// Everything a reader can observe agrees with everything else.
fn check_state(log: &SeqLog) -> Result<(), String> {
    let header = log.header();
    ensure!(header.last <= MAX_SEQ && header.last_ts <= MAX_SEQ, "last or last_ts beyond 63 bits: {header:?}");
    ensure!(header.skipped <= header.last, "more skipped than issued: {header:?}");
    ensure!(header.dedup_floor >= 1 && header.dedup_floor <= header.last + 1, "dedup floor out of range: {header:?}");

    let entries: Vec<Entry<'_>> = log.range(0, u64::MAX).collect();
    ensure!(entries.len() as u64 == log.len(), "len {} but {} entries", log.len(), entries.len());
    ensure!(log.first() == entries.first().map_or(header.last + 1, |e| e.seq), "first {} disagrees", log.first());
    let mut reversed: Vec<Entry<'_>> = log.rev_range(u64::MAX, 0).collect();
    reversed.reverse();
    ensure!(reversed == entries, "descending range disagrees with ascending");
    for pair in entries.windows(2) {
        ensure!(pair[0].seq < pair[1].seq && pair[0].ts <= pair[1].ts, "entries out of order: {pair:?}");
    }
    if let Some(newest) = entries.last() {
        ensure!(newest.seq <= header.last && newest.ts <= header.last_ts, "newest entry past last: {newest:?}");
    }
    for entry in &entries {
        ensure!(log.get(entry.seq) == Some(*entry), "get({}) disagrees with range", entry.seq);
        ensure!(!entry.id.is_empty(), "an entry with an empty client-msg-id at seq {}", entry.seq);
    }
    for probe in [0, log.first().saturating_sub(1), log.first(), (log.first() + header.last) / 2, header.last] {
        let naive = entries.iter().filter(|e| e.seq > probe).count() as u64;
        ensure!(log.count_after(probe) == naive, "count_after({probe}) is {} not {naive}", log.count_after(probe));
    }

    let retired: Vec<Entry<'_>> = log.retired().iter().collect();
    for pair in retired.windows(2) {
        ensure!(pair[0].seq < pair[1].seq && pair[0].ts <= pair[1].ts, "retired ids out of order: {pair:?}");
    }
    if let (Some(newest), Some(oldest)) = (retired.last(), entries.first()) {
        ensure!(newest.seq < oldest.seq, "retired id {} not below the entries", newest.seq);
    }
    // Every id inside the window finds a seq that holds that very id.
    let window = retired.iter().chain(entries.iter()).filter(|e| e.seq >= header.dedup_floor);
    for entry in window {
        let Some(seq) = log.seq_of_id(&entry.id.text()) else {
            return Err(format!("id of seq {} inside the window is not found", entry.seq));
        };
        // The holder may be a deleted entry (no read returns it, its id stays in the window).
        let stored = log.chunks().iter().flat_map(|c| c.iter()).find(|e| e.seq == seq).map(|e| e.id);
        let holder = stored.or_else(|| log.retired().id_of(seq));
        ensure!(holder == Some(entry.id) && seq <= entry.seq, "id of seq {} found at seq {seq}", entry.seq);
    }

    let cursors: Vec<(&[u8], u64)> = log.cursors().iter().collect();
    ensure!(cursors.len() == log.cursors().len(), "cursor count disagrees");
    ensure!(cursors.iter().all(|&(_, seq)| seq <= header.last), "a cursor past last");
    for probe in cursors.iter().flat_map(|&(_, seq)| [seq, seq + 1]).chain([0]) {
        let naive = cursors.iter().filter(|&&(_, seq)| seq >= probe).count() as u64;
        ensure!(log.cursors().readers_at_or_above(probe) == naive, "readers at {probe} disagree");
    }
    Ok(())
}

/// A loaded log is a working log: a new id appends at `last + 1` and is then found.
fn check_append(mut log: SeqLog) -> Result<(), String> {
    let id = b"seq-fuzz:new-id";
    let last = log.last();
    let policy = AllocPolicy { dedup_window_ms: 60_000, ..AllocPolicy::default() };
    match log.plan_alloc(id, log.last_ts(), &policy) {
        Err(SeqError::LogFull) if last == MAX_SEQ => return Ok(()),
        Err(e) => return Err(format!("an append after loading is refused: {e}")),
        Ok(AllocPlan::Duplicate(_)) => return Ok(()),
        Ok(AllocPlan::Append(append)) => {
            ensure!(append.seq == last + 1, "an append after loading got seq {} after {last}", append.seq);
            log.apply_append(&append, id, b"payload").map_err(|e| format!("applying an append after loading: {e}"))?;
        }
    }
    ensure!(log.seq_of_id(id) == Some(last + 1), "the appended id is not found");
    check_state(&log)
}

// ---- the corpus ----------------------------------------------------------------------

/// Assorted logs built through the public API, so a new encoding's features appear in
/// the corpus when it is regenerated (add a log below for each new feature).
fn generate() -> Vec<(String, Vec<u8>)> {
    let logs: [(&str, Build); 13] = [
        ("empty", |_| {}),
        ("one-entry", |b| b.alloc(b"m1", b"hello")),
        ("two-chunks", |b| b.allocs(300, 4)),
        ("trimmed-ids-retired", |b| {
            b.policy.dedup_window_ms = 1_000_000;
            b.allocs(40, 8);
            b.log.trim_before(31);
        }),
        ("dedup-window-expired", |b| {
            b.policy.dedup_window_ms = 50;
            b.clock_step = 20;
            b.allocs(30, 2);
        }),
        ("fence-skips", |b| {
            b.policy.failover_gap = 1000;
            b.allocs(5, 3);
            b.policy.node_epoch = 1;
            b.allocs(5, 3);
            b.policy.node_epoch = 2;
            b.alloc(b"after-second-failover", b"");
        }),
        ("cursors", |b| {
            b.allocs(6, 5);
            for (consumer, seq) in [(&b"alice"[..], 6), (b"bob", 3), (b"carol", 3), (b"dave", 0), (b"erin", 6)] {
                let _ = b.log.ack(consumer, seq);
            }
            b.log.forget(b"bob");
        }),
        ("binary-and-large", |b| {
            b.alloc(&[0xff, 0x00, 0x80], &[0u8; 3]);
            b.alloc(b"empty-payload", b"");
            let large: Vec<u8> = (0..5000).map(|_| b.rng.next_u64() as u8).collect();
            b.alloc(b"large", &large);
        }),
        ("max-len-retention", |b| {
            b.policy.dedup_window_ms = 1_000;
            b.policy.max_len = 50;
            b.allocs(400, 1);
            let _ = b.log.ack(b"reader", 390);
        }),
        ("all-trimmed-cursors-only", |b| {
            b.allocs(10, 2);
            b.log.trim_before(11);
            let _ = b.log.ack(b"only-cursor", 10);
        }),
        ("edits-and-deletions", |b| {
            b.allocs(300, 4);
            let _ = b.log.edit(2, b"edited");
            let _ = b.log.edit(290, b"edited late");
            let _ = b.log.delete(&[1, 3, 290, 299]);
            let _ = b.log.edit(2, b"edited twice");
        }),
        ("changes-trimmed-resync-floor", |b| {
            b.policy.dedup_window_ms = 1_000_000;
            b.allocs(40, 8);
            let _ = b.log.edit(5, b"gone with the trim");
            let _ = b.log.delete(&[6, 35]);
            let _ = b.log.edit(36, b"kept");
            b.log.trim_before(20);
        }),
        ("damaged", |b| {
            b.allocs(20, 3);
            let _ = b.log.ack(b"reader", 7);
            b.log.mark_damaged();
        }),
    ];
    logs.iter()
        .enumerate()
        .map(|(i, (name, build))| {
            let mut builder = Builder::new(i as u64);
            build(&mut builder);
            (format!("v{LATEST_ENCODING}-{i:02}-{name}"), wire::encode(&builder.log))
        })
        .collect()
}

/// Makes one corpus log.
type Build = fn(&mut Builder);

struct Builder {
    log: SeqLog,
    policy: AllocPolicy,
    now_ms: u64,
    clock_step: u64,
    next_id: u64,
    rng: Rng,
}

impl Builder {
    fn new(seed: u64) -> Builder {
        Builder {
            log: SeqLog::new(),
            policy: AllocPolicy::default(),
            now_ms: 1_700_000_000_000,
            clock_step: 1,
            next_id: 0,
            rng: Rng::new(seed),
        }
    }

    fn alloc(&mut self, id: &[u8], payload: &[u8]) {
        self.now_ms += self.clock_step;
        // The generator's logs are valid by construction: a refusal here is a bug to see.
        let plan = self.log.plan_alloc(id, self.now_ms, &self.policy).expect("plan an append");
        if let AllocPlan::Append(append) = plan {
            self.log.apply_append(&append, id, payload).expect("apply an append");
        }
    }

    fn allocs(&mut self, count: usize, max_payload: usize) {
        for _ in 0..count {
            self.next_id += 1;
            let id = format!("msg-{}", self.next_id);
            let payload: Vec<u8> = (0..self.rng.below(max_payload + 1)).map(|_| self.rng.next_u64() as u8).collect();
            self.alloc(id.as_bytes(), &payload);
        }
    }
}
