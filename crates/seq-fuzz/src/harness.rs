//! The fuzzing loop every target shares: run the committed corpus as is, then mutate it
//! until time is up, holding each run to the target's check and allocation budget.
//!
//! There is no coverage instrumentation (that needs nightly); the feedback is the
//! target's outcome label instead: a mutant with an outcome not seen before (a new
//! refusal reason, a new shape of valid log) joins the pool that later mutants start from.

use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::alloc_meter;
use super::mutate::mutate;
use super::rng::Rng;

pub struct Target {
    pub name: &'static str,
    /// Seconds of mutation when `SEQ_FUZZ_SECONDS` is not set.
    pub default_seconds: u64,
    /// The seed inputs, written to the corpus when it is empty or `SEQ_FUZZ_REGENERATE=1`.
    pub generate: fn() -> Vec<(String, Vec<u8>)>,
    /// The most the check may have allocated at once for an input of this many bytes.
    pub budget: fn(usize) -> usize,
    /// Ok(outcome label) when the input was handled correctly (accepted or refused),
    /// Err(what went wrong) otherwise. A panic is a failure too.
    pub check: fn(&[u8]) -> Result<String, String>,
}

/// Mutants kept beyond the corpus (a bound on the memory a long run takes).
const POOL_MAX: usize = 4096;

/// Fuzzes `target` from `corpus_dir`; on a failure, writes the input under `failures_dir`
/// and panics with how to replay it. `SEQ_FUZZ_REPLAY=file` runs that one input instead.
pub fn fuzz(target: &Target, corpus_dir: &Path, failures_dir: &Path) {
    let seed = env_u64("SEQ_FUZZ_SEED").unwrap_or_else(clock_seed);
    let mut run = Run::new(target, failures_dir, seed);
    if let Some(path) = std::env::var_os("SEQ_FUZZ_REPLAY") {
        let input = fs::read(&path).unwrap_or_else(|e| {
            panic!("SEQ_FUZZ_REPLAY: {}: {e} (relative to crates/seq-fuzz)", Path::new(&path).display())
        });
        println!("seq-fuzz {}: replaying {} ({} bytes)", target.name, Path::new(&path).display(), input.len());
        println!("outcome: {}", run.one(&input));
        return;
    }
    let corpus = load_corpus(target, corpus_dir);
    assert!(!corpus.is_empty(), "seq-fuzz {}: the corpus {} is empty", target.name, corpus_dir.display());
    let seconds = env_u64("SEQ_FUZZ_SECONDS").unwrap_or(target.default_seconds);
    println!(
        "seq-fuzz {}: {} corpus inputs, {seconds} s, seed {seed} (SEQ_FUZZ_SEED={seed} reproduces the run)",
        target.name,
        corpus.len()
    );
    for input in &corpus {
        let outcome = run.one(input);
        run.first_time(&outcome);
    }
    let mut pool = corpus;
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        for _ in 0..64 {
            let Some(base) = rng.pick(&pool) else { break };
            let input = mutate(base, &pool, &mut rng);
            let outcome = run.one(&input);
            if run.first_time(&outcome) && pool.len() < POOL_MAX {
                pool.push(input);
            }
        }
    }
    run.report(pool.len());
}

struct Run<'a> {
    target: &'a Target,
    failures_dir: &'a Path,
    dump_path: PathBuf,
    seed: u64,
    /// `SEQ_FUZZ_KEEP_GOING=1`: failures are written and counted, and fail the test at the
    /// end, so one long run lists every distinct problem instead of the first.
    keep_going: bool,
    failures: Vec<String>,
    executions: u64,
    /// The largest share of its budget any input allocated.
    peak_share: f64,
    outcomes: HashMap<String, u64>,
}

impl Run<'_> {
    fn new<'a>(target: &'a Target, failures_dir: &'a Path, seed: u64) -> Run<'a> {
        let dump_path = failures_dir.join(format!("{}-refused-allocation.bin", target.name));
        fs::create_dir_all(failures_dir).unwrap_or_else(|e| panic!("{}: {e}", failures_dir.display()));
        let dump = File::create(&dump_path).unwrap_or_else(|e| panic!("{}: {e}", dump_path.display()));
        alloc_meter::set_dump_file(dump);
        println!("seq-fuzz {}: an input refused an allocation is written to {}", target.name, dump_path.display());
        let keep_going = std::env::var("SEQ_FUZZ_KEEP_GOING").is_ok_and(|v| v == "1");
        Run {
            target,
            failures_dir,
            dump_path,
            seed,
            keep_going,
            failures: Vec::new(),
            executions: 0,
            peak_share: 0.0,
            outcomes: HashMap::new(),
        }
    }

    /// Runs one input; returns its outcome label, or fails the test.
    fn one(&mut self, input: &[u8]) -> String {
        self.executions += 1;
        match self.verdict(input) {
            Ok(outcome) => outcome,
            Err(why) => self.fail(input, &why),
        }
    }

    /// The check's verdict on one input, a panic and a budget overrun counted as failures.
    fn verdict(&mut self, input: &[u8]) -> Result<String, String> {
        let budget = (self.target.budget)(input.len());
        let baseline = alloc_meter::arm(input, budget);
        let result = panic::catch_unwind(AssertUnwindSafe(|| (self.target.check)(input)));
        let peak = alloc_meter::disarm(baseline);
        self.peak_share = self.peak_share.max(peak as f64 / budget.max(1) as f64);
        match result {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("panicked: {message}"))
            }
            Ok(Ok(_)) if peak > budget => {
                Err(format!("allocated {peak} bytes at once for a {}-byte input (budget {budget})", input.len()))
            }
            Ok(verdict) => verdict,
        }
    }

    /// A smaller input failing the same way: spans removed, longest first, while the
    /// failure's kind stays (at most `MINIMIZE_TRIES` runs).
    fn minimize(&mut self, input: &[u8], kind: &str) -> Vec<u8> {
        const MINIMIZE_TRIES: usize = 20_000;
        let mut smallest = input.to_vec();
        let mut span = smallest.len() / 2;
        let mut tries = 0;
        while span > 0 && tries < MINIMIZE_TRIES {
            let mut at = 0;
            while at + span <= smallest.len() && tries < MINIMIZE_TRIES {
                tries += 1;
                let mut candidate = smallest.clone();
                candidate.drain(at..at + span);
                match self.verdict(&candidate) {
                    Err(why) if fold_digits(&why) == kind => smallest = candidate,
                    _ => at += span,
                }
            }
            span /= 2;
        }
        smallest
    }

    /// Counts an outcome (digits folded, so "seq 7 out of range" and "seq 9 ..." are one).
    fn first_time(&mut self, outcome: &str) -> bool {
        let count = self.outcomes.entry(fold_digits(outcome)).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Writes the failing input; panics with how to replay it (or, when keeping going,
    /// records it and labels the run's outcome as failed).
    fn fail(&mut self, input: &[u8], why: &str) -> String {
        let kind = fold_digits(why);
        if self.keep_going && self.failures.contains(&kind) {
            self.failures.push(kind);
            return format!("FAILED: {why}");
        }
        let minimized = self.minimize(input, &kind);
        let mut report = format!("seq-fuzz {}: {why}", self.target.name);
        for (what, bytes) in [("input", input), ("minimized input", &minimized[..])] {
            let mut hasher = DefaultHasher::new();
            bytes.hash(&mut hasher);
            let path = self.failures_dir.join(format!("{}-{:016x}.bin", self.target.name, hasher.finish()));
            let written =
                fs::write(&path, bytes).map_or_else(|e| format!("could not be written ({e})"), |()| "written".into());
            report += &format!(
                "\n  the {}-byte {what} is {written} to {}\n    replay: SEQ_FUZZ_REPLAY={} cargo test --release -p seq-fuzz --test {}",
                bytes.len(),
                path.display(),
                path.display(),
                self.target.name
            );
        }
        report += &format!("\n  run: seed {}, execution {}", self.seed, self.executions);
        if !self.keep_going {
            panic!("{report}");
        }
        println!("{report}");
        self.failures.push(kind);
        format!("FAILED: {why}")
    }

    fn report(&self, pool: usize) {
        let mut outcomes: Vec<_> = self.outcomes.iter().collect();
        outcomes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        println!(
            "seq-fuzz {}: {} executions, {} distinct outcomes, pool {pool}, allocation peaks up to {:.0}% of the budget",
            self.target.name,
            self.executions,
            outcomes.len(),
            self.peak_share * 100.0
        );
        for (outcome, count) in outcomes {
            println!("  {count:>9}  {outcome}");
        }
        let mut kinds = self.failures.clone();
        kinds.sort();
        kinds.dedup();
        assert!(
            self.failures.is_empty(),
            "seq-fuzz {}: {} failing inputs (above), of {} kinds:\n  {}",
            self.target.name,
            self.failures.len(),
            kinds.len(),
            kinds.join("\n  ")
        );
    }
}

impl Drop for Run<'_> {
    /// The dump file is only of use after an abort, when this does not run.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.dump_path);
    }
}

/// The corpus files (sorted by name), generated first if there are none or
/// `SEQ_FUZZ_REGENERATE=1` asks. Regeneration replaces only files the generator names
/// (each name carries the encoding it was written with), so inputs of older encodings stay.
fn load_corpus(target: &Target, dir: &Path) -> Vec<Vec<u8>> {
    let regenerate = std::env::var("SEQ_FUZZ_REGENERATE").is_ok_and(|v| v == "1");
    if regenerate || corpus_files(dir).is_empty() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for (name, bytes) in (target.generate)() {
            let path = dir.join(format!("{name}.bin"));
            fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        println!("seq-fuzz {}: wrote the generated corpus to {}", target.name, dir.display());
    }
    corpus_files(dir).iter().map(|path| fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).collect()
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        fs::read_dir(dir).map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "bin"));
    files.sort();
    files
}

fn fold_digits(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if !c.is_ascii_digit() {
            folded.push(c);
        } else if !folded.ends_with('N') {
            folded.push('N');
        }
    }
    folded
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.parse().unwrap_or_else(|_| panic!("{name}={value} is not an unsigned integer")))
}

fn clock_seed() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_differing_in_numbers_only_are_one() {
        assert_eq!(fold_digits("seq 17 is out of range: last is 3"), "seq N is out of range: last is N");
        assert_eq!(fold_digits("no digits"), "no digits");
    }
}
