//! redis-seq benchmark: SEQ.* against what an IM team writes by hand (a Lua script over a
//! counter, a hash of client-msg-ids and a stream), side by side in one run, on one
//! `redis-server` that this program starts with the module loaded.
//!
//! The package is a `cdylib`, so this program does not link the module: it drives
//! `redis-server` and `redis-benchmark` as processes and talks to the server with the
//! `redis` crate for fills, memory readings and timings. It is a measurement, not a test:
//! it prints tables and exits 0 whatever the numbers (it exits 2 only when it cannot set
//! up: module missing, server or redis-benchmark not found).
//!
//! Run (after `cargo build --release`):
//!
//! ```text
//! cargo bench --bench seq_bench                      # full run
//! SEQ_BENCH_QUICK=1 cargo bench --bench seq_bench    # smoke run, well under a minute
//! cargo bench --bench seq_bench -- --quick           # the same
//! ```
//!
//! Environment knobs (all optional; see docs/performance.md):
//! `SEQ_BENCH_QUICK`, `SEQ_BENCH_ROUNDS`, `SEQ_BENCH_N_SCALE`, `SEQ_BENCH_LONG`,
//! `SEQ_BENCH_CONVS`, `SEQ_BENCH_MSGS`, `SEQ_BENCH_BIG`, `SEQ_BENCH_RELOADS`,
//! `SEQ_BENCH_PAYLOAD`, `SEQ_BENCH_PHASES`, `SEQ_BENCH_MODULE`, `REDIS_SERVER`, `REDIS_BENCHMARK`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::Value;

/// The hand-written alternative, exactly as the benchmark loads it (`SCRIPT LOAD`) and
/// calls it: `EVALSHA <sha> 3 ctr:{c} ids:{c} log:{c} <client-msg-id> <payload>`.
/// KEYS[1] the conversation's counter, KEYS[2] the hash client-msg-id -> seq,
/// KEYS[3] the conversation's stream. A retry (id already in the hash) returns the first
/// seq and writes nothing; otherwise INCR, HSET, and XADD with an auto id (`*`) and the
/// fields `seq`, `id`, `payload`.
const LUA_SCRIPT: &str = "\
local seq = redis.call('HGET', KEYS[2], ARGV[1])
if seq then return tonumber(seq) end
seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], seq)
redis.call('XADD', KEYS[3], '*', 'seq', seq, 'id', ARGV[1], 'payload', ARGV[2])
return seq";

/// redis-benchmark settings shared by every throughput row (as in the issue).
const RB_PIPELINE: u32 = 16;
const RB_CLIENTS: u32 = 50;
const RB_RANDOM: u64 = 2_000_000_000;
/// Key space of the "many keys" row (see `throughput_rows`).
const MANY_KEYS: u64 = 1000;
/// Payload of the throughput rows and of the long logs.
const PAYLOAD_LEN: usize = 100;
/// Commands per pipelined batch in the fills.
const FILL_BATCH: u64 = 10_000;

// ------------------------------------------------------------------------------------
// configuration

#[derive(Clone, Debug)]
struct Config {
    quick: bool,
    rounds: usize,
    /// multiplies every redis-benchmark `-n`
    n_scale: f64,
    /// entries in `conv:long` / `stream:long` (SEQ.RANGE vs XRANGE)
    long_len: u64,
    /// memory fill: conversations x messages
    convs: u64,
    msgs: u64,
    /// entries in the big log of the scale phase
    big_len: u64,
    small_len: u64,
    reloads: usize,
    /// memory fill payloads: random alphanumerics (default) or text-like words
    text_payloads: bool,
    phases: Vec<String>,
    module: PathBuf,
    redis_server: String,
    redis_benchmark: String,
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
    fn from_env_and_args() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick_arg = args.iter().any(|a| a == "--quick");
        let quick_env = env_str("SEQ_BENCH_QUICK").map(|v| v != "0" && v != "false").unwrap_or(false);
        let quick = quick_arg || quick_env;
        let default_module = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/libredis_seq.so");
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
            text_payloads: match env_str("SEQ_BENCH_PAYLOAD").as_deref() {
                None | Some("random") => false,
                Some("text") => true,
                Some(other) => die(&format!("SEQ_BENCH_PAYLOAD={other:?}: use `random` or `text`")),
            },
            phases: env_str("SEQ_BENCH_PHASES")
                .unwrap_or_else(|| "throughput,memory,scale".into())
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            module: env_str("SEQ_BENCH_MODULE").map(PathBuf::from).unwrap_or(default_module),
            redis_server: env_str("REDIS_SERVER").unwrap_or_else(|| "redis-server".into()),
            redis_benchmark: env_str("REDIS_BENCHMARK").unwrap_or_else(|| "redis-benchmark".into()),
        }
    }

    fn n(&self, base: u64) -> u64 {
        ((base as f64 * self.n_scale) as u64).max(1000)
    }

    fn phase(&self, name: &str) -> bool {
        self.phases.iter().any(|p| p == name || p == "all")
    }
}

fn die(msg: &str) -> ! {
    eprintln!("\nseq_bench: {msg}");
    std::process::exit(2);
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[seq_bench {}] {}", clock(), msg.as_ref());
}

fn clock() -> String {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let s = START.get_or_init(Instant::now).elapsed().as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

// ------------------------------------------------------------------------------------
// the server

/// The redis-server this run started; killed by PID (SIGKILL) and its directory removed
/// when dropped, also on a panic.
struct ServerGuard {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl ServerGuard {
    fn start(cfg: &Config) -> ServerGuard {
        if !cfg.module.exists() {
            die(&format!(
                "{} is missing: build the module first with `cargo build --release` \
                 (or point SEQ_BENCH_MODULE at it)",
                cfg.module.display()
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| die(&format!("no free loopback port: {e}")));
        let dir = std::env::temp_dir().join(format!("seq-bench-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| die(&format!("create {}: {e}", dir.display())));
        let logfile = dir.join("redis.log");
        let child = Command::new(&cfg.redis_server)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "local", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(&logfile)
            .arg("--loadmodule")
            .arg(&cfg.module)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start `{}`: {e}", cfg.redis_server)));
        let mut guard = ServerGuard { child: Some(child), port, dir };
        guard.wait_ready();
        guard
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = self.log_text();
                    self.cleanup();
                    die(&format!("redis-server exited at start ({status}); its log:\n{log}"));
                }
            }
            if let Ok(mut con) = self.try_connect() {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return;
                }
            }
            if Instant::now() > deadline {
                let log = self.log_text();
                self.cleanup();
                die(&format!("redis-server did not answer within 20 s; its log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_connect(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL to this PID only
            let _ = child.wait();
        }
    }

    /// Kills the server (if still running) and removes its directory (RDB, log).
    fn cleanup(&mut self) {
        self.kill_now();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Stops the server (Drop) and exits with a setup error.
    fn fail(self, msg: &str) -> ! {
        drop(self);
        die(msg)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.cleanup();
    }
}

// ------------------------------------------------------------------------------------
// helpers: deterministic data, pipelined fills, INFO

/// splitmix64: the same seed gives the same ids and payloads to both layouts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A 20-byte client-msg-id (hex).
    fn msg_id(&mut self) -> String {
        format!("{:016x}{:04x}", self.next(), self.next() & 0xffff)
    }

    /// Text-like payload: words drawn from a small vocabulary (LZF finds repeats in it).
    fn text(&mut self, len: usize) -> String {
        const WORDS: &[&str] = &[
            "the", "be", "to", "of", "and", "a", "in", "that", "have", "I", "it", "for", "not", "on", "with", "he",
            "as", "you", "do", "at", "this", "but", "his", "by", "from", "they", "we", "say", "her", "she", "or", "an",
            "will", "my", "one", "all", "would", "there", "their", "what", "so", "up", "out", "if", "about", "who",
            "get", "which", "go", "me", "when", "make", "can", "like", "time", "no", "just", "him", "know", "take",
            "people", "into", "year", "your", "good", "some", "could", "them", "see", "other", "than", "then", "now",
            "look", "only", "come", "its", "over", "think", "also", "back", "after", "use", "two", "how", "our",
            "work", "first", "well", "way", "even", "new", "want", "because", "any", "these", "give", "day", "most",
            "us", "ok", "lol", "thanks",
        ];
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(WORDS[(self.next() % WORDS.len() as u64) as usize]);
        }
        s.truncate(len);
        s
    }

    /// Random alphanumerics: neither the RDB's LZF nor anything else can squash them.
    fn payload(&mut self, len: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left == 0 {
                bits = self.next();
                left = 8;
            }
            s.push(ALNUM[((bits & 0xff) % 62) as usize] as char);
            bits >>= 8;
            left -= 1;
        }
        s
    }
}

/// Sends `total` commands made by `make(i)` in pipelined batches; `on_reply(i, reply)`
/// sees each reply. Any error reply stops the fill with that error.
fn pipelined(
    con: &mut redis::Connection,
    total: u64,
    mut make: impl FnMut(u64) -> redis::Cmd,
    mut on_reply: impl FnMut(u64, &Value),
    progress: Option<&str>,
) -> Result<Duration, String> {
    let t0 = Instant::now();
    let mut next_report = total / 5;
    let mut i = 0u64;
    while i < total {
        let end = (i + FILL_BATCH).min(total);
        let mut p = redis::pipe();
        for j in i..end {
            p.add_command(make(j));
        }
        let replies: Vec<Value> = p.query(con).map_err(|e| format!("at command #{i}..{end}: {e}"))?;
        for (k, v) in replies.iter().enumerate() {
            if let Value::ServerError(e) = v {
                return Err(format!("command #{}: {e:?}", i + k as u64));
            }
            on_reply(i + k as u64, v);
        }
        i = end;
        if let Some(what) = progress {
            if total >= 1_000_000 && i >= next_report && i < total {
                let el = t0.elapsed().as_secs_f64();
                log(format!("  {what}: {i}/{total} ({:.0}/s)", i as f64 / el));
                next_report += total / 5;
            }
        }
    }
    Ok(t0.elapsed())
}

fn info_map(con: &mut redis::Connection, section: &str) -> BTreeMap<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(con).unwrap_or_default();
    text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

fn used_memory(con: &mut redis::Connection) -> (i64, i64) {
    let m = info_map(con, "memory");
    let get = |k: &str| m.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    (get("used_memory"), get("used_memory_rss"))
}

/// Waits (up to 60 s) until `lazyfree_pending_objects` is 0.
fn wait_lazyfree(con: &mut redis::Connection) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        let pending =
            info_map(con, "memory").get("lazyfree_pending_objects").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if pending == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Seconds of CPU the server has used (user + sys, all threads).
fn server_cpu(con: &mut redis::Connection) -> f64 {
    let m = info_map(con, "cpu");
    let get = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    get("used_cpu_user") + get("used_cpu_sys")
}

fn query_i64(con: &mut redis::Connection, cmd: &redis::Cmd) -> Result<i64, String> {
    cmd.query::<i64>(con).map_err(|e| e.to_string())
}

fn flushall(con: &mut redis::Connection) {
    // values UNLINKed earlier may still be being freed in the background
    wait_lazyfree(con);
    let _: redis::RedisResult<()> = redis::cmd("FLUSHALL").arg("SYNC").query(con);
    wait_lazyfree(con);
}

fn unlink(con: &mut redis::Connection, keys: &[String]) {
    for chunk in keys.chunks(1000) {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(chunk).query(con);
    }
}

/// A payload for the redis-benchmark command lines: fixed, printable, no `__rand_int__`.
fn bench_payload() -> String {
    Rng(42).payload(PAYLOAD_LEN)
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn fmt_rate(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v >= 1e6 {
        format!("{:.2}M/s", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k/s", v / 1e3)
    } else {
        format!("{v:.0}/s")
    }
}

fn fmt_ratio(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        "n/a".into()
    } else {
        format!("{v:.2}x")
    }
}

fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad));
            }
        }
        s
    };
    println!("\n{title}");
    println!("{}", line(header.iter().map(|s| s.to_string()).collect()));
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-|-"));
    for r in rows {
        println!("{}", line(r.clone()));
    }
}

// ------------------------------------------------------------------------------------
// redis-benchmark rows

#[derive(Clone, Debug, Default)]
struct RbRun {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// server CPU (user + sys, all its threads, from INFO cpu) per request, microseconds:
    /// a view that does not depend on how fast redis-benchmark parses the replies
    server_us: f64,
}

/// What a row runs before each of its runs.
type Reset = Box<dyn Fn(&mut redis::Connection)>;

/// One throughput row: a redis-benchmark command line and what to reset before each run.
struct Row {
    id: &'static str,
    label: String,
    n: u64,
    /// `-r` for this row (every other row uses 2000000000)
    r: u64,
    args: Vec<String>,
    /// called before each run (e.g. UNLINK the hot key so that every round starts equal)
    reset: Option<Reset>,
    runs: Vec<RbRun>,
    error: Option<String>,
}

impl Row {
    fn new(id: &'static str, label: impl Into<String>, n: u64, args: &[&str]) -> Row {
        Row {
            id,
            label: label.into(),
            n,
            r: RB_RANDOM,
            args: args.iter().map(|s| s.to_string()).collect(),
            reset: None,
            runs: Vec::new(),
            error: None,
        }
    }

    fn with_r(mut self, r: u64) -> Row {
        self.r = r;
        self
    }

    fn with_reset(mut self, f: impl Fn(&mut redis::Connection) + 'static) -> Row {
        self.reset = Some(Box::new(f));
        self
    }

    fn median_rps(&self) -> f64 {
        if self.error.is_some() {
            return f64::NAN;
        }
        median(&self.runs.iter().map(|r| r.rps).collect::<Vec<_>>())
    }

    fn median_server_us(&self) -> f64 {
        if self.error.is_some() {
            return f64::NAN;
        }
        median(&self.runs.iter().map(|r| r.server_us).collect::<Vec<_>>())
    }

    /// The run whose rate is the median (for its latency columns).
    fn median_run(&self) -> Option<&RbRun> {
        let m = self.median_rps();
        self.runs.iter().min_by(|a, b| (a.rps - m).abs().partial_cmp(&(b.rps - m).abs()).unwrap())
    }

    /// The command line as printed: the payload shortened.
    fn shown(&self) -> String {
        self.args
            .iter()
            .map(|a| if a.len() > 64 { format!("<{}-byte payload>", a.len()) } else { a.clone() })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn run_redis_benchmark(cfg: &Config, port: u16, row: &Row) -> Result<RbRun, String> {
    let out = Command::new(&cfg.redis_benchmark)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-P", &RB_PIPELINE.to_string(), "-r", &row.r.to_string()])
        .args(["-n", &row.n.to_string(), "-c", &RB_CLIENTS.to_string(), "--csv"])
        .args(&row.args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", cfg.redis_benchmark))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("Error") || stdout.contains("Error from server") {
        let msg = format!("{}{}", stdout.trim(), stderr.trim());
        let msg: String = msg.lines().filter(|l| !l.starts_with("\"test\"")).collect::<Vec<_>>().join(" ");
        return Err(format!("redis-benchmark failed ({}): {}", out.status, msg.chars().take(300).collect::<String>()));
    }
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('"') && !l.starts_with("\"test\""))
        .ok_or_else(|| format!("no CSV row in redis-benchmark output: {stdout}"))?;
    let parts: Vec<f64> =
        line.rsplitn(8, ',').take(7).map(|f| f.trim().trim_matches('"').parse::<f64>().unwrap_or(f64::NAN)).collect();
    // reversed: max, p99, p95, p50, min, avg, rps
    if parts.len() < 7 || parts[6].is_nan() {
        return Err(format!("cannot parse redis-benchmark CSV: {line}"));
    }
    Ok(RbRun { rps: parts[6], p50_ms: parts[3], p99_ms: parts[1], max_ms: parts[0], server_us: f64::NAN })
}

/// Sends the row's command once through the client (with `__rand_int__` replaced the way
/// redis-benchmark replaces it: 12 zero-padded digits) so that a command the module does
/// not (yet) have fails the row clearly instead of being timed as a stream of errors.
fn probe_row(con: &mut redis::Connection, row: &Row) -> Result<(), String> {
    let mut cmd = redis::cmd(&row.args[0]);
    for a in &row.args[1..] {
        cmd.arg(a.replace("__rand_int__", "000000000007"));
    }
    cmd.query::<Value>(con).map(|_| ()).map_err(|e| e.to_string())
}

/// Runs the rows `rounds` times, interleaved (round k runs every row once, in an order
/// rotated by k), and keeps every run.
fn run_rounds(cfg: &Config, server: &ServerGuard, con: &mut redis::Connection, rows: &mut [Row], what: &str) {
    for row in rows.iter_mut() {
        if let Some(reset) = &row.reset {
            reset(con);
        }
        if let Err(e) = probe_row(con, row) {
            log(format!("  row `{}` disabled: {} -> {e}", row.label, row.shown()));
            row.error = Some(e);
        }
    }
    let k = rows.len();
    for round in 0..cfg.rounds {
        for step in 0..k {
            let row = &mut rows[(step + round) % k];
            if row.error.is_some() {
                continue;
            }
            if let Some(reset) = &row.reset {
                reset(con);
                // UNLINKed values are freed by a background thread: let it finish, so
                // that it neither competes for the cores nor counts in this row's CPU.
                wait_lazyfree(con);
            }
            let cpu0 = server_cpu(con);
            match run_redis_benchmark(cfg, server.port, row) {
                Ok(mut run) => {
                    run.server_us = (server_cpu(con) - cpu0) * 1e6 / row.n as f64;
                    log(format!(
                        "  {what} round {}/{}: {:<34} {:>10}  p50 {:.3} ms  p99 {:.3} ms  server {:.2} us/op",
                        round + 1,
                        cfg.rounds,
                        row.label,
                        fmt_rate(run.rps),
                        run.p50_ms,
                        run.p99_ms,
                        run.server_us
                    ));
                    row.runs.push(run);
                }
                Err(e) => {
                    log(format!("  row `{}` failed: {e}", row.label));
                    row.error = Some(e);
                }
            }
        }
    }
}

fn print_rows(title: &str, rows: &[Row]) {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let runs = r.runs.iter().map(|x| fmt_rate(x.rps)).collect::<Vec<_>>().join(" ");
            match (&r.error, r.median_run()) {
                (Some(e), _) => vec![
                    r.label.clone(),
                    r.n.to_string(),
                    format!("ERROR: {}", e.chars().take(80).collect::<String>()),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    r.shown(),
                ],
                (None, Some(m)) => vec![
                    r.label.clone(),
                    r.n.to_string(),
                    runs,
                    fmt_rate(r.median_rps()),
                    format!("{:.2}", r.median_server_us()),
                    format!("{:.3}", m.p50_ms),
                    format!("{:.3}", m.p99_ms),
                    format!("{:.3}", m.max_ms),
                    r.shown(),
                ],
                (None, None) => vec![r.label.clone(), r.n.to_string(), "no run".into()],
            }
        })
        .map(|mut v| {
            v.resize(9, String::new());
            v
        })
        .collect();
    print_table(
        title,
        &["row", "-n", "rounds (req/s)", "median", "server us/op", "p50 ms", "p99 ms", "max ms", "command"],
        &body,
    );
}

fn row_rps(rows: &[Row], id: &str) -> f64 {
    rows.iter().find(|r| r.id == id).map(|r| r.median_rps()).unwrap_or(f64::NAN)
}

fn row_us(rows: &[Row], id: &str) -> f64 {
    rows.iter().find(|r| r.id == id).map(|r| r.median_server_us()).unwrap_or(f64::NAN)
}

/// Server-CPU-per-request comparisons of pairs of rows (alternative / ours: > 1 means ours
/// costs the server less).
fn print_cpu_pairs(title: &str, rows: &[Row], pairs: &[(&str, &str, &str)]) {
    let body: Vec<Vec<String>> = pairs
        .iter()
        .map(|(what, ours, alt)| {
            let (a, b) = (row_us(rows, ours), row_us(rows, alt));
            vec![what.to_string(), format!("{a:.2}"), format!("{b:.2}"), fmt_ratio(b / a)]
        })
        .collect();
    print_table(title, &["comparison", "ours us/op", "alternative us/op", "alternative / ours"], &body);
}

// ------------------------------------------------------------------------------------
// summary

struct Summary {
    rows: Vec<Vec<String>>,
}

#[derive(Clone, Copy)]
enum Target {
    /// ratio must be at least this
    AtLeast(f64),
    /// ratio must be at most this
    AtMost(f64),
    /// value must be at most this (absolute, e.g. ms)
    ValueAtMost(f64),
    Info,
}

/// `last` of the memory fill's first conversation, read the layout's way (-1 if none).
fn last_seq_of_first_conversation(con: &mut redis::Connection, layout: Layout) -> i64 {
    match layout {
        Layout::Seq => query_i64(con, redis::cmd("SEQ.LAST").arg("conv:{c0}")).unwrap_or(-1),
        Layout::Lua => redis::cmd("GET").arg("ctr:{c0}").query::<Option<i64>>(con).ok().flatten().unwrap_or(-1),
    }
}

/// Times `n` DEBUG RELOADs, in ms each.
fn time_reloads(con: &mut redis::Connection, n: usize) -> redis::RedisResult<Vec<f64>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        redis::cmd("DEBUG").arg("RELOAD").query::<Value>(con)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

/// Records that the scale phase could not run because filling `log` failed.
fn scale_not_measured(sum: &mut Summary, log_name: &str, error: &dyn std::fmt::Display) {
    log(format!("  {log_name} fill failed: {error}"));
    sum.add("scale phase", "not measured".into(), f64::NAN, f64::NAN, "", Target::Info);
}

impl Summary {
    fn add(&mut self, metric: &str, value: String, value_num: f64, ratio: f64, vs: &str, target: Target) {
        let ratio_s = if ratio.is_nan() { "-".to_string() } else { format!("{} {vs}", fmt_ratio(ratio)) };
        let (target_s, met) = match target {
            Target::AtLeast(t) => (format!(">= {t:.2}x"), Some(!ratio.is_nan() && ratio >= t)),
            Target::AtMost(t) => (format!("<= {t:.2}x"), Some(!ratio.is_nan() && ratio <= t)),
            Target::ValueAtMost(t) => (format!("<= {t} ms"), Some(!value_num.is_nan() && value_num <= t)),
            Target::Info => ("(info)".to_string(), None),
        };
        let met_s = match met {
            None => "-".to_string(),
            Some(true) => "yes".to_string(),
            Some(false) if value_num.is_nan() || (ratio.is_nan() && !matches!(target, Target::ValueAtMost(_))) => {
                "NOT MEASURED".to_string()
            }
            Some(false) => "NO".to_string(),
        };
        self.rows.push(vec![metric.to_string(), value, ratio_s, target_s, met_s]);
    }
}

// ------------------------------------------------------------------------------------
// phase 1: throughput against the alternatives

fn key_list(prefix: &str, n: u64) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{{{i:012}}}")).collect()
}

fn phase_throughput(cfg: &Config, server: &ServerGuard, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let payload = bench_payload();
    let p = payload.as_str();

    // The long logs: the same messages in both layouts (fields as the Lua script writes).
    log(format!("prefill: conv:long and stream:long, {} entries each, {PAYLOAD_LEN}-byte payloads", cfg.long_len));
    for k in ["conv:long", "stream:long"] {
        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(k).query(con);
    }
    let mut rng = Rng(7);
    let mut msgs: Vec<(String, String)> = Vec::new();
    let fill_seq = pipelined(
        con,
        cfg.long_len,
        |i| {
            if i as usize >= msgs.len() {
                msgs.push((rng.msg_id(), rng.payload(PAYLOAD_LEN)));
            }
            let (id, pl) = &msgs[i as usize];
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg("conv:long").arg(id).arg(pl);
            c
        },
        |_, _| {},
        Some("conv:long"),
    );
    if let Err(e) = &fill_seq {
        log(format!("  conv:long fill failed: {e}"));
    }
    let mid_seq = cfg.long_len / 2;
    let mut mid_stream_id = String::from("-");
    let fill_stream = pipelined(
        con,
        cfg.long_len,
        |i| {
            let (id, pl) = &msgs[i as usize];
            let mut c = redis::cmd("XADD");
            c.arg("stream:long").arg("*").arg("seq").arg(i + 1).arg("id").arg(id).arg("payload").arg(pl);
            c
        },
        |i, v| {
            if i + 1 == mid_seq {
                if let Value::BulkString(b) = v {
                    mid_stream_id = String::from_utf8_lossy(b).into_owned();
                }
            }
        },
        Some("stream:long"),
    );
    drop(msgs);
    if let Err(e) = &fill_stream {
        log(format!("  stream:long fill failed: {e}"));
    }
    if let (Ok(a), Ok(b)) = (&fill_seq, &fill_stream) {
        log(format!(
            "  filled in {:.1} s (SEQ.ALLOC) and {:.1} s (XADD); page start: seq {mid_seq}, stream id {mid_stream_id}",
            a.as_secs_f64(),
            b.as_secs_f64()
        ));
    }

    let mid = mid_seq.to_string();
    let hot_keys = vec!["conv:{hot}".to_string()];
    let lua_keys = vec!["ctr:{hot}".to_string(), "ids:{hot}".to_string(), "log:{hot}".to_string()];
    let many_keys = key_list("conv:m", MANY_KEYS);
    let many_id = "id:__rand_int____rand_int__";
    let mut rows = vec![
        Row::new("incr", "INCR (floor)", cfg.n(2_000_000), &["INCR", "counter:{hot}"])
            .with_reset(|c| unlink(c, &["counter:{hot}".into()])),
        Row::new(
            "lua",
            "Lua script (hot conv)",
            cfg.n(400_000),
            &["EVALSHA", sha, "3", "ctr:{hot}", "ids:{hot}", "log:{hot}", "id:__rand_int__", p],
        )
        .with_reset(move |c| unlink(c, &lua_keys)),
        Row::new(
            "xadd",
            "XADD (hot stream)",
            cfg.n(1_000_000),
            &["XADD", "xadd:{hot}", "*", "seq", "1", "id", "id:__rand_int__", "payload", p],
        )
        .with_reset(|c| unlink(c, &["xadd:{hot}".into()])),
        Row::new(
            "alloc_hot",
            "SEQ.ALLOC (hot key)",
            cfg.n(1_000_000),
            &["SEQ.ALLOC", "conv:{hot}", "id:__rand_int__", p],
        )
        .with_reset(move |c| unlink(c, &hot_keys)),
        Row::new(
            "alloc_many",
            format!("SEQ.ALLOC ({MANY_KEYS} keys)"),
            cfg.n(1_000_000),
            &["SEQ.ALLOC", "conv:m{__rand_int__}", many_id, p],
        )
        .with_r(MANY_KEYS)
        .with_reset(move |c| unlink(c, &many_keys)),
        Row::new(
            "range",
            "SEQ.RANGE mid COUNT 100",
            cfg.n(50_000),
            &["SEQ.RANGE", "conv:long", mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "xrange",
            "XRANGE mid COUNT 100",
            cfg.n(50_000),
            &["XRANGE", "stream:long", mid_stream_id.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "revrange",
            "SEQ.REVRANGE tail COUNT 100",
            cfg.n(50_000),
            &["SEQ.REVRANGE", "conv:long", "+", "-", "COUNT", "100"],
        ),
        Row::new(
            "xrevrange",
            "XREVRANGE tail COUNT 100",
            cfg.n(50_000),
            &["XREVRANGE", "stream:long", "+", "-", "COUNT", "100"],
        ),
        Row::new("last", "SEQ.LAST (long log)", cfg.n(2_000_000), &["SEQ.LAST", "conv:long"]),
    ];
    log(format!("throughput: {} rows x {} rounds, interleaved", rows.len(), cfg.rounds));
    run_rounds(cfg, server, con, &mut rows, "throughput");

    // Sanity: every hot-key SEQ.ALLOC of the last run appended (ids are random in
    // 0..2e9, so a few hundred repeat and are de-duplicated, as in the Lua script).
    let hot_last = query_i64(con, redis::cmd("SEQ.LAST").arg("conv:{hot}")).unwrap_or(-1);
    let lua_last: i64 = redis::cmd("GET").arg("ctr:{hot}").query::<Option<i64>>(con).ok().flatten().unwrap_or(-1);
    let n_hot = rows.iter().find(|r| r.id == "alloc_hot").map(|r| r.n).unwrap_or(0);
    let n_lua = rows.iter().find(|r| r.id == "lua").map(|r| r.n).unwrap_or(0);
    let range_len = redis::cmd("SEQ.RANGE")
        .arg("conv:long")
        .arg(&mid)
        .arg("+")
        .arg("COUNT")
        .arg(100)
        .query::<Vec<Value>>(con)
        .map(|v| v.len() as i64)
        .unwrap_or(-1);
    let xrange_len = redis::cmd("XRANGE")
        .arg("stream:long")
        .arg(&mid_stream_id)
        .arg("+")
        .arg("COUNT")
        .arg(100)
        .query::<Vec<Value>>(con)
        .map(|v| v.len() as i64)
        .unwrap_or(-1);

    print_rows(
        &format!(
            "THROUGHPUT (redis-benchmark -P {RB_PIPELINE} -c {RB_CLIENTS} -r {RB_RANDOM}, except the {MANY_KEYS}-key row: -r {MANY_KEYS}; \
             {} round(s) interleaved, median; long logs of {} entries)",
            cfg.rounds, cfg.long_len
        ),
        &rows,
    );
    print_cpu_pairs(
        "SERVER CPU PER REQUEST (INFO cpu delta / -n; independent of redis-benchmark's own speed)",
        &rows,
        &[
            ("SEQ.ALLOC hot vs Lua script", "alloc_hot", "lua"),
            ("SEQ.ALLOC hot vs INCR", "alloc_hot", "incr"),
            ("SEQ.ALLOC hot vs XADD", "alloc_hot", "xadd"),
            ("SEQ.RANGE vs XRANGE (COUNT 100)", "range", "xrange"),
            ("SEQ.REVRANGE vs XREVRANGE (COUNT 100)", "revrange", "xrevrange"),
        ],
    );
    println!(
        "checks: SEQ.LAST conv:{{hot}} after its last run = {hot_last} (of -n {n_hot}); ctr:{{hot}} after the Lua run = {lua_last} (of -n {n_lua}); \
         a SEQ.RANGE page has {range_len} entries, an XRANGE page {xrange_len}"
    );

    let incr = row_rps(&rows, "incr");
    let lua = row_rps(&rows, "lua");
    let xadd = row_rps(&rows, "xadd");
    let hot = row_rps(&rows, "alloc_hot");
    let many = row_rps(&rows, "alloc_many");
    let range = row_rps(&rows, "range");
    let xrange = row_rps(&rows, "xrange");
    let rev = row_rps(&rows, "revrange");
    let xrev = row_rps(&rows, "xrevrange");
    let last = row_rps(&rows, "last");
    sum.add("INCR, one key (floor)", fmt_rate(incr), incr, f64::NAN, "", Target::Info);
    sum.add("Lua script, hot conversation", fmt_rate(lua), lua, lua / incr, "INCR", Target::Info);
    sum.add("XADD, hot stream", fmt_rate(xadd), xadd, xadd / incr, "INCR", Target::Info);
    sum.add("SEQ.ALLOC hot key vs Lua", fmt_rate(hot), hot, hot / lua, "Lua", Target::AtLeast(4.0));
    sum.add("SEQ.ALLOC hot key vs INCR", fmt_rate(hot), hot, hot / incr, "INCR", Target::AtLeast(0.7));
    sum.add(&format!("SEQ.ALLOC over {MANY_KEYS} keys"), fmt_rate(many), many, many / lua, "Lua (hot)", Target::Info);
    sum.add("SEQ.RANGE COUNT 100 vs XRANGE", fmt_rate(range), range, range / xrange, "XRANGE", Target::AtLeast(1.2));
    sum.add("SEQ.REVRANGE COUNT 100 vs XREVRANGE", fmt_rate(rev), rev, rev / xrev, "XREVRANGE", Target::Info);
    sum.add("SEQ.LAST", fmt_rate(last), last, last / incr, "INCR", Target::Info);

    for k in ["conv:long", "stream:long"] {
        let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(k).query(con);
    }
}

// ------------------------------------------------------------------------------------
// phase 2: memory per message and DEBUG RELOAD

#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    Seq,
    Lua,
}

#[derive(Default, Debug)]
struct MemResult {
    fill_s: f64,
    bytes_per_msg: f64,
    rss_per_msg: f64,
    after_reload_per_msg: f64,
    memory_usage_conv: i64,
    reload_ms: Vec<f64>,
    /// the same with `CONFIG SET rdbcompression no`: LZF is most of a reload's time when
    /// the payloads do not compress
    reload_nocomp_ms: Vec<f64>,
    rdb_bytes: u64,
    error: Option<String>,
}

fn mem_run(
    cfg: &Config,
    server: &ServerGuard,
    con: &mut redis::Connection,
    sha: &str,
    layout: Layout,
    payload_len: usize,
) -> MemResult {
    let mut r = MemResult::default();
    flushall(con);
    std::thread::sleep(Duration::from_millis(200));
    let (m0, rss0) = used_memory(con);
    let total = cfg.convs * cfg.msgs;
    let mut rng = Rng(1234 + payload_len as u64);
    let convs = cfg.convs;
    let text = cfg.text_payloads;
    log(format!(
        "memory: {} convs x {} msgs, {payload_len}-byte payloads, via {}",
        cfg.convs,
        cfg.msgs,
        if layout == Layout::Seq { "SEQ.ALLOC" } else { "the Lua script" }
    ));
    let fill = pipelined(
        con,
        total,
        |i| {
            // message-major order: message m of every conversation, then m + 1
            let conv = i % convs;
            let id = rng.msg_id();
            let pl = if text { rng.text(payload_len) } else { rng.payload(payload_len) };
            match layout {
                Layout::Seq => {
                    let mut c = redis::cmd("SEQ.ALLOC");
                    c.arg(format!("conv:{{c{conv}}}")).arg(id).arg(pl);
                    c
                }
                Layout::Lua => {
                    let mut c = redis::cmd("EVALSHA");
                    c.arg(sha)
                        .arg(3)
                        .arg(format!("ctr:{{c{conv}}}"))
                        .arg(format!("ids:{{c{conv}}}"))
                        .arg(format!("log:{{c{conv}}}"))
                        .arg(id)
                        .arg(pl);
                    c
                }
            }
        },
        |_, _| {},
        Some("fill"),
    );
    match fill {
        Ok(d) => r.fill_s = d.as_secs_f64(),
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    }
    let (m1, rss1) = used_memory(con);
    r.bytes_per_msg = (m1 - m0) as f64 / total as f64;
    r.rss_per_msg = (rss1 - rss0) as f64 / total as f64;
    // MEMORY USAGE of conversation 0, all its keys, every element sampled
    let keys: Vec<String> = match layout {
        Layout::Seq => vec!["conv:{c0}".into()],
        Layout::Lua => vec!["ctr:{c0}".into(), "ids:{c0}".into(), "log:{c0}".into()],
    };
    r.memory_usage_conv = keys
        .iter()
        .map(|k| {
            redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(k)
                .arg("SAMPLES")
                .arg(0)
                .query::<Option<i64>>(con)
                .ok()
                .flatten()
                .unwrap_or(0)
        })
        .sum();
    // check that every message landed
    let last = last_seq_of_first_conversation(con, layout);
    if last != cfg.msgs as i64 {
        r.error = Some(format!("conversation 0 has last = {last}, expected {}", cfg.msgs));
    }
    match time_reloads(con, cfg.reloads) {
        Ok(ms) => r.reload_ms = ms,
        Err(e) => r.error = Some(format!("DEBUG RELOAD: {e}")),
    }
    r.rdb_bytes = std::fs::metadata(server.dir.join("dump.rdb")).map(|m| m.len()).unwrap_or(0);
    if r.error.is_none() {
        set_rdbcompression(con, false);
        match time_reloads(con, cfg.reloads) {
            Ok(ms) => r.reload_nocomp_ms = ms,
            Err(e) => r.error = Some(format!("DEBUG RELOAD (rdbcompression no): {e}")),
        }
        set_rdbcompression(con, true);
    }
    let (m2, _) = used_memory(con);
    r.after_reload_per_msg = (m2 - m0) as f64 / total as f64;
    let last2 = last_seq_of_first_conversation(con, layout);
    if last2 != last && r.error.is_none() {
        r.error = Some(format!("after DEBUG RELOAD conversation 0 has last = {last2}, before {last}"));
    }
    log(format!(
        "  {:.0} B/msg used_memory, {:.0} B/msg RSS, fill {:.1} s, DEBUG RELOAD {:?} ms, with rdbcompression no {:?} ms",
        r.bytes_per_msg,
        r.rss_per_msg,
        r.fill_s,
        r.reload_ms.iter().map(|x| x.round()).collect::<Vec<_>>(),
        r.reload_nocomp_ms.iter().map(|x| x.round()).collect::<Vec<_>>()
    ));
    let _ = std::fs::remove_file(server.dir.join("dump.rdb"));
    flushall(con);
    r
}

fn set_rdbcompression(con: &mut redis::Connection, on: bool) {
    let _: redis::RedisResult<()> =
        redis::cmd("CONFIG").arg("SET").arg("rdbcompression").arg(if on { "yes" } else { "no" }).query(con);
}

fn phase_memory(cfg: &Config, server: &ServerGuard, con: &mut redis::Connection, sha: &str, sum: &mut Summary) {
    let mut table = Vec::new();
    for (k, payload_len) in [PAYLOAD_LEN, 0].into_iter().enumerate() {
        // alternate which layout goes first
        let order = if k % 2 == 0 { [Layout::Seq, Layout::Lua] } else { [Layout::Lua, Layout::Seq] };
        let mut seq = MemResult::default();
        let mut lua = MemResult::default();
        for layout in order {
            let res = mem_run(cfg, server, con, sha, layout, payload_len);
            match layout {
                Layout::Seq => seq = res,
                Layout::Lua => lua = res,
            }
        }
        for (name, r) in [("SEQ.ALLOC", &seq), ("Lua layout", &lua)] {
            table.push(vec![
                format!("{payload_len} B"),
                name.to_string(),
                format!("{:.1}", r.bytes_per_msg),
                format!("{:.1}", r.rss_per_msg),
                format!("{:.1}", r.after_reload_per_msg),
                r.memory_usage_conv.to_string(),
                format!("{:.1}", r.fill_s),
                r.reload_ms.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
                r.reload_nocomp_ms.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1}", r.rdb_bytes as f64 / 1e6),
                r.error.clone().unwrap_or_default(),
            ]);
        }
        let per = |r: &MemResult| {
            if r.error.is_some() && r.bytes_per_msg == 0.0 {
                f64::NAN
            } else {
                r.bytes_per_msg
            }
        };
        let rel = |r: &MemResult| median(&r.reload_ms);
        let rel_nc = |r: &MemResult| median(&r.reload_nocomp_ms);
        let (s_b, l_b) = (per(&seq), per(&lua));
        let (s_r, l_r) = (rel(&seq), rel(&lua));
        let (s_n, l_n) = (rel_nc(&seq), rel_nc(&lua));
        let is_main = payload_len == PAYLOAD_LEN;
        sum.add(
            &format!("used_memory per message, {payload_len} B payload"),
            format!("{s_b:.0} B (Lua {l_b:.0} B)"),
            s_b,
            s_b / l_b,
            "Lua layout",
            if is_main { Target::AtMost(0.6) } else { Target::Info },
        );
        sum.add(
            &format!("DEBUG RELOAD, {payload_len} B payload set"),
            format!("{s_r:.0} ms (Lua {l_r:.0} ms)"),
            s_r,
            s_r / l_r,
            "Lua layout",
            if is_main { Target::AtMost(0.5) } else { Target::Info },
        );
        sum.add(
            &format!("DEBUG RELOAD, {payload_len} B payload set, rdbcompression no"),
            format!("{s_n:.0} ms (Lua {l_n:.0} ms)"),
            s_n,
            s_n / l_n,
            "Lua layout",
            Target::Info,
        );
    }
    print_table(
        &format!(
            "MEMORY ({} conversations x {} messages, 20-byte client-msg-ids, {} payloads; \
             used_memory and RSS deltas over the fill, divided by messages; DEBUG RELOAD x{} with FLUSHALL between data sets, \
             then again with rdbcompression no)",
            cfg.convs,
            cfg.msgs,
            if cfg.text_payloads { "text-like (SEQ_BENCH_PAYLOAD=text)" } else { "random alphanumeric" },
            cfg.reloads
        ),
        &[
            "payload",
            "layout",
            "used_memory B/msg",
            "RSS B/msg",
            "after reload B/msg",
            "MEMORY USAGE conv 0",
            "fill s",
            "DEBUG RELOAD ms",
            "same, no LZF",
            "RDB MB",
            "error",
        ],
        &table,
    );
}

// ------------------------------------------------------------------------------------
// phase 3: cost independent of the log's length; UNLINK of a big log

fn fill_log(con: &mut redis::Connection, key: &str, n: u64, prefix: char) -> Result<Duration, String> {
    let key = key.to_string();
    pipelined(
        con,
        n,
        |i| {
            let mut c = redis::cmd("SEQ.ALLOC");
            c.arg(&key).arg(format!("{prefix}{i:09}"));
            c
        },
        |_, _| {},
        Some(&format!("fill {key}")),
    )
}

fn phase_scale(cfg: &Config, server: &ServerGuard, con: &mut redis::Connection, sum: &mut Summary) {
    flushall(con);
    let small = cfg.small_len;
    let big = cfg.big_len;
    log(format!("scale: filling conv:small ({small}) and conv:big ({big}) with 0-byte payloads"));
    if let Err(e) = fill_log(con, "conv:small", small, 's') {
        scale_not_measured(sum, "conv:small", &e);
        return;
    }
    let (m0, _) = used_memory(con);
    let fill = match fill_log(con, "conv:big", big, 'b') {
        Ok(d) => d,
        Err(e) => {
            scale_not_measured(sum, "conv:big", &e);
            return;
        }
    };
    let (m1, _) = used_memory(con);
    log(format!(
        "  conv:big filled in {:.1} s ({:.0}/s), {:.1} B/entry used_memory",
        fill.as_secs_f64(),
        big as f64 / fill.as_secs_f64(),
        (m1 - m0) as f64 / big as f64
    ));
    sum.add(
        &format!("fill of a {big}-entry log (pipelined SEQ.ALLOC, 0 B payload)"),
        format!("{:.1} s, {:.0} B/entry", fill.as_secs_f64(), (m1 - m0) as f64 / big as f64),
        f64::NAN,
        f64::NAN,
        "",
        Target::Info,
    );

    let small_mid = (small / 2).to_string();
    let big_mid = (big / 2).to_string();
    let mut rows = vec![
        Row::new(
            "alloc_small",
            format!("SEQ.ALLOC, {small}-entry log"),
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:small:w", "id:__rand_int__"],
        )
        .with_reset(move |c| {
            unlink(c, &["conv:small:w".into()]);
            let _ = fill_log(c, "conv:small:w", small, 'w');
        }),
        Row::new(
            "alloc_big",
            format!("SEQ.ALLOC, {big}-entry log"),
            cfg.n(500_000),
            &["SEQ.ALLOC", "conv:big", "id:__rand_int__"],
        ),
        Row::new(
            "range_small",
            format!("SEQ.RANGE mid page, {small}"),
            cfg.n(100_000),
            &["SEQ.RANGE", "conv:small", small_mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "range_big",
            format!("SEQ.RANGE mid page, {big}"),
            cfg.n(100_000),
            &["SEQ.RANGE", "conv:big", big_mid.as_str(), "+", "COUNT", "100"],
        ),
        Row::new(
            "rev_small",
            format!("SEQ.REVRANGE tail page, {small}"),
            cfg.n(100_000),
            &["SEQ.REVRANGE", "conv:small", "+", "-", "COUNT", "100"],
        ),
        Row::new(
            "rev_big",
            format!("SEQ.REVRANGE tail page, {big}"),
            cfg.n(100_000),
            &["SEQ.REVRANGE", "conv:big", "+", "-", "COUNT", "100"],
        ),
        Row::new("last_small", format!("SEQ.LAST, {small}"), cfg.n(1_000_000), &["SEQ.LAST", "conv:small"]),
        Row::new("last_big", format!("SEQ.LAST, {big}"), cfg.n(1_000_000), &["SEQ.LAST", "conv:big"]),
    ];
    run_rounds(cfg, server, con, &mut rows, "scale");
    print_rows(
        &format!(
            "SCALE ({small}-entry vs {big}-entry log, 0-byte payloads; the small ALLOC log is reset to {small} entries before each run, \
             the big one grows by -n per run; {} round(s) interleaved)",
            cfg.rounds
        ),
        &rows,
    );
    print_cpu_pairs(
        &format!("SERVER CPU PER REQUEST, {big}-entry log (ours) vs {small}-entry log (alternative): about 1.00x means the same cost"),
        &rows,
        &[
            ("SEQ.ALLOC", "alloc_big", "alloc_small"),
            ("SEQ.RANGE page", "range_big", "range_small"),
            ("SEQ.REVRANGE page", "rev_big", "rev_small"),
            ("SEQ.LAST", "last_big", "last_small"),
        ],
    );
    for (what, s, b) in [
        ("SEQ.ALLOC", "alloc_small", "alloc_big"),
        ("SEQ.RANGE page (COUNT 100)", "range_small", "range_big"),
        ("SEQ.REVRANGE page (COUNT 100)", "rev_small", "rev_big"),
        ("SEQ.LAST", "last_small", "last_big"),
    ] {
        let (vs, vb) = (row_rps(&rows, s), row_rps(&rows, b));
        sum.add(
            &format!("{what} on {big} vs {small} entries"),
            format!("{} (vs {})", fmt_rate(vb), fmt_rate(vs)),
            vb,
            vb / vs,
            &format!("{small}-entry"),
            Target::AtLeast(0.9),
        );
    }

    // UNLINK of the big log: client-side time of the reply, then a PING right after it.
    let before = info_map(con, "memory");
    let len_before = query_i64(con, redis::cmd("SEQ.LAST").arg("conv:big")).unwrap_or(-1);
    let t = Instant::now();
    let unlinked = redis::cmd("UNLINK").arg("conv:big").query::<i64>(con);
    let unlink_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let _ = redis::cmd("PING").query::<String>(con);
    let ping_ms = t.elapsed().as_secs_f64() * 1000.0;
    let pending_after = info_map(con, "memory").get("lazyfree_pending_objects").cloned().unwrap_or_default();
    let t = Instant::now();
    let mem_before = before.get("used_memory").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let mut freed_ms = f64::NAN;
    while t.elapsed() < Duration::from_secs(120) {
        let m = info_map(con, "memory");
        let pending = m.get("lazyfree_pending_objects").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        if pending == 0 {
            freed_ms = t.elapsed().as_secs_f64() * 1000.0;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mem_after, _) = used_memory(con);
    println!(
        "\nUNLINK conv:big (SEQ.LAST {len_before}): reply {unlinked:?} in {unlink_ms:.2} ms; PING right after: {ping_ms:.2} ms; \
         lazyfree_pending_objects right after: {pending_after}; background free done {freed_ms:.0} ms later; \
         used_memory {:.1} MB -> {:.1} MB",
        mem_before as f64 / 1e6,
        mem_after as f64 / 1e6
    );
    sum.add(
        &format!("UNLINK of the {big}-entry log"),
        format!("{unlink_ms:.2} ms"),
        unlink_ms,
        f64::NAN,
        "",
        Target::ValueAtMost(10.0),
    );
    sum.add(
        "PING right after that UNLINK",
        format!("{ping_ms:.2} ms"),
        ping_ms,
        f64::NAN,
        "",
        Target::ValueAtMost(10.0),
    );
    flushall(con);
}

// ------------------------------------------------------------------------------------

fn main() {
    let cfg = Config::from_env_and_args();
    let started = Instant::now();
    clock();

    // setup: binaries, module, server
    if Command::new(&cfg.redis_benchmark).arg("--version").output().is_err() {
        die(&format!("`{}` not found (apt-get install redis-tools / redis-server)", cfg.redis_benchmark));
    }
    let server = ServerGuard::start(&cfg);
    let mut con = match server.try_connect() {
        Ok(c) => c,
        Err(e) => server.fail(&format!("connect to redis-server: {e}")),
    };
    let version = info_map(&mut con, "server").get("redis_version").cloned().unwrap_or_default();
    let modules: Value = redis::cmd("MODULE").arg("LIST").query(&mut con).unwrap_or(Value::Nil);
    if !format!("{modules:?}").contains("seq") {
        server.fail(&format!("the module did not load as `seq`: MODULE LIST = {modules:?}"));
    }
    match redis::cmd("SEQ.ALLOC").arg("seq-bench:probe").arg("probe-1").arg("x").query::<i64>(&mut con) {
        Ok(1) => {}
        Ok(n) => server.fail(&format!("SEQ.ALLOC on a new key returned {n}, not 1")),
        Err(e) => server.fail(&format!("the module does not answer SEQ.ALLOC: {e}")),
    }
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg("seq-bench:probe").query(&mut con);
    let sha: String = match redis::cmd("SCRIPT").arg("LOAD").arg(LUA_SCRIPT).query(&mut con) {
        Ok(s) => s,
        Err(e) => server.fail(&format!("SCRIPT LOAD: {e}")),
    };

    let mut head = String::new();
    let _ = writeln!(
        head,
        "redis-seq benchmark: redis-server {version} (pid {}, port {}), module {}",
        server.pid(),
        server.port,
        cfg.module.display()
    );
    let _ =
        writeln!(
        head,
        "mode: {}; rounds {}; -n scale {}; long log {}; memory fill {} x {} ({} payloads); big log {}; DEBUG RELOAD x{}; phases {}",
        if cfg.quick { "QUICK (smoke run: small sizes, 1 round; numbers are indicative only)" } else { "full" },
        cfg.rounds,
        cfg.n_scale,
        cfg.long_len,
        cfg.convs,
        cfg.msgs,
        if cfg.text_payloads { "text-like" } else { "random alphanumeric" },
        cfg.big_len,
        cfg.reloads,
        cfg.phases.join(",")
    );
    let _ = writeln!(
        head,
        "throughput payload: {PAYLOAD_LEN} bytes (one fixed alphanumeric string); ids id:<12 digits> from redis-benchmark's __rand_int__"
    );
    let _ = writeln!(
        head,
        "the hand-written alternative (SCRIPT LOAD, sha {sha}), called as EVALSHA sha 3 ctr:{{c}} ids:{{c}} log:{{c}} <id> <payload>; \
         its XADD uses an auto id: XADD log:{{c}} * seq <seq> id <id> payload <payload>"
    );
    for l in LUA_SCRIPT.lines() {
        let _ = writeln!(head, "    {l}");
    }
    print!("{head}");
    log("server up; starting");

    let mut sum = Summary { rows: Vec::new() };
    if cfg.phase("throughput") {
        phase_throughput(&cfg, &server, &mut con, &sha, &mut sum);
    }
    if cfg.phase("memory") {
        phase_memory(&cfg, &server, &mut con, &sha, &mut sum);
    }
    if cfg.phase("scale") {
        phase_scale(&cfg, &server, &mut con, &mut sum);
    }

    print_table(
        &format!(
            "SUMMARY ({}; {} round(s); ratios are within this one run)",
            if cfg.quick { "QUICK smoke run" } else { "full run" },
            cfg.rounds
        ),
        &["metric", "value", "ratio vs alternative", "target", "met?"],
        &sum.rows,
    );
    let met = sum.rows.iter().filter(|r| r[4] == "yes").count();
    let missed = sum.rows.iter().filter(|r| r[4] == "NO").count();
    let unmeasured = sum.rows.iter().filter(|r| r[4] == "NOT MEASURED").count();
    println!(
        "\ntargets: {met} met, {missed} missed, {unmeasured} not measured; total time {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(con);
    drop(server);
}
