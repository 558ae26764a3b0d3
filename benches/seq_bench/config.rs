//! What a run measures and how big: the environment knobs and `--quick`, and the
//! progress log on stderr.

use std::time::Instant;

use crate::data::IdStyle;

/// Payload of the throughput rows and of the long logs.
pub const PAYLOAD_LEN: usize = 100;
/// Commands per pipelined batch in the fills.
pub const FILL_BATCH: u64 = 10_000;

#[derive(Clone, Debug)]
pub struct Config {
    pub quick: bool,
    pub rounds: usize,
    /// multiplies every redis-benchmark `-n`
    pub n_scale: f64,
    /// entries in `conv:long` / `stream:long` (SEQ.RANGE vs XRANGE)
    pub long_len: u64,
    /// memory fill: conversations x messages
    pub convs: u64,
    pub msgs: u64,
    /// entries in the big log of the scale phase
    pub big_len: u64,
    pub small_len: u64,
    pub reloads: usize,
    /// conversations per data set of the small-log phase
    pub small_convs: u64,
    /// memory fill payloads: random alphanumerics (default) or text-like words
    pub text_payloads: bool,
    /// memory fill client-msg-ids: hex (the 100-byte and empty-payload sets), opaque (one
    /// more 100-byte set), or both
    pub ids: Vec<IdStyle>,
    pub phases: Vec<String>,
}

fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match env_str(name) {
        None => default,
        Some(s) => {
            let cleaned: String = s.chars().filter(|c| *c != '_').collect();
            match cleaned.parse() {
                Ok(v) => v,
                Err(_) => {
                    eprintln!("seq_bench: {name}={s:?} is not a number; using the default");
                    default
                }
            }
        }
    }
}

impl Config {
    pub fn from_env_and_args() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick_arg = args.iter().any(|a| a == "--quick");
        let quick_env = env_str("SEQ_BENCH_QUICK").map(|v| v != "0" && v != "false").unwrap_or(false);
        let quick = quick_arg || quick_env;
        Config {
            quick,
            rounds: env_num("SEQ_BENCH_ROUNDS", if quick { 1 } else { 3 }).max(1),
            n_scale: env_num("SEQ_BENCH_N_SCALE", if quick { 0.1 } else { 1.0 }),
            long_len: env_num("SEQ_BENCH_LONG", if quick { 100_000 } else { 1_000_000 }).max(1000),
            convs: env_num("SEQ_BENCH_CONVS", if quick { 100 } else { 1000 }).max(1),
            msgs: env_num("SEQ_BENCH_MSGS", 1000).max(1),
            big_len: env_num("SEQ_BENCH_BIG", if quick { 1_000_000 } else { 10_000_000 }).max(2000),
            small_len: 1000,
            reloads: env_num("SEQ_BENCH_RELOADS", if quick { 1 } else { 3 }).max(1),
            small_convs: env_num("SEQ_BENCH_SMALL_CONVS", if quick { 20_000 } else { 200_000 }).max(1),
            text_payloads: match env_str("SEQ_BENCH_PAYLOAD").as_deref() {
                None | Some("random") => false,
                Some("text") => true,
                Some(other) => die(&format!("SEQ_BENCH_PAYLOAD={other:?}: use `random` or `text`")),
            },
            ids: match env_str("SEQ_BENCH_IDS").as_deref() {
                None | Some("both") => vec![IdStyle::Hex, IdStyle::Opaque],
                Some("hex") => vec![IdStyle::Hex],
                Some("opaque") => vec![IdStyle::Opaque],
                Some(other) => die(&format!("SEQ_BENCH_IDS={other:?}: use `hex`, `opaque` or `both`")),
            },
            phases: env_str("SEQ_BENCH_PHASES")
                .unwrap_or_else(|| "throughput,memory,scale,lifecycle,readstate,aof,small".into())
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    pub fn n(&self, base: u64) -> u64 {
        ((base as f64 * self.n_scale) as u64).max(1000)
    }

    pub fn phase(&self, name: &str) -> bool {
        self.phases.iter().any(|p| p == name || p == "all")
    }
}

pub fn die(msg: &str) -> ! {
    eprintln!("\nseq_bench: {msg}");
    std::process::exit(2);
}

pub fn log(msg: impl AsRef<str>) {
    eprintln!("[seq_bench {}] {}", clock(), msg.as_ref());
}

pub fn clock() -> String {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let s = START.get_or_init(Instant::now).elapsed().as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}
