//! Throughput rows: one `redis-benchmark` command line each, run in interleaved rounds,
//! with the server CPU each run cost.

use std::process::Stdio;

use redis::Value;

use crate::common::{binaries, info_section, Server};
use crate::config::{log, Config};
use crate::data::{server_cpu, wait_lazyfree};
use crate::report::{fmt_rate, fmt_ratio, median, print_table, Summary, Target};

/// redis-benchmark settings shared by every throughput row (docs/performance.md).
pub const RB_PIPELINE: u32 = 16;
pub const RB_CLIENTS: u32 = 50;
pub const RB_RANDOM: u64 = 2_000_000_000;

#[derive(Clone, Debug, Default)]
pub struct RbRun {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// server CPU (user + sys, all its threads, from INFO cpu) per request, microseconds:
    /// a view that does not depend on how fast redis-benchmark parses the replies
    pub server_us: f64,
    /// the command's own time per call (INFO commandstats usec delta / calls delta): its
    /// execution alone, without reading the request, writing the reply or the AOF
    pub command_us: f64,
}

/// What a row runs before each of its runs.
pub type Reset = Box<dyn Fn(&mut redis::Connection)>;

/// One throughput row: a redis-benchmark command line and what to reset before each run.
pub struct Row {
    pub id: &'static str,
    pub label: String,
    pub n: u64,
    /// `-r` for this row (every other row uses 2000000000)
    pub r: u64,
    pub args: Vec<String>,
    /// called before each run (e.g. UNLINK the hot key so that every round starts equal)
    pub reset: Option<Reset>,
    pub runs: Vec<RbRun>,
    pub error: Option<String>,
}

impl Row {
    pub fn new(id: &'static str, label: impl Into<String>, n: u64, args: &[&str]) -> Row {
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

    pub fn with_r(mut self, r: u64) -> Row {
        self.r = r;
        self
    }

    pub fn with_reset(mut self, f: impl Fn(&mut redis::Connection) + 'static) -> Row {
        self.reset = Some(Box::new(f));
        self
    }

    pub fn median_rps(&self) -> f64 {
        if self.error.is_some() {
            return f64::NAN;
        }
        median(&self.runs.iter().map(|r| r.rps).collect::<Vec<_>>())
    }

    pub fn median_server_us(&self) -> f64 {
        self.median_of(|r| r.server_us)
    }

    pub fn median_command_us(&self) -> f64 {
        self.median_of(|r| r.command_us)
    }

    fn median_of(&self, field: impl Fn(&RbRun) -> f64) -> f64 {
        if self.error.is_some() {
            return f64::NAN;
        }
        median(&self.runs.iter().map(field).collect::<Vec<_>>())
    }

    /// The run whose rate is the median (for its latency columns).
    pub fn median_run(&self) -> Option<&RbRun> {
        let m = self.median_rps();
        self.runs.iter().min_by(|a, b| (a.rps - m).abs().partial_cmp(&(b.rps - m).abs()).unwrap())
    }

    /// The command line as printed: the payload shortened.
    pub fn shown(&self) -> String {
        self.args
            .iter()
            .map(|a| if a.len() > 64 { format!("<{}-byte payload>", a.len()) } else { a.clone() })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn run_redis_benchmark(port: u16, row: &Row) -> Result<RbRun, String> {
    let mut cmd = binaries::benchmark();
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-P", &RB_PIPELINE.to_string(), "-r", &row.r.to_string()])
        .args(["-n", &row.n.to_string(), "-c", &RB_CLIENTS.to_string(), "--csv"])
        .args(&row.args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
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
    Ok(RbRun {
        rps: parts[6],
        p50_ms: parts[3],
        p99_ms: parts[1],
        max_ms: parts[0],
        server_us: f64::NAN,
        command_us: f64::NAN,
    })
}

/// `(calls, usec)` of `command` in INFO commandstats (zeros before its first call).
fn command_stats(con: &mut redis::Connection, command: &str) -> (f64, f64) {
    let stats = info_section(con, "commandstats");
    let wanted = format!("cmdstat_{command}");
    let Some(line) = stats.iter().find(|(k, _)| k.eq_ignore_ascii_case(&wanted)).map(|(_, v)| v) else {
        return (0.0, 0.0);
    };
    let field = |name: &str| {
        line.split(',')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (field("calls"), field("usec"))
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
pub fn run_rounds(cfg: &Config, server: &Server, con: &mut redis::Connection, rows: &mut [Row], what: &str) {
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
            let (calls0, usec0) = command_stats(con, &row.args[0]);
            let cpu0 = server_cpu(con);
            match run_redis_benchmark(server.port, row) {
                Ok(mut run) => {
                    run.server_us = (server_cpu(con) - cpu0) * 1e6 / row.n as f64;
                    let (calls1, usec1) = command_stats(con, &row.args[0]);
                    run.command_us = (usec1 - usec0) / (calls1 - calls0);
                    log(format!(
                        "  {what} round {}/{}: {:<34} {:>10}  p50 {:.3} ms  p99 {:.3} ms  server {:.2} us/op  command {:.2} us/call",
                        round + 1,
                        cfg.rounds,
                        row.label,
                        fmt_rate(run.rps),
                        run.p50_ms,
                        run.p99_ms,
                        run.server_us,
                        run.command_us
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

pub fn print_rows(title: &str, rows: &[Row]) {
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
                    String::new(),
                    r.shown(),
                ],
                (None, Some(m)) => vec![
                    r.label.clone(),
                    r.n.to_string(),
                    runs,
                    fmt_rate(r.median_rps()),
                    format!("{:.2}", r.median_server_us()),
                    format!("{:.2}", r.median_command_us()),
                    format!("{:.3}", m.p50_ms),
                    format!("{:.3}", m.p99_ms),
                    format!("{:.3}", m.max_ms),
                    r.shown(),
                ],
                (None, None) => vec![r.label.clone(), r.n.to_string(), "no run".into()],
            }
        })
        .map(|mut v| {
            v.resize(10, String::new());
            v
        })
        .collect();
    print_table(
        title,
        &[
            "row",
            "-n",
            "rounds (req/s)",
            "median",
            "server us/op",
            "cmd us/call",
            "p50 ms",
            "p99 ms",
            "max ms",
            "command",
        ],
        &body,
    );
}

pub fn row_rps(rows: &[Row], id: &str) -> f64 {
    rows.iter().find(|r| r.id == id).map(|r| r.median_rps()).unwrap_or(f64::NAN)
}

fn row_us(rows: &[Row], id: &str, field: fn(&Row) -> f64) -> f64 {
    rows.iter().find(|r| r.id == id).map(field).unwrap_or(f64::NAN)
}

/// The SUMMARY line of issue 11's CPU target: SEQ.ALLOC on the hot key costs the server
/// no more per request than XADD (`alloc_hot` and `xadd` rows of `rows`).
pub fn add_alloc_cpu_vs_xadd(sum: &mut Summary, metric: &str, rows: &[Row]) {
    let ours = row_us(rows, "alloc_hot", Row::median_server_us);
    let xadd = row_us(rows, "xadd", Row::median_server_us);
    sum.add(metric, format!("{ours:.2} us/op (XADD {xadd:.2})"), ours, xadd / ours, "XADD", Target::AtLeast(1.0));
}

/// Server-CPU-per-request comparisons of pairs of rows (alternative / ours: > 1 means ours
/// costs the server less), and the same for the commands' own time (INFO commandstats).
pub fn print_cpu_pairs(title: &str, rows: &[Row], pairs: &[(&str, &str, &str)]) {
    let body: Vec<Vec<String>> = pairs
        .iter()
        .map(|(what, ours, alt)| {
            let (a, b) = (row_us(rows, ours, Row::median_server_us), row_us(rows, alt, Row::median_server_us));
            let (ca, cb) = (row_us(rows, ours, Row::median_command_us), row_us(rows, alt, Row::median_command_us));
            vec![
                what.to_string(),
                format!("{a:.2}"),
                format!("{b:.2}"),
                fmt_ratio(b / a),
                format!("{ca:.2}"),
                format!("{cb:.2}"),
                fmt_ratio(cb / ca),
            ]
        })
        .collect();
    print_table(
        title,
        &[
            "comparison",
            "ours us/op",
            "alternative us/op",
            "alternative / ours",
            "ours cmd us/call",
            "alternative cmd us/call",
            "alternative / ours (cmd)",
        ],
        &body,
    );
}
